"""Aspects of a post (support, price, speed...), each with the polarity of the clause that names it.

``AspectTagger.tag(texts, langs)`` -> per text a list of ``AspectHit(category, polarity, start,
end, term)``. Two steps, both explainable:

1. **Vocabulary** (the primary mechanism): a catalog's ``aspects:`` section lists, per
   category and language, the terms that signal it (``pipelines/data/catalog.yaml`` for the
   project's sectors, ``pipelines/data/aspects/*.yaml`` for the research domains). Matching is
   on light stems of folded tokens (``stem``: case, accents, elongation "carooo", Italian
   final vowels and "-issimo", English plurals and "-ed/-ing"), so listed words cover their
   inflections; "term*" matches any token starting with the term; camelCase hashtags are split
   ("#ServizioClienti" -> servizio clienti) and a hashtag equal to a multi-word term written
   solid ("#servizioclienti") matches it. A hit's span is the term in the original text.
2. **Polarity of the clause**: the post is cut into clauses at sentence punctuation (and
   commas, if the trained model chose it) and before contrast words ("ma", "però", "but",
   "however"...: ``lexicon.CONTRAST_WORDS``). A negator ("non", "not"...) marks the next words
   of its clause, flipping their lexicon polarity. The clause's features (``clause_features``)
   are scored by a small linear model per language (``pipelines/nlp/models/aspects/``, trained
   by ``python -m pipelines.nlp.aspects_train``), or by the lexicon when no model is shipped.

A catalog may also ship a **detector** (one linear score per category over the post's words and
its vocabulary hits). Training chooses by cross-validation whether it is used: it may drop a
vocabulary hit it is confident is spurious ("camera" in "camera di commercio") and add a
category no listed term names; such a hit has ``term == ""`` and spans the whole post.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml

from pipelines.catalog import Mention, MentionMatcher, load_catalog
from pipelines.nlp import lexicon as lx
from pipelines.text import fold

__all__ = ["AspectHit", "AspectTagger", "AspectVocabulary", "POLARITIES", "load_vocabulary", "stem"]

POLARITIES = ("negative", "neutral", "positive")
MODELS_DIR = "models/aspects"
PROJECT = "project"  # the packaged brand catalog's vocabulary

_ELONG = re.compile(r"(\w)\1{2,}")
_CAMEL = re.compile(r"#(\w+)")
_CAMEL_CUT = re.compile(r"(?<=[a-zà-ÿ0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-zà-ÿ])")
_EMOTICON = r"(?:>?[:;=]'?-?[()dp/\\\[\]|@s])|<3|</3|\^\^|\^_\^|-_-"
_TOKEN = {
    "it": re.compile(_EMOTICON + r"|\w+|[^\w\s]"),
    "en": re.compile(_EMOTICON + r"|[^\W_]+n['\u2019]t|\w+|[^\w\s]"),  # keeps "don't" whole: a negator
}
_EMOTICONS_POS = frozenset(fold(e) for e in lx.EMOTICONS_POSITIVE)
_EMOTICONS_NEG = frozenset(fold(e) for e in lx.EMOTICONS_NEGATIVE)
_SENTENCE_END = frozenset(".!?;:\n")


@dataclass(frozen=True)
class AspectHit:
    category: str
    polarity: str  # negative | neutral | positive
    start: int  # text[start:end] is the term as written; the whole post for a detector-only hit
    end: int
    term: str  # the catalog term that matched ("" when only the detector found the category)
    confidence: float = 1.0  # the polarity model's probability of ``polarity``


def stem(token: str, lang: str) -> str:
    """Light stem of a folded token: 'pulitissime' -> 'pulit', 'prezzi' -> 'prezz', 'charged' -> 'charg'.

    Deliberately crude and predictable (catalog authors must be able to guess it): Italian drops
    '-issim-' and the final vowels; English drops a possessive, plural '-s/-es/-ies', '-ing',
    '-ed' and a final 'e'. Stems keep at least three letters.
    """
    if len(token) < 4 or not token.isalpha():
        return token
    if lang == "en":
        t = token
        if t.endswith("ies") and len(t) > 4:
            t = t[:-3] + "y"
        elif t.endswith("sses") or t.endswith("xes") or t.endswith("ches") or t.endswith("shes"):
            t = t[:-2]
        elif t.endswith("s") and not t.endswith(("ss", "us", "is")):
            t = t[:-1]
        for suffix in ("ing", "ed"):
            if t.endswith(suffix) and len(t) - len(suffix) >= 3:
                t = t[: -len(suffix)]
                break
        if t.endswith("e") and len(t) > 3:
            t = t[:-1]
        return t
    t = token
    for suffix in ("issimo", "issima", "issimi", "issime"):
        if t.endswith(suffix) and len(t) - len(suffix) >= 3:
            t = t[: -len(suffix)]
            break
    end = len(t)
    while end > 3 and t[end - 1] in "aeiou":
        end -= 1
    return t[:end]


@dataclass(frozen=True)
class AspectVocabulary:
    """A catalog's aspect terms: ``terms[lang][category]`` -> the terms as written in the YAML."""

    name: str
    categories: tuple[str, ...]
    terms: dict[str, dict[str, tuple[str, ...]]]
    source: str = ""

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.terms)


