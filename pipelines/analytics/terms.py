"""What a crisis is about: the terms and aspects of its negative mentions, against the baseline.

A term's score is its *excess* document frequency: how many more episode mentions contain it
than the baseline rate predicts (``df_episode - df_baseline * n_episode / n_baseline``). Words
that every complaint contains ("service", the brand's own name) score near zero; what this
surge adds ("down", "charged", "ssl") comes first. Tokens are folded (lower case, no accents)
and filtered by a small Italian and English stop list, length and digits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pipelines.text import fold, tokenize

STOPWORDS = frozenset(
    """a ad ai al alla alle allo anche ancora che chi ci come con da dal dalla dei del della delle di e ed gli ha hanno ho il
    in io la le lo ma mi mia mio ne nei nel nella non o per piu poi quando se si sono su sul sulla ti tra tu un una uno
    va vi volta gia cosa fa fatto ogni ora solo sempre tutto tutti qualcuno allora ok ciao raga ragazzi sinceramente
    the an and are as at be been but by can do does for from has have how i if is it its me my no not of on or our so
    that this to too was we what when where who why will with you your yet just again still any anyone hey well guys
    honestly""".split()
)


def _terms(text: str, exclude: frozenset[str]) -> set[str]:
    return {t for t in tokenize(fold(text)) if len(t) >= 3 and not t.isdigit() and t not in STOPWORDS and t not in exclude}


def top_terms(episode_texts: Iterable[str | None], baseline_texts: Iterable[str | None], exclude: frozenset[str], n: int) -> list[str]:
    """The n terms with the largest positive excess document frequency (ties: alphabetical)."""
    ep = [_terms(t, exclude) for t in episode_texts if t]
    base = [_terms(t, exclude) for t in baseline_texts if t]
    df_ep = Counter(t for doc in ep for t in doc)
    df_base = Counter(t for doc in base for t in doc)
    scale = len(ep) / len(base) if base else 0.0
    scored = [(df - df_base[t] * scale, t) for t, df in df_ep.items()]
    return [t for s, t in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0][:n]


def top_aspects(aspect_lists: Iterable[list[str] | None], n: int) -> list[str]:
    """The n aspect categories most often negative in these mentions ('support:negative' -> 'support')."""
    counts = Counter(a.split(":", 1)[0] for aspects in aspect_lists for a in (aspects or []) if a.endswith(":negative"))
    return [a for a, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))[:n]]


def brand_words(catalog, brand_id: str) -> frozenset[str]:
    """Tokens of the brand's names, aliases, handles, hashtags and products: they say who, not what."""
    try:
        b = catalog.brand(brand_id)
    except KeyError:
        return frozenset(tokenize(fold(brand_id)))
    names = [b.id, b.name, *b.aliases, *b.handles, *b.hashtags, *b.products]
    names += [n for p in getattr(catalog, "products_by_id", ()) if p.brand == brand_id for n in (p.name, *p.aliases)]
    return frozenset(t for name in names for t in tokenize(fold(name)))
