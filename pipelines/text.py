"""Text normalisation shared by the fast enrichment steps: fold once, tokenize once."""

from __future__ import annotations

import re
import unicodedata


def _accent_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):  # Latin-1 Supplement and Latin Extended-A/B
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii():
            table[code] = base.lower()
    return table


_ACCENTS = _accent_table()
_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case without accents: 'Perché' -> 'perche' (emoji and other scripts pass through)."""
    text = text.lower()
    return text if text.isascii() else text.translate(_ACCENTS)


def tokenize(folded: str) -> list[str]:
    """Word tokens of folded text: '@NuvolaCare, sito giù!' -> ['nuvolacare', 'sito', 'giu']."""
    return _WORD.findall(folded)
