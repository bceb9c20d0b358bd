"""``ascolto nlp train``: train the per-language heads from TSV files and write artifacts + model cards.

For each language (it, en) and head (sentiment, emotion, offensive, intent):

1. Training data: the research train splits of ``RESEARCH_TRAIN`` (under ``--data-dir``), plus
   the rows of the posts file (``--posts``, the domain set) outside its fixed held-out split,
   plus any ``--train HEAD=FILE`` (layouts in ``pipelines.nlp.datasets``). Texts that normalise
   to the same string are kept once (so near-copies cannot sit on both sides of a CV fold). ``--no-research`` trains on the posts and ``--train`` files only.
2. Model selection by k-fold cross-validation **on the training data only** (macro-F1):
   classifier family (``--families``: LinearSVC, NB-SVM, SGD modified-Huber, logistic
   regression) and its regularisation; then, when a head has both research and domain rows,
   how to learn from the domain rows (``DOMAIN_DESIGNS``: their weight, and feature
   augmentation with the other languages' posts), by cross-validation over the domain rows.
   A head with domain rows only (intent) may also learn from the other languages' posts.
   A head with two research sets that annotate different tasks (Italian offensive) may keep a
   source profile per set (``choose_sources``), by cross-validation over each set's rows.
3. Calibration of probabilities (and thresholds of binary/multi-label heads) on the out-of-fold
   scores of step 2; for a multiclass head's ``brand`` profile, per-class logit shifts of the
   arg-max fitted on the domain out-of-fold scores, kept only when a nested CV over those scores
   improves macro-F1; then the final fit on all training rows.
4. The model card (``<head>.json``): data and terms, selection figures, validation metrics
   (research validation splits and the domain held-out split: reported, never used to choose),
   date, versions. ``models/README.md`` summarises every card.

Multi-label heads keep the labels with at least ``--min-label-examples`` training examples.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn

import pipelines
from pipelines.nlp import datasets as ds
from pipelines.nlp.evaluate import evaluate_head, write_index
from pipelines.nlp.features import FeatureConfig, Featuriser, normalise
from pipelines.nlp.heads import LinearHead
from pipelines.nlp.selection import (
    DOMAIN_DESIGNS,
    GRID,
    KIND,
    MIN_SOURCE_ROWS,
    augment,
    calibrate,
    coefficients,
    estimator,
    macro_f1,
    offsets_by_cv,
    out_of_fold,
    split_augmented,
)

MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_VERSION = "1.1.0"  # 1.1: trained with the domain posts up to d1223 (held-out split frozen at d0943)


def gather(lang: str, head: str, args, posts_train: list[dict]) -> tuple[list[ds.Example], list[ds.Example], list[dict]]:
    """(research examples, domain examples, data records for the card), duplicates (same normalised text) dropped."""
    research, records, seen = [], [], set()
    key = lambda e: normalise(e.text)[0]  # noqa: E731
    files = [] if args.no_research else [(f, args.data_dir / f) for f in ds.RESEARCH_TRAIN.get((lang, head), ())]
    files += [(str(p), p) for h, p in args.train if h == head]
    for name, path in files:
        kept = [e for e in ds.load_examples(path, head) if e.lang == lang and key(e) not in seen and not seen.add(key(e))]
        research += kept
        records.append({"source": name, "examples": len(kept), "terms": ds.terms_of(name)})
    domain = [e for e in ds.examples_from_rows(posts_train, head, ds.DOMAIN_SOURCE) if e.lang == lang and key(e) not in seen]
    if domain:
        records.append({"source": f"{args.posts} (training split)", "examples": len(domain), "terms": ds.DATA_TERMS[ds.DOMAIN_SOURCE]})
    return research, domain, records


def _targets(examples: list[ds.Example], classes: tuple[str, ...], multilabel: bool) -> np.ndarray:
    if multilabel:
        return np.array([[c in e.label.split("|") for c in classes] for e in examples], dtype=int).reshape(len(examples), len(classes))
    return np.array([e.label for e in examples])


def _classes(examples: list[ds.Example], multilabel: bool, min_examples: int) -> tuple[str, ...]:
    if not multilabel:
        return tuple(sorted({e.label for e in examples}))
    counts: dict[str, int] = {}
    for e in examples:
        for lab in e.label.split("|"):
            counts[lab] = counts.get(lab, 0) + 1
    return tuple(sorted(c for c, n in counts.items() if c != ds.MULTI_LABEL_NONE and n >= min_examples))


def train_head(lang: str, head: str, args, featuriser: Featuriser, posts_train, log) -> tuple[LinearHead, dict] | None:
    research, domain, records = gather(lang, head, args, posts_train)
    examples = research + domain
    if len(examples) < 50:
        log(f"  {lang}/{head}: {len(examples)} labeled examples, skipped (50 needed)")
        return None
    multilabel = head == "emotion" and any("|" in e.label for e in examples)
    classes = _classes(examples, multilabel, args.min_label_examples)
    kind = "multilabel" if multilabel else "binary" if len(classes) == 2 else KIND.get(head, "multiclass")
    # The other languages' posts: extra domain rows (kept only when cross-validation says so).
    pool = [e for o in ds.LANGS if o != lang for e in ds.examples_from_rows(posts_train, head, ds.DOMAIN_SOURCE) if e.lang == o]
    pool = [e for e in pool if e.label in classes] if domain and not multilabel else []
    x = featuriser.transform([e.text for e in examples], lang)
    x_all = sp.vstack([x] + [featuriser.transform([e.text for e in pool if e.lang == o], o) for o in ds.LANGS if o != lang], format="csr")
    x.sum_duplicates()
    x_all.sum_duplicates()
    y_all = _targets(examples + pool, classes, multilabel)
    n_res, n_own = len(research), len(examples)
    y = y_all[:n_own]
    own = np.arange(n_res) if n_res >= 50 else np.arange(n_own)
    folds = 3 if len(own) > 20000 else args.folds
    t0 = time.perf_counter()
    candidates = []
    for pooled in (False, True) if pool and n_res < 50 else (False,):
        xs, ys = (x_all, y_all) if pooled else (x, y)
        for family in args.families:
            for param in args.grid.get(family, GRID[family]):
                idx, s = out_of_fold(estimator(family, param, multilabel, args.seed), xs, ys, folds, args.seed, args.jobs, only=own)
                f1 = round(macro_f1(ys[idx], s, kind, classes), 4)
                candidates.append({"family": family, "param": param, "pooled_languages": pooled, "cv_macro_f1": f1, "_oof": (idx, s)})
                log(f"  {lang}/{head}: {family} {param}{' pooled' if pooled else ''}: cv macro-F1 {f1:.4f}")
    best = max(candidates, key=lambda c: c["cv_macro_f1"])
    est = estimator(best["family"], best["param"], multilabel, args.seed)
    oof_idx, oof = best["_oof"]
    xs, ys, weights, adapted, design_record = (x_all, y_all, None, False, None) if best["pooled_languages"] else (x, y, None, False, None)
    ctx = (est, kind, classes, folds, args, log, f"{lang}/{head}")
    sources, source_record, oof_idx, oof = choose_sources(ctx, x, y, research, oof_idx, oof)
    src_groups = [rows for _, rows in sources]
    if sources:
        xs = augment(x, src_groups)
    if n_res >= 50 and domain:
        tried, x_aug = [], None
        for adapt, w in DOMAIN_DESIGNS:
            if adapt and x_aug is None:
                x_aug = augment(x_all, src_groups + [np.arange(n_res, x_all.shape[0])])
            xd, yd = (x_aug, y_all) if adapt else (xs, y)
            wd = np.where(np.arange(xd.shape[0]) < n_res, 1.0, w)
            idx, s = out_of_fold(est, xd, yd, folds, args.seed, args.jobs, weights=wd, only=np.arange(n_res, n_own))
            tried.append(
                {
                    "augmented_with_pooled_languages": adapt,
                    "domain_weight": w,
                    "domain_cv_macro_f1": round(macro_f1(yd[idx], s, kind, classes), 4),
                }
            )
            tried[-1]["_data"] = (wd, idx, s)
            log(
                f"  {lang}/{head}: domain design {'augmented+pooled' if adapt else 'plain'} w={w}: domain cv macro-F1 {tried[-1]['domain_cv_macro_f1']:.4f}"
            )
        chosen = max(tried, key=lambda c: (c["domain_cv_macro_f1"], -c["domain_weight"]))
        weights, idx, s = chosen["_data"]
        adapted = chosen["augmented_with_pooled_languages"]
        xs, ys = (x_aug, y_all) if adapted else (xs, y)
        design_record = {
            "tried": [{k: v for k, v in c.items() if k != "_data"} for c in tried],
            "chosen": {k: v for k, v in chosen.items() if k != "_data"},
        }
        oof_idx, oof = np.concatenate([oof_idx, idx]), np.vstack([oof, s])
    scale, offset, threshold = calibrate(ys[oof_idx], oof, kind, classes)
    est.fit(xs, ys, **({} if weights is None else {"sample_weight": weights}))
    coef, intercept = coefficients(est, multilabel)
    n_groups = len(sources) + adapted
    coef, deltas = split_augmented(coef, n_groups) if n_groups else (coef, [])
    model = LinearHead(head, lang, kind, classes, coef.astype(np.float32), intercept, scale, offset, threshold, featuriser.config.to_dict())
    model.source_deltas = {name: (d.astype(np.float32), b) for (name, _), (d, b) in zip(sources, deltas)}
    offsets_record = None
    if adapted:
        model.domain_delta, model.domain_intercept = deltas[-1][0].astype(np.float32), deltas[-1][1]
        if kind == "multiclass":
            shift, plain, nested = offsets_by_cv(ys[idx], s * scale, classes, folds, args.seed)
            offsets_record = {"cv_macro_f1": round(plain, 4), "nested_cv_macro_f1": round(nested, 4), "kept": nested > plain}
            offsets_record["logit_shifts"] = dict(zip(classes, shift.round(3).tolist())) if nested > plain else None
            log(f"  {lang}/{head}: brand class shifts {shift.round(2).tolist()}: nested cv macro-F1 {nested:.4f} vs {plain:.4f}")
            if nested > plain:
                model.domain_intercept = model.domain_intercept + shift / scale
    if pool and (best["pooled_languages"] or adapted):
        records.append(
            {"source": f"{args.posts} (training split, other languages)", "examples": len(pool), "terms": ds.DATA_TERMS[ds.DOMAIN_SOURCE]}
        )
    selection = {
        "method": f"{folds}-fold cross-validation on the training data only (macro-F1); validation and held-out data never used",
        "candidates": [{k: v for k, v in c.items() if k != "_oof"} for c in candidates],
        "chosen": {k: v for k, v in best.items() if k != "_oof"},
        "source_profiles": source_record,
        "domain_adaptation": design_record,
        "brand_class_shifts": offsets_record,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return model, {"training_data": records, "label_counts": _label_counts(y, classes, kind), "selection": selection}


def source_name(stem: str) -> str:
    """Research file stem -> source profile name: 'hodi_it_train' -> 'hodi_it'."""
    return stem.removesuffix("_train")


def choose_sources(ctx, x, y, research: list[ds.Example], oof_idx: np.ndarray, oof: np.ndarray):
    """Source profiles (pipelines.nlp.heads), kept when CV over each set's rows says so.

    A head with two or more research sets of ``MIN_SOURCE_ROWS`` rows is refitted with a copy of
    the features per set (``augment``); for each set, its rows are cross-validated with the rest
    always in training. The profiles are kept when the mean macro-F1 over the sets beats the
    plain model's out-of-fold figure on the same rows. -> ([(name, rows)], card record, oof_idx, oof).
    """
    est, kind, classes, folds, args, log, label = ctx
    names = [source_name(e.source) for e in research]
    groups = [(n, np.flatnonzero(np.array(names) == n)) for n in dict.fromkeys(names)]
    groups = [(n, rows) for n, rows in groups if len(rows) >= MIN_SOURCE_ROWS]
    if len(groups) < 2 or kind == "multilabel":
        return [], None, oof_idx, oof
    x_src = augment(x, [rows for _, rows in groups])
    position = {r: i for i, r in enumerate(oof_idx.tolist())}
    record, idx_all, s_all = {"tried": []}, [], []
    for name, rows in groups:
        plain_rows = np.array([position[r] for r in rows.tolist()])
        plain = round(macro_f1(y[oof_idx[plain_rows]], oof[plain_rows], kind, classes), 4)
        idx, s = out_of_fold(est, x_src, y, folds, args.seed, args.jobs, only=rows)
        own = round(macro_f1(y[idx], s, kind, classes), 4)
        record["tried"].append({"source": name, "rows": len(rows), "shared_cv_macro_f1": plain, "source_profile_cv_macro_f1": own})
        log(f"  {label}: source {name}: cv macro-F1 {plain:.4f} shared, {own:.4f} with its own profile")
        idx_all.append(idx)
        s_all.append(s)
    mean = lambda key: float(np.mean([t[key] for t in record["tried"]]))  # noqa: E731
    record["kept"] = mean("source_profile_cv_macro_f1") > mean("shared_cv_macro_f1")
    if not record["kept"]:
        return [], record, oof_idx, oof
    return groups, record, np.concatenate(idx_all), np.vstack(s_all)


def _label_counts(y, classes, kind) -> dict:
    if kind == "multilabel":
        return {c: int(n) for c, n in zip(classes, y.sum(axis=0))}
    return {c: int(np.sum(y == c)) for c in classes}


def card(model: LinearHead, info: dict, metrics: dict, path: Path) -> dict:
    terms = sorted({r["terms"] for r in info["training_data"]})
    return {
        "model": f"ascolto-{model.name}-{model.lang}",
        "version": MODEL_VERSION,
        "package_version": pipelines.__version__,
        "trained_on": dt.date.today().isoformat(),
        "language": model.lang,
        "head": model.name,
        "kind": model.kind,
        "classes": list(model.classes),
        "decision": {
            "multiclass": "arg-max of the scores; probabilities softmax(scale * scores), calibrated with classes weighted equally",
            "binary": f"'{model.classes[-1]}' when its calibrated probability >= threshold {float(model.threshold[0]):.3f}",
            "multilabel": "labels whose calibrated probability >= their threshold; 'none' when no label does",
        }[model.kind],
        "calibration": {
            "scale": model.scale.round(4).tolist(),
            "offset": model.offset.round(4).tolist(),
            "threshold": model.threshold.round(3).tolist(),
        },
        **info,
        "metrics": metrics,
        "terms": "The model inherits the terms of its training data (below the most restrictive applies): " + " | ".join(terms),
        "features": model.features,
        "libraries": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "artifact": {"file": path.name, "bytes": path.stat().st_size},
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", type=Path, default=ds.default_data_dir(), help="research data directory (env ASCOLTO_DATA_DIR; default %(default)s)"
    )
    p.add_argument("--posts", type=Path, default=Path("tests/data/domain_posts.tsv"), help="labeled posts TSV (default %(default)s)")
    p.add_argument("--train", action="append", default=[], metavar="HEAD=FILE", help="extra TSV for a head (repeatable)")
    p.add_argument("--no-research", action="store_true", help="train on --posts and --train files only")
    p.add_argument("--out", type=Path, default=MODELS_DIR, help="artifact directory (default: the packaged models)")
    p.add_argument("--langs", default="it,en", help="languages (default %(default)s)")
    p.add_argument("--heads", default=",".join(ds.HEADS), help="heads (default %(default)s)")
    p.add_argument("--families", default="svc,nb", help="classifier families to compare: svc, nb, sgd, lr (default %(default)s)")
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FAMILY=P[,P...]",
        help="regularisation values to compare for a family instead of its default grid (repeatable), e.g. nb=0.3 to retrain quickly",
    )
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (3 above 20k examples; default %(default)s)")
    p.add_argument("--holdout", type=float, default=0.3, help="share of the posts held out for evaluation (default %(default)s)")
    p.add_argument("--min-label-examples", type=int, default=100, help="multi-label: keep labels with this many examples")
    p.add_argument("--seed", type=int, default=13, help="random seed of splits and models (default %(default)s)")
    p.add_argument("--jobs", type=int, default=-1, help="parallel cross-validation fits (default: all cores)")


def run(args: argparse.Namespace) -> int:
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    try:
        args.train = [tuple(t.split("=", 1)) for t in args.train]
    except ValueError:
        raise ds.DataError("--train takes HEAD=FILE, e.g. --train sentiment=my_posts.tsv") from None
    args.families = args.families.split(",")
    try:
        args.grid = {f: [float(v) for v in values.split(",")] for f, values in (g.split("=", 1) for g in args.grid)}
    except ValueError:
        raise ds.DataError("--grid takes FAMILY=VALUE[,VALUE...], e.g. --grid nb=0.3,1") from None
    for head, path in args.train:
        if head not in ds.HEADS:
            raise ds.DataError(f"--train {head}={path}: unknown head, expected one of {', '.join(ds.HEADS)}")
    args.train = [(h, Path(p)) for h, p in args.train]
    if not args.no_research and not args.data_dir.is_dir():
        raise ds.DataError(f"research data directory {args.data_dir} not found: pass --data-dir, or --no-research")
    rows = ds.read_rows(args.posts) if args.posts.exists() else []
    held = ds.heldout_ids(rows, args.holdout, args.seed, ds.frozen_last_id(args.posts)) if rows and "id" in rows[0] else set()
    posts_train = [r for r in rows if r.get("id") not in held]
    posts_held = [r for r in rows if r.get("id") in held]
    featuriser = Featuriser(FeatureConfig())
    for lang in args.langs.split(","):
        (args.out / lang).mkdir(parents=True, exist_ok=True)
        for head in args.heads.split(","):
            log(f"training {lang}/{head}")
            trained = train_head(lang, head, args, featuriser, posts_train, log)
            if trained is None:
                continue
            model, info = trained
            path = args.out / lang / f"{head}.npz"
            model.save(path)
            metrics = evaluate_head(model, featuriser, args.data_dir, posts_held)
            doc = card(model, info, metrics, path)
            (args.out / lang / f"{head}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            log(
                f"  {lang}/{head}: "
                + ", ".join(f"{s} ({p}) macro-F1 {m['macro_f1']:.3f}" for p, ms in metrics.items() for s, m in ms.items())
            )
    write_index(args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ascolto nlp train", description=__doc__.split("\n")[0])
    add_arguments(p)
    try:
        return run(p.parse_args(argv))
    except ds.DataError as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
