"""The enrichment stage sets the text fields from the configured Scorer, in a real Beam pipeline,
and a scorer that fails on one text costs that event only: it becomes a dead letter with its bytes."""

from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines.catalog import load_catalog
from pipelines.config import ConfigError, JobConfig
from pipelines.nlp.scorer import FIELDS, default_scorer
from pipelines.transforms.enrich import TEXT_FIELDS, BrandAttributor, EnrichEvents, default_tagger, enrich

CATALOG = load_catalog()


def _event(i: int, text: str | None, event_type: str = "post") -> dict:
    return {
        "event_id": f"e{i}",
        "event_type": event_type,
        "text": text,
        "lang_hint": None,
        "channel_owner": None,
        "author": {"id": f"a{i}", "handle": f"@user{i}", "follower_count": 10, "is_brand_account": False},
        "kafka_topic": "t",
        "kafka_partition": 0,
        "kafka_offset": i,
        "kafka_value": f"bytes-{i}".encode(),
    }


POSTS = [
    _event(0, "Il supporto di Nuvola Hosting non risponde da due giorni, che schifo 😡"),
    _event(1, "Grazie Nuvola Hosting, assistenza eccellente e sito migrato in un'ora!"),
    _event(2, "Dolce Forno cookies are amazing, best breakfast ever 😍"),
    _event(3, None, "reaction"),
    _event(4, "POISON this text breaks the team scorer"),
]


class FailsOnPoison:
    """A team's scorer (plugged in by configuration) that raises on one text."""

    version = "fails-on-poison/1"

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        if any("POISON" in t for t in texts):
            raise RuntimeError("model server returned 500")
        return [{f: {"label": "pos" if f == "sentiment" else "other", "probs": {"pos": 0.9, "neg": 0.05}} for f in FIELDS} for _ in texts]


def fails_on_poison() -> FailsOnPoison:
    return FailsOnPoison()


def _copy(events: list[dict]) -> list[dict]:
    return [dict(e, author=dict(e["author"])) for e in events]


def test_shipped_models_set_every_text_field_with_valid_values():
    ok, dead = enrich(_copy(POSTS[:4]), BrandAttributor(CATALOG), default_scorer(), tagger=default_tagger())
    assert dead == []
    by_id = {e["event_id"]: e for e in ok}
    for e in ok:
        assert set(TEXT_FIELDS) <= set(e)
        assert e["sentiment"] in ("negative", "neutral", "positive", "unknown")
        assert -1.0 <= e["sentiment_score"] <= 1.0
        assert isinstance(e["aspects"], list)
    assert by_id["e0"]["sentiment"] == "negative" and by_id["e0"]["sentiment_score"] < 0
    assert by_id["e0"]["intent"] == "complaint"
    assert "support:negative" in by_id["e0"]["aspects"]  # the catalog's vocabulary, polarity from its clause
    assert any(a.endswith(":positive") for a in by_id["e1"]["aspects"])
    assert by_id["e1"]["sentiment"] == "positive" and by_id["e1"]["sentiment_score"] > 0
    assert by_id["e2"]["lang"] == "en" and by_id["e2"]["sentiment"] == "positive"
    # a reaction has no text: counted, with every text field unknown
    assert by_id["e3"]["sentiment"] == "unknown" and by_id["e3"]["is_offensive"] is None and by_id["e3"]["sentiment_score"] == 0.0
    assert by_id["e0"]["is_offensive"] in (True, False)
    assert by_id["e0"]["nlp_version"] == "LinearScorer/brand"


def test_a_scorer_failing_on_one_text_dead_letters_that_event_only_in_a_pipeline():
    spec = f"{__name__}:fails_on_poison"
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        out = p | beam.Create([_copy(POSTS)]) | EnrichEvents(CATALOG, spec)
        ids = out.events | "Ids" >> beam.FlatMap(lambda chunk: [(e["event_id"], e["sentiment"], e["nlp_version"]) for e in chunk])
        assert_that(
            ids,
            equal_to(
                [
                    ("e0", "positive", "fails-on-poison/1"),
                    ("e1", "positive", "fails-on-poison/1"),
                    ("e2", "positive", "fails-on-poison/1"),
                    ("e3", "unknown", "fails-on-poison/1"),
                ]
            ),
            label="events",
        )
        dead = out.dead_letters | "Dead" >> beam.Map(
            lambda d: (d.reason, d.step, d.offset, d.value, "model server returned 500" in d.message)
        )
        assert_that(dead, equal_to([("enrichment_failed", "enrich", 4, b"bytes-4", True)]), label="dead_letters")


@pytest.mark.parametrize("spec", ["nosuchmodule:Factory", "pipelines.nlp.scorer", "pipelines.nlp.scorer:NOPE"])
def test_a_bad_scorer_spec_stops_the_job_before_it_starts(spec):
    with pytest.raises(ConfigError, match="--scorer"):
        JobConfig(bootstrap_servers="127.0.0.1:9092", scorer=spec).validate()


class Broken:
    """Models that do not match their featurisation: every call fails."""

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        raise ValueError("matmul: dimension mismatch")


def broken() -> Broken:
    return Broken()


def test_a_scorer_that_cannot_score_at_all_stops_the_job_instead_of_dead_lettering_everything():
    with pytest.raises(ConfigError, match="cannot score a probe text: ValueError: matmul: dimension mismatch"):
        JobConfig(bootstrap_servers="127.0.0.1:9092", scorer=f"{__name__}:broken").validate()
