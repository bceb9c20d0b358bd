"""Aspect vocabularies: loading a catalog's ``aspects:`` section and finding its terms in a post.

``load_vocabulary(catalog)`` -> ``AspectVocabulary`` (terms per language and category, as
written in the YAML). ``build_index(vocabulary, lang)`` -> ``LangIndex``: the terms by the stem
of their first token, the ``term*`` prefixes, and the multi-word terms written solid (for
hashtags). ``find_terms(tokens, index)`` -> the hits of one post; ``may_match`` tells from the
words the enrichment already split whether a post can have any hit at all, so that the
two posts in three that name no aspect cost a few dictionary lookups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain, compress
from pathlib import Path

import yaml

from pipelines.nlp.aspects_tokens import _CACHES, TOKEN_PATTERNS, Tokens, camel_cuts, stem
from pipelines.text import fold

__all__ = ["AspectVocabulary", "LangIndex", "PROJECT", "build_index", "find_terms", "load_vocabulary", "may_match"]

PROJECT = "project"  # the packaged brand catalog's vocabulary
_WORD = re.compile(r"\w+")
# Where the aspect tokens are not the text's \w+ words: an emoticon that swallows the first
# letter or digit of a word (":Dprezzo", "<3rete"), and English "n't" glued to a word ("don'tx").
_CACHE_MAX = 200_000
_NONE: frozenset[frozenset[str]] = frozenset()
# Written to start with a character class (the regex engine then skips to candidates fast):
# it = (?:[:;=]'?-?[dps]|</?3)\w, en = the same or n['’]t\w.
_SPLITS_WORDS = {
    "it": re.compile(r"[:;=<](?:(?<=[:;=])'?-?[dps]|(?<=<)/?3)\w"),
    "en": re.compile(r"['\u2019:;=<](?:(?<=n['\u2019])t|(?<=[:;=])'?-?[dps]|(?<=<)/?3)\w"),
}


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
            if lang not in TOKEN_PATTERNS:
                raise ValueError(f"{source}: aspect category {category!r} has terms for unsupported language {lang!r}")
            terms.setdefault(lang, {})[category] = tuple(str(w) for w in words or ())
    name = str(section.get("name") or (path.stem if path else PROJECT))
    return AspectVocabulary(name, tuple(section["categories"]), terms, source)


class _Starts(dict):
    """Folded word -> can a hit start at it (its stem starts a term, a prefix or a solid form matches)?"""

    def __init__(self, index: LangIndex):
        super().__init__()
        self.index = index

    def __missing__(self, word: str) -> bool:
        index = self.index
        key, _, alt, _ = _CACHES[index.lang][word]
        hit = key in index.first or (alt is not None and alt in index.first) or _prefix_or_solid(word, index)
        if len(self) > _CACHE_MAX:
            self.clear()
        self[word] = hit
        return hit


class _Parts(dict):
    """Folded word -> True if it alone may make a hit (a one-word term, a prefix, a solid form), else the
    stem sets of the multi-word terms it may be part of (empty: none). Frozensets cache their hash:
    posts put these values in a set."""

    def __init__(self, index: LangIndex):
        super().__init__()
        self.index = index

    def __missing__(self, word: str) -> bool | frozenset[frozenset[str]]:
        index = self.index
        key, _, alt, _ = _CACHES[index.lang][word]
        found: bool | frozenset[frozenset[str]]
        if key in index.singles or (alt is not None and alt in index.singles) or _prefix_or_solid(word, index):
            found = True
        else:
            found = index.multi.get(key, _NONE) | (index.multi.get(alt, _NONE) if alt is not None else _NONE)
        if len(self) > _CACHE_MAX:
            self.clear()
        self[word] = found
        return found


def _prefix_or_solid(word: str, index: LangIndex) -> bool:
    if word in index.solid:
        return True
    lengths = index.prefix_lengths
    return bool(lengths) and len(word) >= lengths[0] and any(word[:n] in index.prefixes for n in lengths)


@dataclass
class LangIndex:
    lang: str
    first: dict[str, list[tuple[tuple[str, ...], str, str]]] = field(default_factory=dict)  # stem -> [(stems, category, term)]
    prefixes: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # prefix -> [(category, term)]
    solid: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # "servizioclienti" -> [(category, term)]
    prefix_lengths: tuple[int, ...] = ()
    singles: set[str] = field(default_factory=set)  # stems of the one-token terms
    multi: dict[str, frozenset[frozenset[str]]] = field(default_factory=dict)  # word stem -> word stem sets of its multi-token terms
    words_suffice: bool = True  # every term has a \w+ word, every prefix is one: ``may_match`` may rule posts out
    starts: _Starts = field(init=False, repr=False, compare=False)
    parts: _Parts = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.starts = _Starts(self)
        self.parts = _Parts(self)


def build_index(vocab: AspectVocabulary, lang: str) -> LangIndex:
    index = LangIndex(lang)
    for category, words in vocab.terms.get(lang, {}).items():
        for term in words:
            folded = fold(term).strip()
            if folded.endswith("*"):
                index.prefixes.setdefault(folded[:-1], []).append((category, term))
                continue
            toks = [m.group(0) for m in TOKEN_PATTERNS[lang].finditer(folded)]
            if not toks:
                continue
            stems = tuple(stem(t, lang) for t in toks)
            index.first.setdefault(stems[0], []).append((stems, category, term))
            if len(toks) > 1:
                index.solid.setdefault("".join(t for t in toks if t.isalnum()), []).append((category, term))
                required = frozenset(s for s in stems if _WORD.fullmatch(s))  # every hit has these stems
                index.words_suffice &= bool(required)
                for s in required:
                    index.multi[s] = index.multi.get(s, _NONE) | {required}
            else:
                index.singles.add(stems[0])
                index.words_suffice &= bool(_WORD.fullmatch(stems[0]))
    index.prefix_lengths = tuple(sorted({len(p) for p in index.prefixes}))
    index.words_suffice &= all(_WORD.fullmatch(p) for p in index.prefixes)
    return index


def may_match(text: str, folded: str, words: list[str], index: LangIndex) -> bool:
    """False only if ``find_terms`` certainly finds nothing in ``text``, given ``folded = fold(text)``
    and ``words = pipelines.text.tokenize(folded)``; True when a hit is possible.

    The aspect tokens that are words are these words, but for the cases that return True at
    once, and camelCase hashtags, whose parts are added. A post may have a hit if one of its
    words makes one alone, or if it has every word stem of some multi-word term."""
    parts = set(map(index.parts.__getitem__, words))
    if True in parts or not index.words_suffice or len(folded) != len(text) or _SPLITS_WORDS[index.lang].search(folded):
        return True
    cuts = camel_cuts(text)
    if cuts:
        bounds = [0, *cuts, len(folded)]
        words = _WORD.findall(" ".join(folded[a:b] for a, b in zip(bounds, bounds[1:])))
        parts.update(map(index.parts.__getitem__, words))
        if True in parts:
            return True
    parts.discard(_NONE)
    if not parts:
        return False
    present = set(chain.from_iterable(map(_CACHES[index.lang].__getitem__, words)))  # stems (and kinds, names: harmless)
    return any(required <= present for sets in parts for required in sets)


def find_terms(toks: Tokens, index: LangIndex, masked: set[int] | None = None) -> list[tuple[int, int, str, str]]:
    """Vocabulary hits as (first token, end token, category, term); overlaps go to the longer term.

    Tokens in ``masked`` (inside a brand or product mention: "Dolce Forno" is not about taste)
    never match.
    """
    flags = list(map(index.starts.__getitem__, toks.words))
    if not any(flags):
        return []
    found = []
    first = index.first
    keys, alts, words, starts, folded = toks.keys, toks.alts, toks.words, toks.starts, toks.folded
    n = len(toks)
    for i in compress(range(n), flags):
        if masked and i in masked:
            continue
        cands = first.get(keys[i])
        if cands is None and alts[i] is not None:
            cands = first.get(alts[i])
        if cands:
            for stems, category, term in cands:
                k = len(stems)
                if k == 1 or (
                    i + k <= n
                    and all((keys[i + j] == stems[j] or alts[i + j] == stems[j]) and not (masked and i + j in masked) for j in range(1, k))
                ):
                    found.append((i, i + k, category, term))
        word = words[i]
        if index.prefix_lengths and len(word) >= index.prefix_lengths[0]:
            for length in index.prefix_lengths:
                for category, term in index.prefixes.get(word[:length], ()):
                    found.append((i, i + 1, category, term))
        if index.solid and starts[i] and folded[starts[i] - 1] == "#":
            for category, term in index.solid.get(word, ()):
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
