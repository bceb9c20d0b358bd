"""Aspects of a post (support, price, speed...), each with the polarity of the clause that names it.

``AspectTagger.tag(texts, langs)`` -> per text a list of ``AspectHit(category, polarity, start,
end, term)``. Two steps, both explainable:

1. **Vocabulary** (the primary mechanism, ``aspects_vocabulary``): a catalog's ``aspects:``
   section lists, per category and language, the terms that signal it
   (``pipelines/data/catalog.yaml`` for the project's sectors, ``pipelines/data/aspects/*.yaml``
   for the research domains). Matching is on light stems of folded tokens (``aspects_tokens``:
   case, accents, elongation "carooo", Italian final vowels and "-issimo", English plurals and
   "-ed/-ing"), so listed words cover their inflections; "term*" matches any token starting
   with the term; camelCase hashtags are split ("#ServizioClienti" -> servizio clienti) and a
   hashtag equal to a multi-word term written solid ("#servizioclienti") matches it. A hit's
   span is the term in the original text.
2. **Polarity of the clause** (``aspects_polarity``): the clause that names the term (cut at
   sentence punctuation, commas if the model chose it, and before contrast words), its
   negation scopes and lexicon cues, scored by a small linear model per language
   (``pipelines/nlp/models/aspects/``, trained by ``python -m pipelines.nlp.aspects_train``),
   or by the lexicon when no model is shipped.

A catalog may also ship a **detector** (one linear score per category over the post's words and
its vocabulary hits). Training chooses by cross-validation whether it is used: it may drop a
vocabulary hit it is confident is spurious ("camera" in "camera di commercio") and add a
category no listed term names; such a hit has ``term == ""`` and spans the whole post.

Cost: without a detector, a post whose words can start no term (two in three, in customer
care) is ruled out from the words the enrichment already split (``may_match``) and costs a few
dictionary lookups; the others are tokenised and scored.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from pipelines.catalog import Mention, MentionMatcher, load_catalog
from pipelines.nlp import lexicon as lx
from pipelines.nlp.aspects_polarity import (
    POLARITIES,
    Detector,
    PolarityModel,
    clause_features,
    clauses,
    detector_features,
    negation_marks,
    post_context,
)
from pipelines.nlp.aspects_tokens import TOKEN_PATTERNS, Tokens, stem, tokens
from pipelines.nlp.aspects_vocabulary import PROJECT, AspectVocabulary, build_index, find_terms, load_vocabulary, may_match
from pipelines.text import fold, tokenize

__all__ = [
    "POLARITIES",
    "AspectHit",
    "AspectTagger",
    "AspectVocabulary",
    "Detector",
    "PolarityModel",
    "Tokens",
    "clause_features",
    "clauses",
    "detector_features",
    "find_terms",
    "load_vocabulary",
    "negation_marks",
    "post_context",
    "stem",
    "tokens",
]

MODELS_DIR = "models/aspects"
_post_context = post_context  # the name aspects_train used first


@dataclass(frozen=True)
class AspectHit:
    category: str
    polarity: str  # negative | neutral | positive
    start: int  # text[start:end] is the term as written; the whole post for a detector-only hit
    end: int
    term: str  # the catalog term that matched ("" when only the detector found the category)
    confidence: float = 1.0  # the polarity model's probability of ``polarity``


def models_dir() -> Path:
    return Path(str(resources.files("pipelines.nlp").joinpath(*MODELS_DIR.split("/"))))


class AspectTagger:
    """Aspect hits per post from a vocabulary, a polarity model per language and an optional detector.

    ``AspectTagger.load(catalog)`` builds one with the shipped models; a language the vocabulary
    has no terms for uses the terms of all its languages, and a language without a polarity model
    the lexicon (or the first language's model when the lexicon does not know the language).
    """

    def __init__(
        self,
        vocabulary: AspectVocabulary,
        polarity: dict[str, PolarityModel] | None = None,
        detector: Detector | None = None,
        mentions: MentionMatcher | None = None,
    ):
        self.vocabulary = vocabulary
        self.polarity = dict(polarity or {})
        self.detector = detector
        self.mentions = mentions  # brand/product names are masked from aspect terms
        self._index = {lang: build_index(vocabulary, lang) for lang in vocabulary.languages}
        merged = AspectVocabulary(
            vocabulary.name,
            vocabulary.categories,
            {
                lang: {c: tuple(w for t in vocabulary.terms.values() for w in t.get(c, ())) for c in vocabulary.categories}
                for lang in TOKEN_PATTERNS
            },
        )
        self._fallback = {lang: build_index(merged, lang) for lang in TOKEN_PATTERNS}

    @classmethod
    def load(cls, catalog: str | Path | None = None, directory: Path | None = None) -> AspectTagger:
        """Vocabulary of ``catalog`` (see ``load_vocabulary``) + the models shipped for it in ``directory``."""
        vocab = load_vocabulary(catalog)
        directory = directory or models_dir()
        polarity = {}
        for lang in TOKEN_PATTERNS:
            path = directory / f"polarity_{lang}.json"
            polarity[lang] = PolarityModel(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else PolarityModel.lexicon(lang)
        path = directory / f"detector_{vocab.name}.json"
        detector = None
        if path.is_file():
            spec = json.loads(path.read_text(encoding="utf-8"))
            detector = Detector(spec) if spec.get("use", True) else None
        mentions = MentionMatcher(load_catalog()) if catalog in (None, PROJECT) else None
        return cls(vocab, polarity, detector, mentions)

    def _model(self, lang: str) -> PolarityModel:
        model = self.polarity.get(lang)
        if model is None:
            model = self.polarity[lang] = PolarityModel.lexicon(lang if lang in lx.KINDS else "it")
        return model

    def _token_lang(self, lang: str) -> str:
        return lang if lang in TOKEN_PATTERNS else (self.vocabulary.languages or ("it",))[0]

    def tag(
        self,
        texts: list[str],
        langs: list[str],
        mentions: list[list[Mention]] | None = None,
        prepared: list[tuple[str, list[str]]] | None = None,
    ) -> list[list[AspectHit]]:
        """Aspect hits per text. ``mentions`` (``MentionMatcher.spans`` per text) saves matching them
        again; ``prepared`` (per text ``fold(text)`` and ``pipelines.text.tokenize`` of it, as the
        enrichment makes them) saves folding and lets posts that name no term be ruled out."""
        if self.detector is not None:
            return self._tag_with_detector(texts, langs, mentions)
        out: list[list[AspectHit]] = []
        for n, (text, lang) in enumerate(zip(texts, langs)):
            text = text or ""
            if prepared is not None:
                folded, words = prepared[n]
            else:
                folded = fold(text)
                words = tokenize(folded)
            tl = self._token_lang(lang)
            if not may_match(text, folded, words, self._index.get(lang) or self._fallback[tl]):
                out.append([])
                continue
            if mentions is not None:
                spans = mentions[n]
            elif self.mentions is not None:
                spans = self.mentions.spans_tokens(text, folded, words)
            else:
                spans = []
            _, tl, toks, found = self.terms(text, lang, spans, folded)
            out.append(self._polarities(text, tl, toks, found, ()) if found else [])
        return out

    def _tag_with_detector(self, texts: list[str], langs: list[str], mentions: list[list[Mention]] | None) -> list[list[AspectHit]]:
        prepared = [
            self.terms(text or "", lang, mentions[n] if mentions is not None else None) for n, (text, lang) in enumerate(zip(texts, langs))
        ]
        probs = self.detector.probabilities([detector_features(toks, {h[2] for h in found}) for _, _, toks, found in prepared])
        out = []
        for n, (text, lang, toks, found) in enumerate(prepared):
            found, added = self._decide(found, probs[n])
            out.append(self._polarities(text, lang, toks, found, added) if found or added else [])
        return out

    def terms(
        self, text: str, lang: str, mentions: list[Mention] | None = None, folded: str | None = None
    ) -> tuple[str, str, Tokens, list[tuple[int, int, str, str]]]:
        """(text, language used, tokens, vocabulary hits as (first token, end token, category, term)): step 1 alone.
        ``folded`` is ``fold(text)`` when the caller has it."""
        tl = self._token_lang(lang)
        toks = tokens(text, tl, folded)
        index = self._index.get(lang) or self._fallback[tl]
        spans = mentions if mentions is not None else self.mentions.spans(text) if self.mentions is not None else ()
        masked = None
        if spans:  # tokens are in order and do not overlap: those inside a mention are a range
            masked = set()
            for m in spans:
                masked.update(range(bisect_left(toks.starts, m.start), bisect_right(toks.ends, m.end)))
        return text, tl, toks, find_terms(toks, index, masked)

    def _decide(self, found: list, p: np.ndarray) -> tuple[list, list[str]]:
        d = self.detector
        col = {c: i for i, c in enumerate(d.categories)}
        kept = [h for h in found if h[2] not in col or p[col[h[2]]] >= d.keep]
        named = {h[2] for h in kept} | {h[2] for h in found}
        added = [c for c, i in col.items() if c not in named and p[i] >= d.add]
        return kept, added

    def _polarities(self, text: str, lang: str, toks: Tokens, found: list, added) -> list[AspectHit]:
        model = self._model(lang)
        marks = negation_marks(toks, model.negation_window)
        spans = clauses(toks, model.split_commas)
        post = post_context(toks, marks)
        hits = []
        seen: dict[tuple[int, int, str], tuple[str, float]] = {}  # a clause naming a category twice is scored once
        starts, ends = toks.starts, toks.ends
        for i, j, category, term in found:
            a, b = next(((a, b) for a, b in spans if a <= i < b), (0, len(toks)))
            key = (a, max(b, j), category)
            scored = seen.get(key)
            if scored is None:
                scored = seen[key] = model.score(clause_features(toks, marks, a, key[1], category, post))
            polarity, confidence = scored
            hits.append(AspectHit(category, polarity, starts[i], ends[j - 1], term, round(confidence, 4)))
        for category in added:
            polarity, confidence = (
                model.score(clause_features(toks, marks, 0, len(toks), category, post)) if len(toks) else ("neutral", 1.0)
            )
            hits.append(AspectHit(category, polarity, 0, len(text), "", round(confidence, 4)))
        return hits

    @staticmethod
    def summarise(hits: list[AspectHit]) -> dict[str, str]:
        """One polarity per category of a post: the most frequent among its hits, ties to the most confident."""
        votes: dict[str, dict[str, float]] = {}
        for h in hits:
            v = votes.setdefault(h.category, {})
            v[h.polarity] = v.get(h.polarity, 0.0) + 1.0 + h.confidence / 10
        return {c: max(v, key=v.__getitem__) for c, v in votes.items()}
