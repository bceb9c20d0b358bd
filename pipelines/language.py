"""Fast language identification for short posts: Italian, English or unknown.

A first enrichment: counts frequent function words of each language. A post needs at least
one hit and a clear margin, otherwise its language is ``unknown`` (it is still counted).
The enrichment issue replaces this with a trained detector behind the same function.
"""

from __future__ import annotations

import re

from pipelines.model import UNKNOWN_LANG

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
        _WORD_LANG.setdefault(_w, set()).add(_lang)
_TOKEN = re.compile(r"[a-zàèéìòóù']+")


def detect_language(text: str | None) -> str:
    """'it', 'en' or 'unknown'."""
    if not text:
        return UNKNOWN_LANG
    it = en = 0
    for tok in _TOKEN.findall(text.lower()):
        langs = _WORD_LANG.get(tok)
        if langs is None:
            if tok.endswith(("zione", "mente", "ato", "ata", "ono", "are", "ere", "ire")) and len(tok) > 5:
                it += 0.5
            continue
        if "it" in langs and "en" not in langs:
            it += 1
        elif "en" in langs and "it" not in langs:
            en += 1
    if it > en and it >= 1:
        return "it"
    if en > it and en >= 1:
        return "en"
    return UNKNOWN_LANG
