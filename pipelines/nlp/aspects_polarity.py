"""Polarity of the clause that names an aspect, and the optional per-category detector.

The post is cut into clauses (``clauses``) at sentence punctuation (and commas, if the trained
model chose it) and before contrast words ("ma", "però", "but", "however"...:
``lexicon.CONTRAST_WORDS``). A negator ("non", "not"...) marks the next words of its clause
(``negation_marks``), flipping their lexicon polarity. The clause's features
(``clause_features``) are scored by a small linear model per language (``PolarityModel``,
trained by ``python -m pipelines.nlp.aspects_train``), or by the lexicon when no model is shipped.
All of them read ``aspects_tokens.Tokens``.
"""

from __future__ import annotations

import math
from itertools import compress

import numpy as np
import scipy.sparse as sp

from pipelines.nlp import lexicon as lx
from pipelines.nlp.aspects_tokens import Tokens

__all__ = ["POLARITIES", "Detector", "PolarityModel", "clause_features", "clauses", "detector_features", "negation_marks", "post_context"]

POLARITIES = ("negative", "neutral", "positive")
_NOT_WORDS = (lx.CLAUSE_END, lx.MARK)
_SCOPE_ENDS = (lx.CLAUSE_END, lx.MARK, lx.CONTRAST)
_BOUNDARIES = frozenset((lx.CONTRAST, lx.MARK, lx.CLAUSE_END))
_SIGNALS = frozenset((lx.POSITIVE, lx.NEGATIVE, lx.INSULT, lx.EMOJI_POS, lx.EMOJI_NEG))


def clauses(toks: Tokens, split_commas: bool) -> list[tuple[int, int]]:
    """Token ranges of the clauses: cut after sentence punctuation (and commas) and before contrast words."""
    out = []
    start = 0
    keys, kinds = toks.keys, toks.kinds
    for i in compress(range(len(kinds)), map(_BOUNDARIES.__contains__, kinds)):  # the other tokens cut nothing
        k = kinds[i]
        if k == lx.CONTRAST and i > start:
            out.append((start, i))
            start = i
        elif k == lx.MARK or (k == lx.CLAUSE_END and (split_commas or keys[i] != ",")):
            if i + 1 > start:
                out.append((start, i + 1))
            start = i + 1
    if start < len(toks):
        out.append((start, len(toks)))
    return out or [(0, len(toks))]


def negation_marks(toks: Tokens, window: int) -> list[bool]:
    """Per token: is it inside a negation scope (the ``window`` words after a negator, up to punctuation)?"""
    kinds = toks.kinds
    marks = [False] * len(kinds)
    if lx.NEGATOR not in kinds:
        return marks
    scope = 0
    for i, k in enumerate(kinds):
        if k == lx.NEGATOR:
            scope = window
        elif k in _SCOPE_ENDS:
            scope = 0
        elif scope:
            marks[i] = True
            scope -= 1
    return marks


def _signals(kinds: tuple[int, ...], marks: list[bool], a: int, b: int) -> tuple[float, float, float, float]:
    """(lexicon +, lexicon -, emoji +, emoji -) of tokens [a, b): negation flips, an intensifier right before weighs 1.5."""
    lp = ln = ep = en = 0.0
    for i in compress(range(a, b), map(_SIGNALS.__contains__, kinds[a:b])):  # in order: the sums are the same floats
        k = kinds[i]
        if k == lx.EMOJI_POS:
            ep += 1
        elif k == lx.EMOJI_NEG:
            en += 1
        else:
            w = 1.5 if i > a and kinds[i - 1] == lx.INTENSIFIER else 1.0
            if (k == lx.POSITIVE) != marks[i]:
                lp += w
            else:
                ln += w
    return lp, ln, ep, en