def _read_yaml(path: Path | None) -> tuple[dict, str]:
    if path is None:
        text = resources.files("pipelines").joinpath("data", "catalog.yaml").read_text(encoding="utf-8")
        return yaml.safe_load(text), "the packaged catalog"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
    except OSError as exc:
        raise ValueError(f"cannot read aspect catalog {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None


def load_vocabulary(catalog: str | Path | None = None) -> AspectVocabulary:
    """The ``aspects:`` section of a catalog: None/'project' = packaged, 'hotel'/'restaurant' = research, or a path.

    Layout (documented in ``pipelines/data/aspects/README.md``)::

        aspects:
          name: project
          categories:
            price:
              it: [prezzo, costo, "rapporto qualità prezzo", tariff*]
              en: [price, cost, expensive]
    """
    if catalog in (None, PROJECT):
        path = None
    elif isinstance(catalog, str) and "/" not in catalog and not catalog.endswith((".yaml", ".yml")):
        path = Path(str(resources.files("pipelines").joinpath("data", "aspects", f"{catalog}.yaml")))
    else:
        path = Path(catalog)
    doc, source = _read_yaml(path)
    section = doc.get("aspects") if isinstance(doc, dict) else None
    if not isinstance(section, dict) or not isinstance(section.get("categories"), dict) or not section["categories"]:
        raise ValueError(f"{source} has no 'aspects:' section with a non-empty 'categories' mapping")
    terms: dict[str, dict[str, tuple[str, ...]]] = {}
    for category, by_lang in section["categories"].items():
        if not isinstance(by_lang, dict):
            raise ValueError(f"{source}: aspect category {category!r} must map languages to term lists")
        for lang, words in by_lang.items():
            if lang not in _TOKEN:
                raise ValueError(f"{source}: aspect category {category!r} has terms for unsupported language {lang!r}")
            terms.setdefault(lang, {})[category] = tuple(str(w) for w in words or ())
    name = str(section.get("name") or (path.stem if path else PROJECT))
    return AspectVocabulary(name, tuple(section["categories"]), terms, source)


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    key: str  # stem (matching and model features)
    kind: int  # lexicon token kind (lexicon.token_kind), after emoticon mapping
    alt: str | None  # stem with elongations cut to one letter ("slooow" -> "slow"), for elongated tokens


@dataclass
class _LangIndex:
    first: dict[str, list[tuple[tuple[str, ...], str, str]]] = field(default_factory=dict)  # stem -> [(stems, category, term)]
    prefixes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # prefix -> [(category, term)]
    solid: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # "servizioclienti" -> [(category, term)]
    prefix_lengths: tuple[int, ...] = ()


def _build_index(vocab: AspectVocabulary, lang: str) -> _LangIndex:
    index = _LangIndex()
    for category, words in vocab.terms.get(lang, {}).items():
        for term in words:
            folded = fold(term).strip()
            if folded.endswith("*"):
                index.prefixes.setdefault(folded[:-1], []).append((category, term))
                continue
            toks = [m.group(0) for m in _TOKEN[lang].finditer(folded)]
            if not toks:
                continue
            stems = tuple(stem(t, lang) for t in toks)
            index.first.setdefault(stems[0], []).append((stems, category, term))
            if len(toks) > 1:
                index.solid.setdefault("".join(t for t in toks if t.isalnum()), []).append((category, term))
    index.prefix_lengths = tuple(sorted({len(p) for p in index.prefixes}))
    return index


def tokens(text: str, lang: str) -> tuple[str, list[_Token]]:
    """(folded text, tokens with offsets into ``text``); camelCase hashtags split into their words."""
    folded = fold(text)
    if len(folded) != len(text):  # lower() changed a length (rare): fold char by char to keep offsets
        folded = "".join(fold(c)[:1] or c for c in text)
    cuts: list[int] = []
    if "#" in text:
        for m in _CAMEL.finditer(text):
            cuts.extend(m.start(1) + c.start() for c in _CAMEL_CUT.finditer(m.group(1)))
    lang = lang if lang in _TOKEN else "it"
    out = []
    cache = _TOKEN_CACHES[lang]  # the hot loop: one dict lookup per token, no call
    for m in _TOKEN[lang].finditer(folded):
        a, b = m.span()
        if cuts and any(a < c < b for c in cuts):
            bounds = [a, *sorted(c for c in cuts if a < c < b), b]
            out.extend(_token(folded[x:y], x, y, lang) for x, y in zip(bounds, bounds[1:]))
            continue
        t = m.group(0)
        info = cache.get(t)
        if info is None:
            out.append(_token(t, a, b, lang))
        else:
            out.append(_Token(a, b, *info))
    return folded, out


_TOKEN_CACHES: dict[str, dict[str, tuple[str, int, str | None]]] = {lang: {} for lang in _TOKEN}


def _token(t: str, a: int, b: int, lang: str) -> _Token:
    cache = _TOKEN_CACHES[lang]
    info = cache.get(t)
    if info is None:
        if len(cache) > 200_000:
            cache.clear()
        info = cache[t] = _token_info(t, lang)
    return _Token(a, b, *info)


def _token_info(t: str, lang: str) -> tuple[str, int, str | None]:
    """(stem, lexicon kind, stem of the one-letter form or None) of a folded token."""
    if t in _EMOTICONS_POS:
        return t, lx.EMOJI_POS, None
    if t in _EMOTICONS_NEG:
        return t, lx.EMOJI_NEG, None
    t = t.replace("\u2019", "'")
    two = _ELONG.sub(r"\1\1", t) if len(t) > 2 else t
    one = _ELONG.sub(r"\1", t) if two != t else None
    kind = lx.token_kind(two, lang)
    if one is not None and kind == lx.PLAIN:
        kind = lx.token_kind(one, lang)
    return stem(two, lang), kind, stem(one, lang) if one is not None else None


def _word_kind(kind: int) -> bool:
    return kind not in (lx.CLAUSE_END, lx.MARK)


def find_terms(folded: str, toks: list[_Token], index: _LangIndex, masked: set[int] | None = None) -> list[tuple[int, int, str, str]]:
    """Vocabulary hits as (first token, end token, category, term); overlaps go to the longer term.

    Tokens in ``masked`` (inside a brand or product mention: "Dolce Forno" is not about taste)
    never match.
    """
    found = []
    first = index.first
    n = len(toks)
    for i, tok in enumerate(toks):
        if masked and i in masked:
            continue
        cands = first.get(tok.key)
        if cands is None and tok.alt is not None:
            cands = first.get(tok.alt)
        if cands:
            for stems, category, term in cands:
                k = len(stems)
                if k == 1 or (
                    i + k <= n
                    and all(
                        (toks[i + j].key == stems[j] or toks[i + j].alt == stems[j]) and not (masked and i + j in masked)
                        for j in range(1, k)
                    )
                ):
                    found.append((i, i + k, category, term))
        if index.prefix_lengths and tok.end - tok.start >= index.prefix_lengths[0]:
            word = folded[tok.start : tok.end]
            for length in index.prefix_lengths:
                for category, term in index.prefixes.get(word[:length], ()):
                    found.append((i, i + 1, category, term))
        if index.solid and tok.start and folded[tok.start - 1] == "#":
            for category, term in index.solid.get(folded[tok.start : tok.end], ()):
                found.append((i, i + 1, category, term))
    if len(found) > 1:
        found.sort(key=lambda h: (h[0] - h[1], h[0]))
        taken: list[tuple[int, int, str, str]] = []
        for h in found:
            if all(h[1] <= t[0] or h[0] >= t[1] or h[2] == t[2] for t in taken):
                if not any(h[2] == t[2] and h[0] >= t[0] and h[1] <= t[1] for t in taken):  # one hit per span and category
                    taken.append(h)
        found = sorted(taken)
    return found


def clauses(toks: list[_Token], split_commas: bool) -> list[tuple[int, int]]:
    """Token ranges of the clauses: cut after sentence punctuation (and commas) and before contrast words."""
    out = []
    start = 0
    for i, tok in enumerate(toks):
        k = tok.kind
        if k == lx.CONTRAST and i > start:
            out.append((start, i))
            start = i
        elif k == lx.MARK or (k == lx.CLAUSE_END and (split_commas or tok.key != ",")):
            if i + 1 > start:
                out.append((start, i + 1))
            start = i + 1
    if start < len(toks):
        out.append((start, len(toks)))
    return out or [(0, len(toks))]


def negation_marks(toks: list[_Token], window: int) -> list[bool]:
    """Per token: is it inside a negation scope (the ``window`` words after a negator, up to punctuation)?"""
    marks = [False] * len(toks)
    scope = 0
    for i, tok in enumerate(toks):
        k = tok.kind
        if k == lx.NEGATOR:
            scope = window
        elif k == lx.CLAUSE_END or k == lx.MARK or k == lx.CONTRAST:
            scope = 0
        elif scope:
            marks[i] = True
            scope -= 1
    return marks


def _signals(toks: list[_Token], marks: list[bool], a: int, b: int) -> tuple[float, float, float, float]:
    """(lexicon +, lexicon -, emoji +, emoji -) of tokens [a, b): negation flips, an intensifier weighs 1.5."""
    lp = ln = ep = en = 0.0
    boost = False
    for i in range(a, b):
        k = toks[i].kind
        if k == lx.POSITIVE or k == lx.NEGATIVE or k == lx.INSULT:
            w = 1.5 if boost else 1.0
            if (k == lx.POSITIVE) != marks[i]:
                lp += w
            else:
                ln += w
        elif k == lx.EMOJI_POS:
            ep += 1
        elif k == lx.EMOJI_NEG:
            en += 1
        boost = k == lx.INTENSIFIER
    return lp, ln, ep, en


def clause_features(toks: list[_Token], marks: list[bool], a: int, b: int, category: str, post: tuple) -> dict[str, float]:
    """Features of the clause [a, b) that names ``category``, for the polarity model.

    Words of the clause (stems; '~' marks a negated one), the clause's lexicon and emoji
    polarity, its '?' and '!', whether it opens with a contrast word, the category, and the
    post's own lexicon/emoji polarity and '?' as weaker context (``post``, from ``_post_context``).
    """
    f: dict[str, float] = {"c:" + category: 1.0}
    for i in range(a, b):
        tok = toks[i]
        if _word_kind(tok.kind):
            name = ("w:~" if marks[i] else "w:") + tok.key
            f[name] = 1.0
        elif tok.key == "?":
            f["q"] = 1.0
        elif tok.key == "!":
            f["excl"] = 1.0
    lp, ln, ep, en = _signals(toks, marks, a, b)
    for name, v in (("lex+", lp), ("lex-", ln), ("emo+", ep), ("emo-", en)):
        if v:
            f[name] = min(v, 3.0)
    if lp > ln:
        f["lex>"] = 1.0
    elif ln > lp:
        f["lex<"] = 1.0
    if toks[a].kind == lx.CONTRAST:
        f["contrast"] = 1.0
    for name, v in zip(("p_lex+", "p_lex-", "p_emo+", "p_emo-", "p_q"), post):
        if v:
            f[name] = min(v, 3.0)
    return f


def _post_context(toks: list[_Token], marks: list[bool]) -> tuple[float, ...]:
    lp, ln, ep, en = _signals(toks, marks, 0, len(toks))
    return lp, ln, ep, en, float(any(t.key == "?" for t in toks))


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


def detector_features(toks: list[_Token], categories: set[str]) -> list[str]:
    """The detector's view of a post: its word stems, stem bigrams and the categories its vocabulary hits name."""
    words = [t.key for t in toks if _word_kind(t.kind)]
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
        self._index = {lang: _build_index(vocabulary, lang) for lang in vocabulary.languages}
        merged = AspectVocabulary(
            vocabulary.name,
            vocabulary.categories,
            {
                lang: {c: tuple(w for t in vocabulary.terms.values() for w in t.get(c, ())) for c in vocabulary.categories}
                for lang in _TOKEN
            },
        )
        self._fallback = {lang: _build_index(merged, lang) for lang in _TOKEN}

    @classmethod
    def load(cls, catalog: str | Path | None = None, directory: Path | None = None) -> AspectTagger:
        """Vocabulary of ``catalog`` (see ``load_vocabulary``) + the models shipped for it in ``directory``."""
        vocab = load_vocabulary(catalog)
        directory = directory or models_dir()
        polarity = {}
        for lang in _TOKEN:
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

    def tag(self, texts: list[str], langs: list[str], mentions: list[list[Mention]] | None = None) -> list[list[AspectHit]]:
        """Aspect hits per text; ``mentions`` (``MentionMatcher.spans`` per text) saves matching them again."""
        prepared = [
            self.terms(text or "", lang, mentions[n] if mentions is not None else None) for n, (text, lang) in enumerate(zip(texts, langs))
        ]
        probs = None
        if self.detector is not None:
            probs = self.detector.probabilities([detector_features(toks, {h[2] for h in found}) for _, _, toks, found in prepared])
        out = []
        for n, (text, lang, toks, found) in enumerate(prepared):
            if probs is not None:
                found, added = self._decide(found, probs[n])
            else:
                added = ()
            out.append(self._polarities(text, lang, toks, found, added) if found or added else [])
        return out

    def terms(self, text: str, lang: str, mentions: list[Mention] | None = None) -> tuple[str, str, list[_Token], list]:
        """(text, language used, tokens, vocabulary hits as (first token, end token, category, term)): step 1 alone."""
        tl = lang if lang in _TOKEN else (self.vocabulary.languages or ("it",))[0]
        folded, toks = tokens(text, tl)
        index = self._index.get(lang) or self._fallback[tl]
        spans = mentions if mentions is not None else self.mentions.spans(text) if self.mentions is not None else ()
        masked = {i for i, t in enumerate(toks) for m in spans if m.start <= t.start and t.end <= m.end} if spans else None
        return text, tl, toks, find_terms(folded, toks, index, masked)

    def _decide(self, found: list, p: np.ndarray) -> tuple[list, list[str]]:
        d = self.detector
        col = {c: i for i, c in enumerate(d.categories)}
        kept = [h for h in found if h[2] not in col or p[col[h[2]]] >= d.keep]
        named = {h[2] for h in kept} | {h[2] for h in found}
        added = [c for c, i in col.items() if c not in named and p[i] >= d.add]
        return kept, added

    def _polarities(self, text: str, lang: str, toks: list[_Token], found: list, added) -> list[AspectHit]:
        model = self._model(lang)
        marks = negation_marks(toks, model.negation_window)
        spans = clauses(toks, model.split_commas)
        post = _post_context(toks, marks)
        hits = []
        seen: dict[tuple[int, int, str], tuple[str, float]] = {}  # a clause naming a category twice is scored once
        for i, j, category, term in found:
            a, b = next(((a, b) for a, b in spans if a <= i < b), (0, len(toks)))
            key = (a, max(b, j), category)
            scored = seen.get(key)
            if scored is None:
                scored = seen[key] = model.score(clause_features(toks, marks, a, key[1], category, post))
            polarity, confidence = scored
            hits.append(AspectHit(category, polarity, toks[i].start, toks[j - 1].end, term, round(confidence, 4)))
        for category in added:
            polarity, confidence = model.score(clause_features(toks, marks, 0, len(toks), category, post)) if toks else ("neutral", 1.0)
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
