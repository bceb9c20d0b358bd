"""Seeded posts built to hit the corners of tokenisation and matching, for equivalence tests.

Each post strings together fragments that make the fast paths of the enrichment diverge from
the plain ones if they are wrong: the catalog's own aspect terms and brand names (inflected,
elongated, upper-cased, accented, glued to punctuation), camelCase and solid hashtags,
emoticons that swallow a letter or a digit (":Dprezzo", "<3rete", ":'s"), English "n't" glued
to the next word, characters whose lower case is longer ("İ"), negators, contrast words,
handles, URLs, digits and emoji.
"""

from __future__ import annotations

import random

from pipelines.catalog import load_catalog
from pipelines.nlp.aspects import load_vocabulary

_GLUE = (
    "",
    " ",
    " ",
    " ",
    ", ",
    ". ",
    "! ",
    "? ",
    "... ",
    " - ",
    ":",
    ";",
    "\n",
    "#",
    "@",
    "'",
    "’",
    "_",
    "<3",
    ":D",
    ":s",
    ":'d",
    "-_-",
    "^_^",
)
_WORDS = {
    "it": ("non", "ma", "però", "molto", "troppo", "pessimo", "ottimo", "grazie", "mai", "il", "di", "che", "è", "nn", "xD"),
    "en": ("not", "but", "however", "very", "too", "awful", "great", "thanks", "never", "the", "of", "is", "don't", "can’t", "isn'tprice"),
}
_ODD = (
    "İstanbul",
    "ÀÉÌÒÙ",
    "😡",
    "😍👏",
    "https://x.co/a?b=1",
    "@NuvolaCare",
    "#ServizioClienti",
    "#PrezzoAlto",
    "#servizioclienti",
    "1000",
    "4G",
    "\\u00e8",
)


def _vary(word: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        return word.upper()
    if r < 0.3:
        return word.capitalize()
    if r < 0.4 and word:
        return word + word[-1] * rng.randint(2, 4)  # elongation
    if r < 0.5 and len(word) > 3:
        return word[:-1] + rng.choice("aeiosy")  # inflection or typo
    if r < 0.6:
        return "".join(w.capitalize() for w in word.split())  # camelCase when written as a hashtag
    return word


def tricky_posts(lang: str, n: int, seed: int = 0) -> list[str]:
    """``n`` posts in ``lang`` ('it' or 'en'), the same for the same seed."""
    rng = random.Random(f"{lang}-{seed}")
    vocab = load_vocabulary()
    terms = sorted({t.rstrip("*") for by_cat in vocab.terms.values() for words in by_cat.values() for t in words})
    catalog = load_catalog()
    names = sorted({t for b in catalog.brands for t in (b.name, *b.aliases, *b.handles, *b.hashtags, *b.products)})
    pools = (terms, names, _WORDS[lang], _ODD)
    posts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            pool = rng.choices(pools, weights=(5, 2, 4, 1))[0]
            parts.append(_vary(rng.choice(pool), rng))
            parts.append(rng.choice(_GLUE))
        posts.append("".join(parts).strip() or "ok")
    return posts
