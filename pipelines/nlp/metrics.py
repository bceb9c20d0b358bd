"""Metrics of a head on labeled examples: macro-F1, accuracy, confusion matrix, a bootstrap interval.

Pure functions over gold and predicted labels; used by training (to write the model card) and
by ``evaluate`` (to print the tables). Multi-label heads are scored per label (binary F1,
averaged over the head's labels) with exact-match accuracy.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


def multiclass_metrics(gold: list[str], pred: list[str], classes: tuple[str, ...], bootstrap: int = 1000, seed: int = 7) -> dict:
    g, p = np.array(gold), np.array(pred)
    labels = list(classes)
    f1 = float(f1_score(g, p, labels=labels, average="macro", zero_division=0))
    return {
        "n": len(g),
        "macro_f1": round(f1, 4),
        "accuracy": round(float(accuracy_score(g, p)), 4),
        "macro_f1_ci95": _bootstrap(g[:, None] == np.array(labels), p[:, None] == np.array(labels), bootstrap, seed),
        "per_class_f1": dict(zip(labels, np.round(f1_score(g, p, labels=labels, average=None, zero_division=0), 4).tolist())),
        "confusion": {"labels": labels, "matrix": confusion_matrix(g, p, labels=labels).tolist()},  # rows gold, columns predicted
    }


def multilabel_metrics(
    gold: list[tuple[str, ...]], pred: list[tuple[str, ...]], classes: tuple[str, ...], bootstrap: int = 1000, seed: int = 7
) -> dict:
    labels = list(classes)
    g = np.array([[c in row for c in labels] for row in gold], dtype=bool).reshape(len(gold), len(labels))
    p = np.array([[c in row for c in labels] for row in pred], dtype=bool).reshape(len(pred), len(labels))
    f1 = float(f1_score(g, p, average="macro", zero_division=0))
    per = f1_score(g, p, average=None, zero_division=0)
    return {
        "n": len(g),
        "macro_f1": round(f1, 4),
        "accuracy": round(float(np.mean(np.all(g == p, axis=1))), 4),  # exact match of the label set
        "macro_f1_ci95": _bootstrap(g, p, bootstrap, seed),
        "per_class_f1": dict(zip(labels, np.round(per, 4).tolist())),
        "per_label_counts": {
            c: {"tp": int(np.sum(g[:, j] & p[:, j])), "fp": int(np.sum(~g[:, j] & p[:, j])), "fn": int(np.sum(g[:, j] & ~p[:, j]))}
            for j, c in enumerate(labels)
        },
    }


def _bootstrap(gold: np.ndarray, pred: np.ndarray, rounds: int, seed: int) -> list[float]:
    """95% percentile interval of macro-F1 over resamples of the rows (the sets are small: report intervals).

    ``gold``, ``pred``: (n, labels) indicator matrices. Each resample is a row of multiplicities,
    so every round's per-label counts come from one matrix product.
    """
    n = len(gold)
    if n == 0 or rounds == 0:
        return [float("nan"), float("nan")]
    times = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=rounds).astype(np.float64)
    tp = times @ (gold & pred)
    fp = times @ (~gold & pred)
    fn = times @ (gold & ~pred)
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0).mean(axis=1)
    return [round(float(np.percentile(f1, 2.5)), 4), round(float(np.percentile(f1, 97.5)), 4)]
