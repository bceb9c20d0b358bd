"""Tokens of a post for the aspect tagger: folded, lightly stemmed, with offsets and lexicon kinds.

``tokens(text, lang)`` -> ``Tokens``, parallel columns with one entry per token: its offsets in
the text, the folded word as written, its stem (``stem``: the key for vocabulary matching and
the polarity model's features), its lexicon kind (``lexicon.token_kind``, emoticons mapped to
emoji polarity) and the stem of its one-letter form when it is elongated ("slooow" -> "slow"), and its name among
the polarity model's clause features ("w:<stem>" for a word, "q" and "excl" for '?' and '!').
A token is a word, an emoticon or one punctuation mark; English keeps "don't" whole (a
negator); camelCase hashtags are cut into their words ("#ServizioClienti" -> servizio clienti).

Per-token work is cached by folded word (``_TokenCache``), so a post costs one regex pass and
a few C-level maps over its words; posts repeat words far more than they coin them.
"""

from __future__ import annotations

import re

from pipelines.nlp import lexicon as lx
from pipelines.text import fold

__all__ = ["TOKEN_PATTERNS", "Tokens", "camel_cuts", "stem", "token_info", "tokens"]

_ELONG = re.compile(r"(\w)\1{2,}")
_CAMEL = re.compile(r"#(\w+)")
_CAMEL_CUT = re.compile(r"(?<=[a-zà-ÿ0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-zà-ÿ])")
_EMOTICON = r"(?:>?[:;=]'?-?[()dp/\\\[\]|@s])|<3|</3|\^\^|\^_\^|-_-"
# No emoticon starts with a word character, so trying words first finds the same tokens, faster.
TOKEN_PATTERNS = {
    "it": re.compile(r"\w+|" + _EMOTICON + r"|[^\w\s]"),
    "en": re.compile(r"[^\W_]+n['\u2019]t|\w+|" + _EMOTICON + r"|[^\w\s]"),  # keeps "don't" whole: a negator
}
_EMOTICONS_POS = frozenset(fold(e) for e in lx.EMOTICONS_POSITIVE)
_EMOTICONS_NEG = frozenset(fold(e) for e in lx.EMOTICONS_NEGATIVE)
_CACHE_MAX = 200_000
_span = re.Match.span
_group = re.Match.group


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


def token_info(t: str, lang: str) -> tuple[str, int, str | None, str | None]:
    """(stem, lexicon kind, stem of the one-letter form or None, clause feature name or None) of a folded token."""
    if t in _EMOTICONS_POS:
        return t, lx.EMOJI_POS, None, "w:" + t
    if t in _EMOTICONS_NEG:
        return t, lx.EMOJI_NEG, None, "w:" + t
    t = t.replace("\u2019", "'")
    two = _ELONG.sub(r"\1\1", t) if len(t) > 2 else t
    one = _ELONG.sub(r"\1", t) if two != t else None
    kind = lx.token_kind(two, lang)
    if one is not None and kind == lx.PLAIN:
        kind = lx.token_kind(one, lang)
    key = stem(two, lang)
    return key, kind, stem(one, lang) if one is not None else None, feature_name(key, kind)


def feature_name(key: str, kind: int) -> str | None:
    """A token's clause feature: 'w:<stem>' for a word (or emoji), 'q' / 'excl' for '?' / '!', None for other marks."""
    if kind != lx.CLAUSE_END and kind != lx.MARK:
        return "w:" + key
    return "q" if key == "?" else "excl" if key == "!" else None


class _TokenCache(dict):
    """Folded token -> ``token_info``, computed on first sight; cleared when it outgrows ``_CACHE_MAX``."""

    def __init__(self, lang: str):
        super().__init__()
        self.lang = lang

    def __missing__(self, t: str) -> tuple[str, int, str | None, str | None]:
        if len(self) > _CACHE_MAX:
            self.clear()
        info = self[t] = token_info(t, self.lang)
        return info


_CACHES = {lang: _TokenCache(lang) for lang in TOKEN_PATTERNS}


class Tokens:
    """A post's tokens as parallel tuples, ``len()`` of them; ``folded`` is the text folded, offsets equal."""

    __slots__ = ("folded", "starts", "ends", "words", "keys", "kinds", "alts", "names")

    def __init__(self, folded: str, spans: list[tuple[int, int]], words: list[str], lang: str):
        self.folded = folded
        self.words = tuple(words)
        if words:
            self.starts, self.ends = zip(*spans)
            self.keys, self.kinds, self.alts, self.names = zip(*map(_CACHES[lang].__getitem__, words))
        else:
            self.starts = self.ends = self.keys = self.kinds = self.alts = self.names = ()

    def __len__(self) -> int:
        return len(self.words)


def camel_cuts(text: str) -> list[int]:
    """Offsets inside the text's hashtags where a camelCase word starts ("#ServizioClienti": before 'C')."""
    cuts: list[int] = []
    if "#" in text:
        for m in _CAMEL.finditer(text):
            tag = m.group(1)
            if tag[1:] != tag[1:].lower():  # else no capital letter can start a word
                cuts.extend(m.start(1) + c.start() for c in _CAMEL_CUT.finditer(tag))
    return cuts


def fold_aligned(text: str, folded: str | None = None) -> str:
    """``fold(text)`` (or the ``folded`` given) with the text's length, so offsets are shared."""
    if folded is None:
        folded = fold(text)
    if len(folded) != len(text):  # lower() changed a length (rare): fold char by char to keep offsets
        folded = "".join(fold(c)[:1] or c for c in text)
    return folded


def tokens(text: str, lang: str, folded: str | None = None) -> Tokens:
    """The post's ``Tokens``; ``folded`` is ``fold(text)`` when the caller already has it."""
    folded = fold_aligned(text, folded)
    lang = lang if lang in TOKEN_PATTERNS else "it"
    matches = list(TOKEN_PATTERNS[lang].finditer(folded))
    spans = list(map(_span, matches))
    words = list(map(_group, matches))
    cuts = camel_cuts(text)
    if cuts:
        spans, words = _cut(folded, spans, words, cuts)
    return Tokens(folded, spans, words, lang)


def _cut(folded: str, spans: list[tuple[int, int]], words: list[str], cuts: list[int]) -> tuple[list, list[str]]:
    out_spans, out_words = [], []
    for (a, b), w in zip(spans, words):
        inside = sorted(c for c in cuts if a < c < b)
        if not inside:
            out_spans.append((a, b))
            out_words.append(w)
            continue
        bounds = [a, *inside, b]
        for x, y in zip(bounds, bounds[1:]):
            out_spans.append((x, y))
            out_words.append(folded[x:y])
    return out_spans, out_words
