"""Trained linear heads: their storage, calibrated probabilities and decisions.

A head is a linear model over ``Featuriser`` columns: decision scores ``X @ coef + intercept``
(one column per class, one for a binary head, one per label for a multi-label head), turned
into probabilities by a calibration fitted on out-of-fold training scores:

- ``multiclass`` (sentiment, English emotion, intent): ``softmax(scale * scores)``; the label is
  the arg-max (temperature scaling keeps the trained decision rule).
- ``binary`` (offensive): ``sigmoid(scale * score + offset)``; the label is the positive class
  when its probability reaches ``threshold``.
- ``multilabel`` (Italian emotion): a sigmoid per label; the labels whose probability reaches
  their threshold, ``none`` when no label does.

Profiles. A head trained on research sets *and* the domain posts carries two weight sets:
``general`` (what it learned for social posts at large) and ``brand`` = general + a
domain-only delta learned by feature augmentation from the brand and customer-care posts.
No single linear model served both distributions: on Italian sentiment, folding the delta in
raised domain CV macro-F1 from 0.60 to 0.75 and lowered research CV from 0.64 to 0.60. The
pipeline listens to brands, so ``brand`` is the default; ``general`` suits other streams.
Heads without domain rows (emotion) or without research rows (intent) have one weight set.
A delta also carries its own intercept shift (the domain's class balance is not the research sets').

Source profiles. When one head is trained on research sets that annotate *different tasks*
under one label (Italian offensive: HODI marks homotransphobic speech, HaSpeeDe 3 political
hate; a post can be vulgar and still "not" for either), each set gets its own delta the same
way, kept only when cross-validation on that set's training rows says so. A source profile is
named after its set (``hodi_it``, ``haspeede3_it``) and is what ``ascolto nlp eval`` holds to
that set's validation split; the pipeline itself scores with ``brand`` (or ``general``).

Saved as ``<head>.npz`` (only the rows of ``coef`` that are not zero, weights as float16) next to
its model card ``<head>.json``. ``HeadStack`` stacks every head of a language into one dense
matrix so that scoring a batch is one sparse-dense product.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

KINDS = ("multiclass", "binary", "multilabel")
PROFILES = ("brand", "general")
DEFAULT_PROFILE = "brand"
NONE_LABEL = "none"


@dataclass
class LinearHead:
    name: str
    lang: str
    kind: str
    classes: tuple[str, ...]  # binary: (negative, positive); multilabel: the labels
    coef: np.ndarray  # (n_columns, k) float32
    intercept: np.ndarray  # (k,)
    scale: np.ndarray  # (k,)
    offset: np.ndarray  # (k,)
    threshold: np.ndarray  # (k,) binary and multilabel; unused for multiclass
    features: dict = field(default_factory=dict)  # FeatureConfig.to_dict() it was trained with
    domain_delta: np.ndarray | None = None  # (n_columns, k): brand profile = coef + domain_delta
    domain_intercept: np.ndarray | None = None  # (k,): brand profile intercept = intercept + domain_intercept
    source_deltas: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name -> (coef delta, intercept delta)

    @property
    def width(self) -> int:
        return self.coef.shape[1]

    @property
    def profiles(self) -> tuple[str, ...]:
        """Profiles this head can score with: 'brand' and 'general', then its source profiles."""
        return PROFILES + tuple(sorted(self.source_deltas))

    def _check(self, profile: str) -> None:
        if profile not in PROFILES and profile not in self.source_deltas:
            raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(self.profiles)}")

    def weights(self, profile: str = DEFAULT_PROFILE) -> np.ndarray:
        """(n_columns, k) weights of a profile ('brand', 'general' or one of the head's source profiles)."""
        self._check(profile)
        if profile == "brand" and self.domain_delta is not None:
            return self.coef + self.domain_delta
        if profile in self.source_deltas:
            return self.coef + self.source_deltas[profile][0]
        return self.coef

    def bias(self, profile: str = DEFAULT_PROFILE) -> np.ndarray:
        """(k,) intercept of a profile."""
        self._check(profile)
        if profile == "brand" and self.domain_intercept is not None:
            return self.intercept + self.domain_intercept
        if profile in self.source_deltas:
            return self.intercept + self.source_deltas[profile][1]
        return self.intercept

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Decision scores (n, k) -> probabilities (n, k); binary: of the positive class."""
        z = scores * self.scale + self.offset
        if self.kind == "multiclass":
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        return 1.0 / (1.0 + np.exp(-z))

    def decide(self, probs: np.ndarray) -> list:
        """Probabilities -> one label per row (multilabel: a tuple of labels, possibly empty)."""
        classes = self.classes
        if self.kind == "multiclass":
            return [classes[i] for i in probs.argmax(axis=1).tolist()]
        if self.kind == "binary":
            return [classes[1] if hit else classes[0] for hit in (probs[:, 0] >= self.threshold[0]).tolist()]
        return [tuple(c for c, hit in zip(classes, row) if hit) for row in (probs >= self.threshold).tolist()]

    def _top(self, probs: np.ndarray, labels: list) -> list[str]:
        """A multi-label head's one label per row: its most probable label over threshold, ``none`` without one."""
        top = [self.classes[i] for i in np.where(probs >= self.threshold, probs, -1.0).argmax(axis=1).tolist()]
        return [t if lab else NONE_LABEL for t, lab in zip(top, labels)]

    def outputs(self, scores: np.ndarray) -> list[dict]:
        """Per row: ``{"label": ..., "probs": {class: p}}`` (+ ``"labels"`` for a multi-label head). Vectorised where it counts."""
        probs = self.probabilities(scores)
        labels = self.decide(probs)
        classes = self.classes
        if self.kind == "binary":
            negative, positive = classes
            return [{"label": lab, "probs": {negative: 1.0 - p, positive: p}} for lab, p in zip(labels, probs[:, 0].tolist())]
        rows = probs.tolist()
        if self.kind == "multiclass":
            return [{"label": lab, "probs": dict(zip(classes, row))} for lab, row in zip(labels, rows)]
        return [
            {"label": t, "labels": list(lab), "probs": dict(zip(classes, row))}
            for t, lab, row in zip(self._top(probs, labels), labels, rows)
        ]

    def columns(self, scores: np.ndarray) -> tuple[list[str], dict[str, np.ndarray]]:
        """``outputs`` by column, without a dict per row: each row's ``label``, and per class the
        probabilities as float64 (the same floats ``outputs`` gives)."""
        probs = self.probabilities(scores)
        labels = self.decide(probs)
        p = probs.astype(np.float64)
        if self.kind == "binary":
            negative, positive = self.classes
            return labels, {negative: 1.0 - p[:, 0], positive: p[:, 0]}
        return labels if self.kind == "multiclass" else self._top(probs, labels), {c: p[:, k] for k, c in enumerate(self.classes)}

    def save(self, path: Path) -> None:
        rows = np.flatnonzero(np.any(self.coef != 0, axis=1)).astype(np.int32)
        sources = sorted(self.source_deltas)
        meta = {"name": self.name, "lang": self.lang, "kind": self.kind, "classes": list(self.classes), "features": self.features}
        meta["sources"] = sources
        delta = np.zeros((0, self.width), dtype=np.float32) if self.domain_delta is None else self.domain_delta
        delta_rows = np.flatnonzero(np.any(delta != 0, axis=1)).astype(np.int32)
        extra = {}
        for i, name in enumerate(sources):
            d, b = self.source_deltas[name]
            r = np.flatnonzero(np.any(d != 0, axis=1)).astype(np.int32)
            extra.update({f"source{i}_rows": r, f"source{i}_values": d[r].astype(np.float16), f"source{i}_intercept": b.astype(np.float32)})
        no_shift = np.zeros(self.width, dtype=np.float32)
        np.savez_compressed(
            path,
            rows=rows,
            values=self.coef[rows].astype(np.float16),
            delta_rows=delta_rows,
            delta_values=delta[delta_rows].astype(np.float16),
            delta_intercept=(no_shift if self.domain_intercept is None else self.domain_intercept).astype(np.float32),
            **extra,
            n_columns=np.int64(self.coef.shape[0]),
            intercept=self.intercept.astype(np.float32),
            scale=self.scale.astype(np.float32),
            offset=self.offset.astype(np.float32),
            threshold=self.threshold.astype(np.float32),
            meta=np.array(json.dumps(meta)),
        )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            coef = np.zeros((int(z["n_columns"]), z["values"].shape[1]), dtype=np.float32)
            coef[z["rows"]] = z["values"]
            delta = shift = None
            if len(z["delta_rows"]):
                delta = np.zeros_like(coef)
                delta[z["delta_rows"]] = z["delta_values"]
                shift = z["delta_intercept"] if "delta_intercept" in z else None
            sources = {}
            for i, source in enumerate(meta.get("sources", [])):
                d = np.zeros_like(coef)
                d[z[f"source{i}_rows"]] = z[f"source{i}_values"]
                sources[source] = (d, z[f"source{i}_intercept"])
            if meta["features"].get("version") == "features-v1":  # v2 added two cues (slurs, sarcasm) after the 14th
                at = 2 ** meta["features"]["hash_bits"] + 14
                coef = np.insert(coef, [at, at], 0.0, axis=0)
                delta = None if delta is None else np.insert(delta, [at, at], 0.0, axis=0)
            return cls(
                name=meta["name"],
                lang=meta["lang"],
                kind=meta["kind"],
                classes=tuple(meta["classes"]),
                coef=coef,
                intercept=z["intercept"],
                scale=z["scale"],
                offset=z["offset"],
                threshold=z["threshold"],
                features=meta["features"],
                domain_delta=delta,
                domain_intercept=shift,
                source_deltas=sources,
            )


class HeadStack:
    """Every head of one language, one profile, behind one product: ``scores(X)`` -> {head name: (n, k) scores}."""

    def __init__(self, heads: list[LinearHead], profile: str = DEFAULT_PROFILE):
        if not heads:
            raise ValueError("a HeadStack needs at least one head")
        configs = {json.dumps(h.features, sort_keys=True) for h in heads}
        if len(configs) > 1:
            raise ValueError(f"heads of one language were trained on different featurisations: {sorted(configs)}")
        self.heads = heads
        self.profile = profile
        self._weights = np.hstack([h.weights(profile) for h in heads]).astype(np.float32)
        self._bias = np.concatenate([h.bias(profile) for h in heads]).astype(np.float32)
        for h in heads:  # the stack owns the weights (memory once)
            h.coef, h.domain_delta, h.source_deltas = np.zeros((0, h.width), dtype=np.float32), None, {}
        self._splits = np.cumsum([h.width for h in heads])[:-1]

    @property
    def features(self) -> dict:
        return self.heads[0].features

    def weights_of(self, name: str) -> np.ndarray:
        """(n_columns, k) view of one head's weights (for explanations)."""
        i = [h.name for h in self.heads].index(name)
        start = 0 if i == 0 else self._splits[i - 1]
        return self._weights[:, start : start + self.heads[i].width]

    def scores(self, x: sp.csr_matrix) -> dict[str, np.ndarray]:
        s = np.asarray(x @ self._weights) + self._bias
        return {h.name: part for h, part in zip(self.heads, np.split(s, self._splits, axis=1))}
