"""Model selection helpers: classifier families, out-of-fold scores, macro-F1, calibration.

Everything here sees training data only: cross-validation folds of the training rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from joblib import Parallel, delayed
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from pipelines.nlp.nbsvm import NBSVMClassifier

KIND = {"sentiment": "multiclass", "emotion": "multiclass", "offensive": "binary", "intent": "multiclass"}
GRID = {
    "svc": [0.1, 0.3, 1.0],  # C
    "nb": [0.1, 0.3, 1.0],  # C of the NB-SVM
    "sgd": [3e-5, 1e-4],  # alpha
    "lr": [3.0, 10.0, 30.0],  # C
}
# Ways to learn from the few domain posts next to large research sets, compared by CV over the
# domain training rows: (feature augmentation + other-language posts, weight of domain rows).
# Augmentation (Daume III, "Frustratingly easy domain adaptation", 2007) gives domain rows a second,
# domain-only copy of their features; the shipped head keeps the general weights and the domain
# copy as the delta of its "brand" profile (pipelines.nlp.heads). Selection uses the brand profile.
DOMAIN_DESIGNS = ((False, 3.0), (True, 1.0), (True, 3.0), (True, 10.0), (True, 30.0))
# Research sets that annotate one head's label differently (see pipelines.nlp.heads, source
# profiles) get their own group in the augmentation when CV over their rows says it helps.
MIN_SOURCE_ROWS = 500


def estimator(family: str, param: float, multilabel: bool, seed: int):
    if family == "svc":
        est = LinearSVC(C=param, class_weight="balanced", random_state=seed)
    elif family == "nb":
        est = NBSVMClassifier(C=param, random_state=seed)
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


def class_offsets(y, logits: np.ndarray, classes, grid: np.ndarray = np.round(np.arange(-1.0, 1.001, 0.05), 2)) -> np.ndarray:
    """Per-class shifts of calibrated logits (first class fixed at 0) that maximise macro-F1 of the arg-max.

    Coordinate ascent over ``grid``, two rounds: a decision rule (like a binary threshold) for a
    multiclass head whose class balance in use differs from its training mix.
    """
    names = np.asarray(classes)
    shift = np.zeros(logits.shape[1])

    def f1(b: np.ndarray) -> float:
        return float(f1_score(y, names[(logits + b).argmax(axis=1)], average="macro", zero_division=0))

    for _ in range(2):
        for j in range(1, logits.shape[1]):
            trials = [f1(np.where(np.arange(len(shift)) == j, g, shift)) for g in grid]
            shift[j] = grid[int(np.argmax(trials))]
    return shift


def offsets_by_cv(y, logits: np.ndarray, classes, folds: int, seed: int) -> tuple[np.ndarray, float, float]:
    """(shifts fitted on all rows, macro-F1 without shifts, macro-F1 with shifts fitted on the other folds).

    The nested figure says whether shifting generalises; ``logits`` are out-of-fold already.
    """
    y = np.asarray(y)
    names = np.asarray(classes)
    pred = np.empty(len(y), dtype=object)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(logits, y):
        b = class_offsets(y[train], logits[train], classes)
        pred[test] = names[(logits[test] + b).argmax(axis=1)]
    plain = float(f1_score(y, names[logits.argmax(axis=1)], average="macro", zero_division=0))
    nested = float(f1_score(y, pred.astype(str), average="macro", zero_division=0))
    return class_offsets(y, logits, classes), plain, nested


def coefficients(est, multilabel: bool) -> tuple[np.ndarray, np.ndarray]:
    if multilabel:
        return np.vstack([e.coef_ for e in est.estimators_]).T, np.concatenate([np.ravel(e.intercept_) for e in est.estimators_])
    return est.coef_.T, np.ravel(est.intercept_)


def augment(x: sp.csr_matrix, groups: list[np.ndarray]) -> sp.csr_matrix:
    """[x, x restricted to each group's rows..., one indicator column per group].

    A shared copy of every feature plus a group-only copy per group (the domain posts, or one
    research set): the shared weights learn what holds everywhere, each copy what is particular
    to its group. The indicator columns let a group shift the intercept (its class balance).
    """
    masks = np.zeros((x.shape[0], len(groups)), dtype=np.float32)
    for j, rows in enumerate(groups):
        masks[rows, j] = 1.0
    out = sp.hstack([x] + [sp.diags(masks[:, j]) @ x for j in range(len(groups))] + [sp.csr_matrix(masks)], format="csr")
    out.sum_duplicates()
    return out


def split_augmented(coef: np.ndarray, n_groups: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """((1 + g) n + g, k) weights of an augmented model -> (shared (n, k), [(group delta (n, k), intercept shift (k,))])."""
    n = (coef.shape[0] - n_groups) // (1 + n_groups)
    return coef[:n], [(coef[(1 + j) * n : (2 + j) * n], coef[(1 + n_groups) * n + j]) for j in range(n_groups)]
