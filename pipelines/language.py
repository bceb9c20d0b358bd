"""Fast language identification for short posts: Italian, English or unknown.

A first enrichment: counts frequent function words of each language. A post needs at least
one hit and a clear margin, otherwise its language is ``unknown`` (it is still counted).
The enrichment issue replaces this with a trained detector behind the same function.
"""

from __future__ import annotations

from pipelines.model import UNKNOWN_LANG
from pipelines.text import fold, tokenize

_WORDS = {
    "it": """il lo la i gli le un una uno di da del della dei delle al alla ai nel nella con su per tra fra
        che non è e ed ma se come anche più mi ti ci vi si sono ho ha hanno da ancora già mai nessuno
        qualcuno sa fa fatto questo questa quello quella dove quando perché perche grazie ciao tutti tutto
        oggi ieri sera stamattina ora solo sempre molto poco meglio peggio niente nuovo nuova nuovi""",
    "en": """the an of to on for with at by from and or but not is are was were be been has have had
        my your our their his her its it this that these those there what when where how why who which
        do does did never again still just only very so thanks thank hi hey anyone since today
        now new will would can could should after before every""",
}
_WORD_LANG: dict[str, set[str]] = {}
for _lang, _words in _WORDS.items():
    for _w in _words.split():
        _WORD_LANG.setdefault(fold(_w), set()).add(_lang)
# +1 for a word of one language only, -1 for the other; 0 for shared words.
_SCORE = {w: (1 if langs == {"it"} else -1 if langs == {"en"} else 0) for w, langs in _WORD_LANG.items()}
_IT_SUFFIXES = ("zione", "mente", "ato", "ata", "ono", "are", "ere", "ire")


def detect_language(text: str | None) -> str:
    """'it', 'en' or 'unknown'."""
    if not text:
        return UNKNOWN_LANG
    return detect_language_tokens(tokenize(fold(text)))


class _Votes(dict):
    """Folded token -> its vote as a complex number (Italian + English j): 1 for a function word of
    one language, 0 for a shared one, 0.5 Italian for an unknown word with an Italian suffix."""

    def __missing__(self, tok: str) -> complex:
        s = _SCORE.get(tok)
        if s is None:
            vote = 0.5 if len(tok) > 5 and tok.endswith(_IT_SUFFIXES) else 0.0
        else:
            vote = 1.0 if s > 0 else 1j if s < 0 else 0.0
        if len(self) > 200_000:  # a stream keeps coining words: bounded
            self.clear()
        self[tok] = vote
        return vote


_VOTES = _Votes()


def detect_language_tokens(tokens: list[str]) -> str:
    """The same on tokens already folded and split (``pipelines.text``). Votes are halves and
    units, so their sums are exact whatever the order."""
    total = sum(map(_VOTES.__getitem__, tokens), 0j)
    it, en = total.real, total.imag
    if it > en and it >= 1:
        return "it"
    if en > it and en >= 1:
        return "en"
    return UNKNOWN_LANG
