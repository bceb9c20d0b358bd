"""``ascolto nlp train``: train the per-language heads from TSV files and write artifacts + model cards.

For each language (it, en) and head (sentiment, emotion, offensive, intent):

1. Training data: the research train splits of ``RESEARCH_TRAIN`` (under ``--data-dir``), plus
   the rows of the posts file (``--posts``, the domain set) outside its fixed held-out split,
   plus any ``--train HEAD=FILE`` (layouts in ``pipelines.nlp.datasets``). Exact duplicate
   texts are dropped. ``--no-research`` trains on the posts and ``--train`` files only.
2. Model selection by k-fold cross-validation **on the training data only** (macro-F1):
   classifier family (``--families``: LinearSVC, SGD modified-Huber, logistic regression) and
   its regularisation; then, when a head has both research and domain rows, the weight of the
   domain rows, by cross-validation over the domain training rows.
3. Calibration of probabilities (and thresholds of binary/multi-label heads) on the out-of-fold
   scores of step 2; then the final fit on all training rows.
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
import sklearn
from joblib import Parallel, delayed
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

import pipelines
from pipelines.nlp import datasets as ds
from pipelines.nlp.features import FeatureConfig, Featuriser
from pipelines.nlp.heads import LinearHead
from pipelines.nlp.nbsvm import NBSVMClassifier
from pipelines.nlp.evaluate import evaluate_head, write_index

MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_VERSION = "1.0.0"
KIND = {"sentiment": "multiclass", "emotion": "multiclass", "offensive": "binary", "intent": "multiclass"}
GRID = {
    "svc": [0.1, 0.3, 1.0],  # C
    "nb": [0.1, 0.3, 1.0],  # C of the NB-SVM
    "sgd": [3e-5, 1e-4],  # alpha
    "lr": [3.0, 10.0, 30.0],  # C
}
DOMAIN_WEIGHTS = (1.0, 3.0, 10.0, 30.0)


def estimator(family: str, param: float, multilabel: bool, seed: int):
    if family == "svc":
        est = LinearSVC(C=param, class_weight="balanced")
    elif family == "nb":
        est = NBSVMClassifier(C=param)
    elif family == "sgd":
        est = SGDClassifier(loss="modified_huber", alpha=param, class_weight="balanced", max_iter=50, tol=None, random_state=seed)
    elif family == "lr":
        est = LogisticRegression(C=param, class_weight="balanced", max_iter=3000)
    else:
        raise ValueError(f"unknown classifier family {family!r}: expected svc, nb, sgd or lr")
    return OneVsRestClassifier(est) if multilabel else est


def _scores(est, x) -> np.ndarray:
    s = est.decision_function(x)
    return s.reshape(len(s), -1) if s.ndim == 1 else s


def _fit_predict(est, x, y, w, train, test):
    m = clone(est)
    m.fit(x[train], y[train], **({} if w is None else {"sample_weight": w[train]}))
    return test, _scores(m, x[test])


def out_of_fold(est, x, y, folds: int, seed: int, jobs: int, weights=None, only=None) -> tuple[np.ndarray, np.ndarray]:
    """(row indices scored, their out-of-fold scores); ``only``: rows that are split into folds (others always train)."""
    rows = np.arange(x.shape[0]) if only is None else only
    splitter = KFold(folds, shuffle=True, random_state=seed) if y.ndim == 2 else StratifiedKFold(folds, shuffle=True, random_state=seed)
    always = np.setdiff1d(np.arange(x.shape[0]), rows)
    jobs_out = Parallel(n_jobs=jobs)(
        delayed(_fit_predict)(est, x, y, weights, np.concatenate([always, rows[tr]]), rows[te]) for tr, te in splitter.split(rows, y[rows])
    )
    idx = np.concatenate([t for t, _ in jobs_out])
    return idx, np.vstack([s for _, s in jobs_out])


def decide_raw(scores: np.ndarray, kind: str, classes) -> np.ndarray:
    if kind == "multiclass":
        return np.asarray(classes)[scores.argmax(axis=1)]
    if kind == "binary":
        return np.asarray(classes)[(scores[:, 0] > 0).astype(int)]
    return scores > 0


def macro_f1(y, scores, kind, classes) -> float:
    return float(f1_score(y, decide_raw(scores, kind, classes), average="macro", zero_division=0))


def calibrate(y, scores, kind: str, classes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scale, offset, threshold) from out-of-fold scores, classes weighted equally."""
    k = scores.shape[1]
    if kind == "multiclass":
        target = np.searchsorted(np.asarray(classes), y)
        w = (len(y) / (k * np.bincount(target, minlength=k)))[target]

        def nll(log_a: float) -> float:
            z = scores * np.exp(log_a)
            z = z - z.max(axis=1, keepdims=True)
            logp = z[np.arange(len(y)), target] - np.log(np.exp(z).sum(axis=1))
            return float(-(w * logp).sum() / w.sum())

        a = float(np.exp(minimize_scalar(nll, bounds=(-5, 5), method="bounded").x))
        return np.full(k, a), np.zeros(k), np.full(k, 0.5)
    positive = (y == classes[1]).reshape(-1, 1) if kind == "binary" else y
    scale, offset, threshold = np.ones(k), np.zeros(k), np.full(k, 0.5)
    for j in range(k):
        platt = LogisticRegression(C=1e4, class_weight="balanced").fit(scores[:, [j]], positive[:, j])
        scale[j], offset[j] = platt.coef_[0, 0], platt.intercept_[0]
        p = 1 / (1 + np.exp(-(scores[:, j] * scale[j] + offset[j])))
        grid = np.round(np.arange(0.2, 0.81, 0.025), 3)
        avg = "macro" if kind == "binary" else "binary"
        f1s = [f1_score(positive[:, j], p >= t, average=avg, zero_division=0) for t in grid]
        threshold[j] = grid[int(np.argmax(f1s))]
    return scale, offset, threshold


