"""Scorers: the pluggable interface of the enrichment classifiers, and the default offline one.

``Scorer`` is the contract the pipeline depends on: a batch of texts with their languages in,
one dict per text out, in the same order::

    {"sentiment": {"label": "neg", "probs": {"neg": 0.81, "neu": 0.12, "pos": 0.07}},
     "emotion":   {"label": "anger", "probs": {...}},          # Italian: also "labels": [...]
     "offensive": {"label": "not", "probs": {"not": 0.97, "offensive": 0.03}},
     "intent":    {"label": "complaint", "probs": {...}}}

A language without models (``unknown``, or one we do not ship) gets ``{"label": "unknown",
"probs": {}}`` in every field: the post is still counted. Implementations must be batch-oriented
(score a whole list at once), deterministic, and must not use the network.

``LinearScorer`` is the default: the heads shipped in ``pipelines/nlp/models/<lang>/``, loaded
lazily on the first text of each language, with the ``brand`` profile unless told otherwise
(``general`` for streams that are not about brands; see ``pipelines.nlp.heads``);
``default_scorer()`` shares one per process.
``load_scorer("package.module:factory")`` plugs in a team's own implementation (for example a
locally served transformer) from configuration.
"""

from __future__ import annotations

import importlib
import threading
from collections import defaultdict
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipelines.nlp.features import FeatureConfig, Featuriser
from pipelines.nlp.heads import DEFAULT_PROFILE, PROFILES, HeadStack, LinearHead

MODELS_DIR = Path(__file__).resolve().parent / "models"
FIELDS = ("sentiment", "emotion", "offensive", "intent")
UNKNOWN = "unknown"


@runtime_checkable
class Scorer(Protocol):
    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        """One dict per text, in order: field -> {"label": str, "probs": {label: float}}."""
        ...


def unknown_fields() -> dict:
    return {f: {"label": UNKNOWN, "probs": {}} for f in FIELDS}


class ScorerError(RuntimeError):
    """A scorer cannot be loaded (missing or inconsistent model files, a bad plug-in spec)."""


class LinearScorer:
    """The shipped linear heads: one featurisation and one sparse-dense product per language and batch."""

    def __init__(self, models_dir: Path | None = None, profile: str = DEFAULT_PROFILE):
        if profile not in PROFILES:
            raise ScorerError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
        self.models_dir = Path(models_dir) if models_dir is not None else MODELS_DIR
        self.profile = profile
        self._stacks: dict[str, tuple[Featuriser, HeadStack] | None] = {}
        self._lock = threading.Lock()

    def _load(self, lang: str) -> tuple[Featuriser, HeadStack] | None:
        loaded = self._stacks.get(lang, False)
        if loaded is not False:
            return loaded
        with self._lock:
            if lang not in self._stacks:
                paths = sorted((self.models_dir / lang).glob("*.npz")) if lang.isalpha() else []
                if not paths:
                    self._stacks[lang] = None
                else:
                    try:
                        stack = HeadStack([LinearHead.load(p) for p in paths], self.profile)
                    except (OSError, ValueError, KeyError) as exc:
                        raise ScorerError(f"cannot load the {lang} models in {self.models_dir / lang}: {exc}") from exc
                    config = FeatureConfig(**{k: v for k, v in stack.features.items() if k != "version"})
                    self._stacks[lang] = (Featuriser(config), stack)
            return self._stacks[lang]

    def languages(self) -> list[str]:
        return sorted(p.name for p in self.models_dir.iterdir() if p.is_dir() and any(p.glob("*.npz")))

    def featuriser(self, lang: str) -> Featuriser:
        loaded = self._load(lang)
        if loaded is None:
            raise ScorerError(f"no models for language {lang!r} in {self.models_dir}")
        return loaded[0]

    def stack(self, lang: str) -> HeadStack:
        loaded = self._load(lang)
        if loaded is None:
            raise ScorerError(f"no models for language {lang!r} in {self.models_dir}")
        return loaded[1]

    def _scored(self, texts: list[str], langs: list[str]):
        """(positions, head stack or None, decision scores by head) per language of the batch."""
        if len(texts) != len(langs):
            raise ValueError(f"{len(texts)} texts but {len(langs)} languages")
        groups: dict[str, list[int]] = defaultdict(list)
        for i, lang in enumerate(langs):
            groups[lang].append(i)
        for lang, idx in groups.items():
            loaded = self._load(lang)
            if loaded is None:
                yield idx, None, {}
                continue
            featuriser, stack = loaded
            yield idx, stack, stack.scores(featuriser.transform([texts[i] for i in idx], lang))

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        out: list[dict] = [{}] * len(texts)
        for idx, stack, scores in self._scored(texts, langs):
            if stack is None:
                for i in idx:
                    out[i] = unknown_fields()
                continue
            per_head = [(h.name, h.outputs(scores[h.name])) for h in stack.heads]
            missing = [f for f in FIELDS if f not in scores]
            for j, i in enumerate(idx):
                fields = {name: results[j] for name, results in per_head}
                for f in missing:
                    fields[f] = {"label": UNKNOWN, "probs": {}}
                out[i] = fields
        return out

    def score_columns(self, texts: list[str], langs: list[str]) -> dict[str, tuple[list[str], dict[str, np.ndarray]]]:
        """``score`` by column, the enrichment's fast path (no dict per text and field): per field,
        each text's label and per class each text's probability (float64; 0 where ``score`` gives
        no probabilities). Labels and probabilities are those ``score`` gives."""
        n = len(texts)
        columns: dict[str, tuple[list[str], dict[str, np.ndarray]]] = {f: ([UNKNOWN] * n, {}) for f in FIELDS}
        for idx, stack, scores in self._scored(texts, langs):
            if stack is None:
                continue
            rows = np.asarray(idx)
            for h in stack.heads:
                labels, probs = h.columns(scores[h.name])
                column, by_class = columns.setdefault(h.name, ([UNKNOWN] * n, {}))
                for i, label in zip(idx, labels):
                    column[i] = label
                for c, p in probs.items():
                    by_class.setdefault(c, np.zeros(n))[rows] = p
        return columns


_default: LinearScorer | None = None
_default_lock = threading.Lock()


def default_scorer() -> LinearScorer:
    """The shipped models, loaded once per process (each language on first use)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = LinearScorer()
    return _default


def load_scorer(spec: str | None) -> Scorer:
    """``None`` or ``"default"``: the shipped models (brand profile); ``"general"``: the shipped models, general profile;
    ``"module:attr"``: ``attr`` is a Scorer class or factory, called with no arguments."""
    if spec in (None, "", "default", DEFAULT_PROFILE):
        return default_scorer()
    if spec in PROFILES:
        return LinearScorer(profile=spec)
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ScorerError(f"scorer {spec!r}: expected 'package.module:ClassOrFactory'")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ScorerError(f"scorer {spec!r} cannot be imported: {exc}") from exc
    if not callable(obj):
        raise ScorerError(f"scorer {spec!r} is not a class or factory")
    scorer = obj()
    if not isinstance(scorer, Scorer):
        raise ScorerError(f"scorer {spec!r} has no score(texts, langs) method")
    return scorer
