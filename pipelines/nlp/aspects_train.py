"""Training of the aspect models: ``python -m pipelines.nlp.aspects_train [--data-dir DIR] [--out DIR]``.

Writes to ``pipelines/nlp/models/aspects/`` (or ``--out``):

- ``polarity_it.json``, ``polarity_en.json``: the clause polarity models (``aspects.PolarityModel``),
  trained per language on the research aspect training split of that language (ABSITA for
  Italian, SemEval-2014 restaurants for English) plus the domain posts of that language outside
  the fixed held-out split (``datasets.heldout_ids``). Each (post, category) gives one example
  per vocabulary hit of that category (its clause), or the whole post when no term names it.
- ``detector_<catalog>.json`` for ``project``, ``hotel``, ``restaurant``: per-category logistic
  scores over the post's stems, stem bigrams and vocabulary hits, with the keep/add thresholds.
- ``model_card.json``: data, terms, the choices and their cross-validated scores, date, version.

Every choice is made by 5-fold cross-validation on the training data (folds by text, fixed
seed): for polarity, the lexicon alone or the linear model, its regularisation, class weights,
and whether commas cut clauses; for detection, vocabulary alone or with the detector, its
regularisation and thresholds. Validation and held-out data are never read here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from pipelines.nlp import aspects as A
from pipelines.nlp import aspects_data as D
from pipelines.nlp.datasets import DataError

VERSION = "aspects-v1"
FOLDS = 5
SEED = 13
CATALOGS = ("project", "hotel", "restaurant")
LANG_SOURCES = {"it": ("hotel",), "en": ("restaurant",)}  # research catalog(s) whose training split feeds each language
POLARITY_GRID = [(c, w) for c in (0.1, 0.3, 1.0, 3.0) for w in (None, "balanced")]
DETECTOR_C = (0.3, 1.0, 3.0)
KEEP = (0.0, 0.05, 0.1, 0.2, 0.3)
ADD = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: never add a category without a term
MIN_GAIN = 0.01  # the detector must beat the vocabulary alone by this much (CV micro-F1) to be used: it costs time and explanation


def folds_of(n: int, k: int = FOLDS, seed: int = SEED) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n) % k


def micro_f1(gold: list[set[str]], pred: list[set[str]]) -> float:
    tp = sum(len(g & p) for g, p in zip(gold, pred))
    fp = sum(len(p - g) for g, p in zip(gold, pred))
    fn = sum(len(g - p) for g, p in zip(gold, pred))
    return 2 * tp / max(2 * tp + fp + fn, 1)


# ---------------------------------------------------------------- polarity


def polarity_rows(tagger: A.AspectTagger, examples: list[D.AspectExample], split_commas: bool) -> list[tuple[int, str, dict]]:
    """(example index, gold polarity, clause features) per vocabulary hit of a gold category (or per post)."""
    rows = []
    for n, e in enumerate(examples):
        labelled = {c: p for c, p in e.gold.items() if p in A.POLARITIES}
        if not labelled:
            continue
        _, lang, toks, found = tagger.terms(e.text, e.lang)
        if not toks:
            continue
        marks = A.negation_marks(toks, 3)
        spans = A.clauses(toks, split_commas)
        post = A._post_context(toks, marks)
        for category, polarity in labelled.items():
            hits = [(i, j) for i, j, c, _ in found if c == category]
            if not hits:
                rows.append((n, polarity, A.clause_features(toks, marks, 0, len(toks), category, post)))
            for i, j in hits:
                a, b = next(((a, b) for a, b in spans if a <= i < b), (0, len(toks)))
                rows.append((n, polarity, A.clause_features(toks, marks, a, max(b, j), category, post)))
    return rows


def _group_predict(rows, predicted: list[str]) -> tuple[list[str], list[str]]:
    """One gold and one predicted polarity per (example, gold polarity) group: the majority of its hits."""
    votes: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (n, gold, _), p in zip(rows, predicted):
        votes[(n, gold)][p] += 1
    keys = list(votes)
    return [k[1] for k in keys], [max(votes[k], key=votes[k].__getitem__) for k in keys]


def _lexicon_predictions(rows) -> list[str]:
    model = A.PolarityModel.lexicon("it")
    return [model.score(f)[0] for _, _, f in rows]


def _fit_polarity(rows, c: float, weight) -> tuple[DictVectorizer, LogisticRegression]:
    vec = DictVectorizer()
    x = vec.fit_transform([f for _, _, f in rows])
    model = LogisticRegression(C=c, class_weight=weight, max_iter=2000)
    model.fit(x, [p for _, p, _ in rows])
    return vec, model


def select_polarity(lang: str, tagger_for: dict[str, A.AspectTagger], data: list[tuple[str, D.AspectExample]]) -> tuple[dict, dict]:
    """Cross-validated choice of the polarity scorer for one language -> (model spec, report)."""
    report: dict = {"candidates": []}
    best = None
    for split_commas in (True, False):
        rows = []
        for catalog in {c for c, _ in data}:
            examples = [e for c, e in data if c == catalog]
            offset = len(rows) and max(r[0] for r in rows) + 1
            rows += [(n + offset, p, f) for n, p, f in polarity_rows(tagger_for[catalog], examples, split_commas)]
        fold = folds_of(max(r[0] for r in rows) + 1)[[r[0] for r in rows]]
        gold, pred = _group_predict(rows, _lexicon_predictions(rows))
        score = f1_score(gold, pred, average="macro")
        report["candidates"].append({"scorer": "lexicon", "split_commas": split_commas, "cv_macro_f1": round(score, 4)})
        if best is None or score > best[0]:
            best = (score, "lexicon", split_commas, None, None, rows)
        for c, weight in POLARITY_GRID:
            predicted = np.empty(len(rows), dtype=object)
            for k in range(FOLDS):
                train = [r for r, f in zip(rows, fold) if f != k]
                vec, model = _fit_polarity(train, c, weight)
                test = np.flatnonzero(fold == k)
                predicted[test] = model.predict(vec.transform([rows[i][2] for i in test]))
            gold, pred = _group_predict(rows, list(predicted))
            score = f1_score(gold, pred, average="macro")
            report["candidates"].append(
                {"scorer": "model", "split_commas": split_commas, "C": c, "class_weight": weight, "cv_macro_f1": round(score, 4)}
            )
            if score > best[0]:
                best = (score, "model", split_commas, c, weight, rows)
    score, scorer, split_commas, c, weight, rows = best
    spec = {"version": VERSION, "lang": lang, "scorer": scorer, "split_commas": split_commas, "negation_window": 3}
    report["chosen"] = {"scorer": scorer, "split_commas": split_commas, "C": c, "class_weight": weight, "cv_macro_f1": round(score, 4)}
    report["training_rows"] = len(rows)
    if scorer == "model":
        vec, model = _fit_polarity(rows, c, weight)
        classes = list(model.classes_)
        coef = model.coef_ if len(classes) > 2 else np.vstack([-model.coef_[0], model.coef_[0]])
        intercept = model.intercept_ if len(classes) > 2 else np.array([-model.intercept_[0], model.intercept_[0]])
        weights = {}
        for name, j in vec.vocabulary_.items():
            w = coef[:, j]
            if np.abs(w).max() >= 0.01:
                weights[name] = [round(float(v), 4) for v in w]
        spec.update(classes=classes, intercept=[round(float(v), 4) for v in intercept], weights=weights)
    return spec, report


# ---------------------------------------------------------------- detection


def detector_matrix(tagger: A.AspectTagger, examples: list[D.AspectExample]) -> tuple[list[list[str]], list[set[str]]]:
    feats, vocab_sets = [], []
    for e in examples:
        _, _, toks, found = tagger.terms(e.text, e.lang)
        cats = {h[2] for h in found}
        vocab_sets.append(cats)
        feats.append(A.detector_features(toks, cats))
    return feats, vocab_sets


def _design(feats: list[list[str]], index: dict[str, int]) -> sp.csr_matrix:
    rows, cols = [], []
    for i, fs in enumerate(feats):
        for j in {index[f] for f in fs if f in index}:
            rows.append(i)
            cols.append(j)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(feats), len(index)))


def _feature_index(feats: list[list[str]], min_count: int = 2) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for fs in feats:
        for f in set(fs):
            counts[f] += 1
    return {f: i for i, f in enumerate(sorted(f for f, n in counts.items() if n >= min_count or f.startswith("v:")))}


def _fit_detector(x, gold: list[set[str]], categories, c: float) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros((x.shape[1], len(categories)))
    b = np.zeros(len(categories))
    for j, cat in enumerate(categories):
        y = np.array([cat in g for g in gold])
        if y.all() or not y.any():
            b[j] = 10.0 if y.all() else -10.0
            continue
        model = LogisticRegression(C=c, solver="liblinear", max_iter=1000).fit(x, y)
        w[:, j], b[j] = model.coef_[0], model.intercept_[0]
    return w, b


def _decide(vocab_sets, p: np.ndarray, categories, keep: float, add: float) -> list[set[str]]:
    col = {c: i for i, c in enumerate(categories)}
    out = []
    for n, cats in enumerate(vocab_sets):
        kept = {c for c in cats if p[n, col[c]] >= keep}
        kept |= {c for c, i in col.items() if c not in cats and p[n, i] >= add}
        out.append(kept)
    return out


def select_detector(catalog: str, tagger: A.AspectTagger, examples: list[D.AspectExample]) -> tuple[dict, dict]:
    categories = list(tagger.vocabulary.categories)
    feats, vocab_sets = detector_matrix(tagger, examples)
    gold = [set(e.gold) for e in examples]
    vocab_only = micro_f1(gold, vocab_sets)
    report: dict = {"vocabulary_only_cv_micro_f1": round(vocab_only, 4), "candidates": []}
    best = (vocab_only + MIN_GAIN, None, 0.0, 1.01)
    fold = folds_of(len(examples))
    for c in DETECTOR_C:
        p = np.zeros((len(examples), len(categories)))
        for k in range(FOLDS):
            tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            index = _feature_index([feats[i] for i in tr])
            w, b = _fit_detector(_design([feats[i] for i in tr], index), [gold[i] for i in tr], categories, c)
            p[te] = 1 / (1 + np.exp(-(_design([feats[i] for i in te], index) @ w + b)))
        for keep in KEEP:
            for add in ADD:
                score = micro_f1(gold, _decide(vocab_sets, p, categories, keep, add))
                report["candidates"].append({"C": c, "keep": keep, "add": add, "cv_micro_f1": round(score, 4)})
                if score > best[0] + 1e-9:
                    best = (score, c, keep, add)
    score, c, keep, add = best
    score = vocab_only if c is None else score
    report["chosen"] = {"use_detector": c is not None, "C": c, "keep": keep, "add": add, "cv_micro_f1": round(score, 4)}
    report["candidates"] = sorted(report["candidates"], key=lambda r: -r["cv_micro_f1"])[:10]  # the card keeps the top ten
    spec = {"version": VERSION, "catalog": catalog, "use": c is not None, "categories": categories, "keep": keep, "add": add}
    if c is not None:
        index = _feature_index(feats)
        w, b = _fit_detector(_design(feats, index), gold, categories, c)
        live = np.flatnonzero(np.abs(w).max(axis=1) >= 0.01)
        names = sorted(index, key=index.__getitem__)
        spec.update(
            features=[names[i] for i in live],
            weights=[round(float(v), 4) for v in w[live].ravel()],
            intercept=[round(float(v), 4) for v in b],
        )
    return spec, report


# ---------------------------------------------------------------- entry point


def training_taggers() -> dict[str, A.AspectTagger]:
    """Vocabulary-only taggers (no detector, lexicon polarity) per catalog: the inputs of training."""
    return {c: A.AspectTagger(A.load_vocabulary(c), mentions=A.AspectTagger.load(c).mentions) for c in CATALOGS}


def write_detector(catalog: str, data_dir: Path | None, out: Path, card: dict) -> dict:
    spec, report = select_detector(catalog, training_taggers()[catalog], D.load_catalog_data(catalog, "train", data_dir))
    (out / f"detector_{catalog}.json").write_text(json.dumps(spec, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    card["detectors"][catalog] = report
    return report


def train(data_dir: Path | None, out: Path, log=print) -> dict:
    taggers = training_taggers()
    train_sets = {c: D.load_catalog_data(c, "train", data_dir) for c in CATALOGS}
    out.mkdir(parents=True, exist_ok=True)
    card: dict = {
        "name": "ascolto aspect models",
        "version": VERSION,
        "date": dt.date.today().isoformat(),
        "command": "python -m pipelines.nlp.aspects_train",
        "training_data": {
            "aspects/absita_it_train.tsv": D.TERMS["aspects/absita_it"],
            "aspects/semeval14rest_en_train.tsv": D.TERMS["aspects/semeval14rest_en"],
            "tests/data/domain_posts.tsv (outside the held-out split)": D.TERMS["domain"],
        },
        "selection": f"{FOLDS}-fold cross-validation on the training data, folds by text, seed {SEED}",
        "polarity": {},
        "detectors": {},
    }
    for lang, sources in LANG_SOURCES.items():
        data = [(c, e) for c in sources for e in train_sets[c]] + [("project", e) for e in train_sets["project"] if e.lang == lang]
        log(f"polarity {lang}: {len(data)} training posts")
        spec, report = select_polarity(lang, taggers, data)
        (out / f"polarity_{lang}.json").write_text(json.dumps(spec, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        card["polarity"][lang] = report
        log(f"  chosen {report['chosen']}")
    for catalog in CATALOGS:
        log(f"detector {catalog}: {len(train_sets[catalog])} training posts")
        report = write_detector(catalog, data_dir, out, card)
        log(f"  vocabulary only {report['vocabulary_only_cv_micro_f1']}, chosen {report['chosen']}")
    (out / "model_card.json").write_text(json.dumps(card, ensure_ascii=False, indent=1), encoding="utf-8")
    return card


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="research data directory (default: ASCOLTO_DATA_DIR or ../shared/data)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: the packaged pipelines/nlp/models/aspects)")


def run(args: argparse.Namespace) -> int:
    try:
        train(args.data_dir, args.out or A.models_dir())
    except (DataError, ValueError) as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.nlp.aspects_train", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