def _coef(est, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    if multilabel:
        return np.vstack([e.coef_ for e in est.estimators_]).T, np.concatenate([np.ravel(e.intercept_) for e in est.estimators_])
    return est.coef_.T, np.ravel(est.intercept_)


def gather(lang: str, head: str, args, posts_train: list[dict]) -> tuple[list[ds.Example], list[ds.Example], list[dict]]:
    """(research examples, domain examples, data records for the card), exact duplicate texts dropped."""
    research, records, seen = [], [], set()
    files = [] if args.no_research else [(f, args.data_dir / f) for f in ds.RESEARCH_TRAIN.get((lang, head), ())]
    files += [(str(p), p) for h, p in args.train if h == head]
    for name, path in files:
        kept = [e for e in ds.load_examples(path, head) if e.lang == lang and e.text not in seen and not seen.add(e.text)]
        research += kept
        records.append({"source": name, "examples": len(kept), "terms": ds.terms_of(name)})
    domain = [e for e in ds.examples_from_rows(posts_train, head, ds.DOMAIN_SOURCE) if e.lang == lang and e.text not in seen]
    if domain:
        records.append({"source": f"{args.posts} (training split)", "examples": len(domain), "terms": ds.DATA_TERMS[ds.DOMAIN_SOURCE]})
    return research, domain, records


def train_head(lang: str, head: str, args, featuriser: Featuriser, posts_train, log) -> tuple[LinearHead, dict] | None:
    research, domain, records = gather(lang, head, args, posts_train)
    examples = research + domain
    if len(examples) < 50:
        log(f"  {lang}/{head}: {len(examples)} labeled examples, skipped (50 needed)")
        return None
    multilabel = head == "emotion" and any("|" in e.label for e in examples)
    kind = "multilabel" if multilabel else KIND.get(head, "multiclass")
    if multilabel:
        counts: dict[str, int] = {}
        for e in examples:
            for lab in e.label.split("|"):
                counts[lab] = counts.get(lab, 0) + 1
        classes = tuple(sorted(c for c, n in counts.items() if c != ds.MULTI_LABEL_NONE and n >= args.min_label_examples))
        y = np.array([[c in e.label.split("|") for c in classes] for e in examples], dtype=int)
    else:
        classes = tuple(sorted({e.label for e in examples}))
        kind = "binary" if len(classes) == 2 else kind
        y = np.array([e.label for e in examples])
    x = featuriser.transform([e.text for e in examples], lang)
    x.sum_duplicates()
    n_res = len(research)
    base = np.arange(n_res) if n_res >= 50 else np.arange(len(examples))
    folds = 3 if len(base) > 20000 else args.folds
    t0 = time.perf_counter()
    candidates = []
    for family in args.families:
        for param in GRID[family]:
            idx, s = out_of_fold(estimator(family, param, multilabel, args.seed), x, y, folds, args.seed, args.jobs, only=base)
            candidates.append({"family": family, "param": param, "cv_macro_f1": round(macro_f1(y[idx], s, kind, classes), 4), "_oof": (idx, s)})
            log(f"  {lang}/{head}: {family} {param}: cv macro-F1 {candidates[-1]['cv_macro_f1']:.4f}")
    best = max(candidates, key=lambda c: c["cv_macro_f1"])
    est = estimator(best["family"], best["param"], multilabel, args.seed)
    oof_idx, oof = best["_oof"]
    weight_record, weights = None, None
    if n_res >= 50 and domain:
        dom = np.arange(n_res, len(examples))
        tried = []
        for w in DOMAIN_WEIGHTS:
            weights_w = np.where(np.arange(len(examples)) < n_res, 1.0, w)
            idx, s = out_of_fold(est, x, y, folds, args.seed, args.jobs, weights=weights_w, only=dom)
            tried.append((round(macro_f1(y[idx], s, kind, classes), 4), -w, w, idx, s))
            log(f"  {lang}/{head}: domain weight {w}: domain cv macro-F1 {tried[-1][0]:.4f}")
        score, _, w, idx, s = max(tried, key=lambda t: t[:2])
        weights = np.where(np.arange(len(examples)) < n_res, 1.0, w)
        weight_record = {"tried": {str(t[2]): t[0] for t in tried}, "chosen": w, "domain_cv_macro_f1": score}
        oof_idx, oof = np.concatenate([oof_idx, idx]), np.vstack([oof, s])
    scale, offset, threshold = calibrate(y[oof_idx], oof, kind, classes)
    est.fit(x, y, **({} if weights is None else {"sample_weight": weights}))
    coef, intercept = _coef(est, multilabel)
    model = LinearHead(head, lang, kind, classes, coef.astype(np.float32), intercept, scale, offset, threshold, featuriser.config.to_dict())
    selection = {
        "method": f"{folds}-fold cross-validation on the training data only (macro-F1); validation and held-out data never used",
        "candidates": [{k: v for k, v in c.items() if k != "_oof"} for c in candidates],
        "chosen": {"family": best["family"], "param": best["param"], "cv_macro_f1": best["cv_macro_f1"]},
        "domain_weight": weight_record,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return model, {"training_data": records, "label_counts": _label_counts(y, classes, kind), "selection": selection}


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
        "calibration": {"scale": model.scale.round(4).tolist(), "offset": model.offset.round(4).tolist(), "threshold": model.threshold.round(3).tolist()},
        **info,
        "metrics": metrics,
        "terms": "The model inherits the terms of its training data (below the most restrictive applies): " + " | ".join(terms),
        "features": model.features,
        "libraries": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__},
        "artifact": {"file": path.name, "bytes": path.stat().st_size},
    }


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=Path("../shared/data"), help="research data directory (default %(default)s)")
    p.add_argument("--posts", type=Path, default=Path("tests/data/domain_posts.tsv"), help="labeled posts TSV (default %(default)s)")
    p.add_argument("--train", action="append", default=[], metavar="HEAD=FILE", help="extra TSV for a head (repeatable)")
    p.add_argument("--no-research", action="store_true", help="train on --posts and --train files only")
    p.add_argument("--out", type=Path, default=MODELS_DIR, help="artifact directory (default: the packaged models)")
    p.add_argument("--langs", default="it,en", help="languages (default %(default)s)")
    p.add_argument("--heads", default=",".join(ds.HEADS), help="heads (default %(default)s)")
    p.add_argument("--families", default="svc,nb", help="classifier families to compare: svc, nb, sgd, lr (default %(default)s)")
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
    for head, path in args.train:
        if head not in ds.HEADS:
            raise ds.DataError(f"--train {head}={path}: unknown head, expected one of {', '.join(ds.HEADS)}")
    args.train = [(h, Path(p)) for h, p in args.train]
    if not args.no_research and not args.data_dir.is_dir():
        raise ds.DataError(f"research data directory {args.data_dir} not found: pass --data-dir, or --no-research")
    rows = ds.read_rows(args.posts) if args.posts.exists() else []
    held = ds.heldout_ids(rows, args.holdout, args.seed) if rows and "id" in rows[0] else set()
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
            metrics = evaluate_head(model, featuriser, args.data_dir, posts_held, args.posts.name)
            doc = card(model, info, metrics, path)
            (args.out / lang / f"{head}.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            log(f"  {lang}/{head}: " + ", ".join(f"{k} macro-F1 {v['macro_f1']:.3f}" for k, v in metrics.items()))
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