def clause_features(toks: Tokens, marks: list[bool], a: int, b: int, category: str, post: tuple) -> dict[str, float]:
    """Features of the clause [a, b) that names ``category``, for the polarity model.

    Words of the clause (stems; '~' marks a negated one), the clause's lexicon and emoji
    polarity, its '?' and '!', whether it opens with a contrast word, the category, and the
    post's own lexicon/emoji polarity and '?' as weaker context (``post``, from ``post_context``).
    Features are in the order of the tokens that make them (the model sums in that order).
    """
    f: dict[str, float] = {"c:" + category: 1.0}
    names = toks.names[a:b]
    if True in marks[a:b]:  # only words are ever marked
        keys = toks.keys
        names = tuple("w:~" + keys[i] if marks[i] else names[i - a] for i in range(a, b))
    f.update(dict.fromkeys(filter(None, names), 1.0))
    kinds = toks.kinds
    lp, ln, ep, en = _signals(kinds, marks, a, b)
    for name, v in (("lex+", lp), ("lex-", ln), ("emo+", ep), ("emo-", en)):
        if v:
            f[name] = min(v, 3.0)
    if lp > ln:
        f["lex>"] = 1.0
    elif ln > lp:
        f["lex<"] = 1.0
    if kinds[a] == lx.CONTRAST:
        f["contrast"] = 1.0
    for name, v in zip(("p_lex+", "p_lex-", "p_emo+", "p_emo-", "p_q"), post):
        if v:
            f[name] = min(v, 3.0)
    return f


def post_context(toks: Tokens, marks: list[bool]) -> tuple[float, ...]:
    lp, ln, ep, en = _signals(toks.kinds, marks, 0, len(toks))
    return lp, ln, ep, en, float("?" in toks.keys)


class PolarityModel:
    """A linear model over ``clause_features`` (or the lexicon alone): clause -> (polarity, probability)."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.lang = spec["lang"]
        self.scorer = spec.get("scorer", "model")
        self.classes = tuple(spec.get("classes", POLARITIES))
        self.split_commas = bool(spec.get("split_commas", True))
        self.negation_window = int(spec.get("negation_window", 3))
        self.intercept = list(spec.get("intercept", [0.0] * len(self.classes)))
        self.weights: dict[str, list[float]] = spec.get("weights", {})

    @classmethod
    def lexicon(cls, lang: str) -> PolarityModel:
        return cls({"lang": lang, "scorer": "lexicon"})

    def score(self, features: dict[str, float]) -> tuple[str, float]:
        if self.scorer == "lexicon":
            s = features.get("lex+", 0) + features.get("emo+", 0) - features.get("lex-", 0) - features.get("emo-", 0)
            return ("positive", 1.0) if s > 0 else ("negative", 1.0) if s < 0 else ("neutral", 1.0)
        if len(self.classes) == 3:  # the common case, unrolled: this runs once per hit
            z0, z1, z2 = self.intercept
            weights = self.weights
            for name, v in features.items():
                w = weights.get(name)
                if w is not None:
                    z0 += v * w[0]
                    z1 += v * w[1]
                    z2 += v * w[2]
            z = [z0, z1, z2]
        else:
            z = list(self.intercept)
            for name, v in features.items():
                w = self.weights.get(name)
                if w is not None:
                    for j in range(len(z)):
                        z[j] += v * w[j]
        top = max(z)
        e = [math.exp(x - top) for x in z]
        j = e.index(1.0)
        return self.classes[j], 1.0 / sum(e)


def detector_features(toks: Tokens, categories: set[str]) -> list[str]:
    """The detector's view of a post: its word stems, stem bigrams and the categories its vocabulary hits name."""
    words = [k for k, kind in zip(toks.keys, toks.kinds) if kind not in _NOT_WORDS]
    feats = ["w:" + w for w in words]
    feats += ["b:" + a + " " + b for a, b in zip(words, words[1:])]
    feats += ["v:" + c for c in categories]
    return feats


class Detector:
    """Per-category logistic scores over ``detector_features``; thresholds chosen in training by cross-validation.

    A vocabulary hit of category c is kept when p(c) >= ``keep``; a category without a hit
    is added when p(c) >= ``add``.
    """

    def __init__(self, spec: dict):
        self.spec = spec
        self.categories = tuple(spec["categories"])
        self.keep = float(spec["keep"])
        self.add = float(spec["add"])
        names = spec["features"]
        self.index = {n: i for i, n in enumerate(names)}
        self.weights = np.asarray(spec["weights"], dtype=np.float32).reshape(len(names), len(self.categories))
        self.intercept = np.asarray(spec["intercept"], dtype=np.float32)

    def probabilities(self, posts: list[list[str]]) -> np.ndarray:
        index = self.index
        rows, cols = [], []
        for i, feats in enumerate(posts):
            for j in {index[f] for f in feats if f in index}:
                rows.append(i)
                cols.append(j)
        x = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(posts), len(index)))
        return 1.0 / (1.0 + np.exp(-(np.asarray(x @ self.weights) + self.intercept)))
