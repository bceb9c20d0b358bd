"""The enrichment's fast path through the shipped scorer (``LinearScorer.score_columns``) gives the
labels and probabilities of ``score``, and the same event fields as a scorer without it."""

from __future__ import annotations

import numpy as np

from pipelines.catalog import load_catalog
from pipelines.nlp.scorer import FIELDS, UNKNOWN, LinearScorer
from pipelines.transforms.enrich import BrandAttributor, default_tagger, enrich
from tests.nlp.enrich_snapshot import _events, snapshot_posts

SCORER = LinearScorer()
POSTS = snapshot_posts()[::3]


def test_columns_hold_the_labels_and_probabilities_of_score():
    texts = [t for t, _ in POSTS] + ["no models for this language"]
    langs = [lang for _, lang in POSTS] + ["xx"]
    rows = SCORER.score(texts, langs)
    columns = SCORER.score_columns(texts, langs)
    assert set(columns) == set(FIELDS)
    for field in FIELDS:
        labels, probs = columns[field]
        assert labels == [r[field]["label"] for r in rows]
        for c, p in probs.items():
            assert p.dtype == np.float64
            assert p.tolist() == [r[field]["probs"].get(c, 0.0) for r in rows]
    assert labels[-1] == UNKNOWN and {c: p[-1] for c, p in columns["sentiment"][1].items()} == {"neg": 0.0, "neu": 0.0, "pos": 0.0}


class DictsOnly:
    """The shipped scorer seen through the Scorer protocol alone (no ``score_columns``)."""

    version = "same"

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        return SCORER.score(texts, langs)


def test_enrichment_sets_the_same_fields_with_and_without_the_column_path():
    attributor, tagger = BrandAttributor(load_catalog()), default_tagger()
    fast, dead_fast = enrich(_events(POSTS), attributor, SCORER, "same", tagger)
    plain, dead_plain = enrich(_events(POSTS), attributor, DictsOnly(), "same", tagger)
    assert not dead_fast and not dead_plain
    assert fast == plain
    assert {e["sentiment"] for e in fast} >= {"negative", "neutral", "positive", "unknown"}
    assert any(e["aspects"] for e in fast) and any(e["is_offensive"] for e in fast)
