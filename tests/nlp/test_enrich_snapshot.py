"""The fast paths of the enrichment say exactly what the plain code said.

``tests/data/enrich_snapshot.json.gz`` was written by ``python -m tests.nlp.enrich_snapshot
--write`` from the code before the fast paths (per-token objects, every post tokenised and
matched); the current code must give the same language, brands, mention spans and aspect hits
(spans, terms, polarities and confidences) on its 3,900 posts. And the rule that lets the
tagger skip a post (``may_match``) must never skip one that has a vocabulary hit.
"""

from __future__ import annotations

import pytest

from pipelines.nlp.aspects import AspectTagger
from pipelines.nlp.aspects_vocabulary import may_match
from pipelines.text import fold, tokenize
from tests.nlp import enrich_snapshot
from tests.nlp.tricky_posts import tricky_posts

TAGGER = AspectTagger.load()


@pytest.fixture(scope="module")
def snapshot() -> dict:
    snap = enrich_snapshot.load()
    if snap["inputs"] != enrich_snapshot.inputs_fingerprint():
        pytest.fail(
            "the catalog or the aspect models changed since the snapshot was written: check the change is intended, "
            "then run 'python -m tests.nlp.enrich_snapshot --write'"
        )
    return snap


def test_language_brands_mentions_and_aspect_hits_equal_the_snapshot(snapshot):
    now = enrich_snapshot.compute()["posts"]
    posts = enrich_snapshot.snapshot_posts()
    assert len(now) == len(snapshot["posts"]) == len(posts)
    changed = [(text, then, current) for (text, _), then, current in zip(posts, snapshot["posts"], now) if then != current]
    assert not changed, f"{len(changed)} posts differ, the first: {changed[0]}"


def test_snapshot_covers_posts_with_and_without_aspects(snapshot):
    posts = snapshot["posts"]
    with_hits = sum(1 for p in posts if p["hits"])
    assert 0.2 * len(posts) < with_hits < 0.9 * len(posts)
    assert {p["lang"] for p in posts} == {"it", "en", "unknown"}
    assert sum(1 for p in posts if p["mentions"]) > 300


def _ruled_out_with_hits(texts: list[str], lang: str) -> tuple[int, list[str]]:
    ruled_out, wrong = 0, []
    index = TAGGER._index[lang]
    for text in texts:
        folded = fold(text)
        if not may_match(text, folded, tokenize(folded), index):
            ruled_out += 1
            if TAGGER.terms(text, lang, mentions=[])[3]:  # unmasked: the strictest check
                wrong.append(text)
    return ruled_out, wrong


@pytest.mark.parametrize("lang", ["it", "en"])
def test_a_post_ruled_out_by_its_words_has_no_vocabulary_hit(lang):
    texts = tricky_posts(lang, 6000, seed=1) + [t for t, written in enrich_snapshot.snapshot_posts() if written == lang]
    ruled_out, wrong = _ruled_out_with_hits(texts, lang)
    assert not wrong
    assert ruled_out > 500  # the rule does rule posts out


@pytest.mark.parametrize(
    "text, lang, term",
    [
        ("ok :Dprezzo", "it", "prezzo"),  # the emoticon ':D' swallows the word's first letter
        ("grazie <3assistenza", "it", "assistenza"),  # '<3' swallows a digit
        ("they don'tprice it", "en", "price"),  # "don't" is one token, "price" the next
        ("#PrezzoAlto oggi", "it", "Prezzo"),  # camelCase hashtag cut into words
        ("İ #servizioclienti", "it", "servizioclienti"),  # 'İ' folds to two characters
    ],
)
def test_posts_whose_aspect_tokens_are_not_their_words_are_tagged(text, lang, term):
    hits = TAGGER.tag([text], [lang])[0]
    assert [text[h.start : h.end] for h in hits] == [term]
