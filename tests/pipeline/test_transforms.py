"""Each composite transform in a real Beam pipeline (FnApiRunner), every output asserted."""

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipelines.catalog import load_catalog
from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.model import EventChunk, KafkaRecord, RecordChunk
from pipelines.transforms.aggregate import AggregateEngagement, pre_aggregate
from pipelines.transforms.decode import DecodeSocialEvents
from pipelines.transforms.dedup import DeduplicateEvents
from pipelines.transforms.enrich import BrandAttributor, enrich
from pipelines.transforms.lateness import ClassifyLateness
from pipelines.transforms.score import score

STREAM = list(generate_stream(GeneratorConfig(seed=9, events=3000)))


def pipeline() -> beam.Pipeline:
    return beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))


def records(kinds=("event", "duplicate", "cross_post", "malformed"), partition=0) -> list[KafkaRecord]:
    picked = [r for r in STREAM if r.kind.split(":")[0] in kinds]
    return [KafkaRecord("t", partition, i, 0, r.key, r.value) for i, r in enumerate(picked)]


def test_decode_sends_good_records_on_and_bad_ones_to_dead_letters_with_their_bytes():
    recs = records()
    bad = {
        r.offset: r.value
        for r, g in zip(recs, [x for x in STREAM if x.kind.split(":")[0] in ("event", "duplicate", "cross_post", "malformed")])
        if g.kind.startswith("malformed")
    }
    assert bad
    chunks = [RecordChunk("t", 0, recs[i : i + 500]) for i in range(0, len(recs), 500)]
    with pipeline() as p:
        out = p | beam.Create(chunks) | DecodeSocialEvents()
        offsets = out.events | beam.FlatMap(lambda c: [e["kafka_offset"] for e in c.events])
        assert_that(offsets, equal_to([r.offset for r in recs if r.offset not in bad]), label="events")
        dl = out.dead_letters | beam.Map(lambda d: (d.offset, d.value, d.step, bool(d.message)))
        assert_that(dl, equal_to([(o, v, "decode", True) for o, v in bad.items()]), label="dead_letters")


def _events(n: int, times: list[int], partition: int = 0) -> list[dict]:
    return [
        {"event_id": f"e{i}", "event_time": t, "kafka_topic": "t", "kafka_partition": partition, "kafka_offset": i, "kafka_value": b"x"}
        for i, t in zip(range(n), times)
    ]


def test_lateness_in_a_pipeline_uses_the_committed_watermark_and_reports_the_new_one():
    # committed watermark 1,000 s: window [600 s, 660 s) closes at 960 s -> late; [660 s, 720 s) closes at 1,020 s -> on time
    evs = _events(3, [600_000, 700_000, 1_200_000])
    with pipeline() as p:
        out = p | beam.Create([EventChunk("t", 0, evs[:2]), EventChunk("t", 0, evs[2:])]) | ClassifyLateness(60, 300, {("t", 0): 1_000_000})
        assert_that(out.on_time | beam.FlatMap(lambda c: [e["event_id"] for e in c.events]), equal_to(["e1", "e2"]), label="on_time")
        assert_that(out.late | beam.Map(lambda x: (x.event_id, x.watermark_ms)), equal_to([("e0", 1_000_000)]), label="late")
        assert_that(out.watermarks | beam.Map(lambda w: w.max_event_time_ms), equal_to([1_000_000, 1_200_000]), label="watermarks")


def test_a_chunk_that_goes_back_in_its_partition_is_refused():
    evs = _events(4, [1, 2, 3, 4])
    with pytest.raises(Exception, match="arrived after offset"):
        with pipeline() as p:
            # one element that fans out into two chunks, in this order, within one bundle
            _ = (
                p
                | beam.Create([[EventChunk("t", 0, evs[2:]), EventChunk("t", 0, evs[:2])]])
                | beam.FlatMap(lambda chunks: chunks)
                | ClassifyLateness(60, 300)
            )


class FixedHistory:
    """A SeenIdsSource whose history is a fixed set of ids."""

    def __init__(self, ids):
        self.ids = set(ids)

    def open(self):
        return self

    def seen(self, event_ids):
        return self.ids.intersection(event_ids)

    def close(self):
        pass


def test_dedup_drops_copies_seen_in_this_batch_and_ids_from_history():
    evs = _events(5, [1, 2, 3, 4, 5])
    evs[3]["event_id"] = "e1"  # a redelivery of e1
    with pipeline() as p:
        out = p | beam.Create([EventChunk("t", 0, evs)]) | DeduplicateEvents(FixedHistory({"e4"}))
        assert_that(out.events | beam.FlatMap(lambda es: [e["kafka_offset"] for e in es]), equal_to([0, 1, 2]), label="events")
        assert_that(
            out.duplicates | beam.Map(lambda d: (d.event_id, d.offset, d.kind)),
            equal_to([("e1", 3, "redelivery"), ("e4", 4, "redelivery")]),
            label="duplicates",
        )


def _labelled(events: list[dict]) -> list[dict]:
    """What the text classifiers and the aspect tagger add, made up deterministically."""
    for i, e in enumerate(events):
        e["sentiment"] = ("negative", "neutral", "positive", "unknown")[i % 4]
        e["aspects"] = [["support:negative", "support:negative"], ["price:positive"], []][i % 3]
    return events


def test_the_micro_batch_aggregation_gives_the_rows_of_one_pre_aggregation_for_every_size():
    events = _labelled([dict(r.event) for r in STREAM if r.kind == "event"])
    enrich(events, BrandAttributor(load_catalog()))
    score(events)
    expected = sorted(pre_aggregate(events, (60, 3600)).items())
    lists = [events[i : i + 250] for i in range(0, len(events), 250)]
    with pipeline() as p:
        rows = p | beam.Create(lists) | AggregateEngagement((60, 3600)) | beam.Map(lambda r: (tuple(r.key), tuple(r.totals)))
        assert_that(rows, equal_to(expected))
    # every size holds every event once: an hour's rows are the sums of its minutes' rows
    by_size: dict[int, dict[tuple, list[int]]] = {60: {}, 3600: {}}
    for k, v in expected:
        hour_key = (k[0] - k[0] % 3_600_000, *k[2:])
        acc = by_size[k[1]].setdefault(hour_key, [0] * len(v))
        for i, x in enumerate(v):
            acc[i] += x
    assert by_size[60] == by_size[3600]
    engagement = [k for k, _ in expected if len(k) == 8]
    aspects = {k: v for k, v in expected if len(k) == 5}
    assert {k[7] for k in engagement} == {"negative", "neutral", "positive", "unknown"} and {k[6] for k in engagement} >= {
        "mobile",
        "desktop",
    }
    customer_support = sum(1 for e in events if not e["author"]["is_brand_account"] and "support:negative" in e["aspects"])
    brands_each = [len(e["brands"] or ["x"]) for e in events if not e["author"]["is_brand_account"] and "support:negative" in e["aspects"]]
    got = sum(v[0] for k, v in aspects.items() if k[1] == 60 and k[3:] == ("support", "negative"))
    assert customer_support > 50 and got == sum(brands_each), "a post naming support:negative twice counts once per brand"


def test_an_event_the_enrichment_cannot_process_becomes_a_dead_letter_of_that_step():
    from pipelines.transforms.enrich import MAX_TEXT_CHARS, EnrichEvents

    good = [dict(r.event) for r in STREAM if r.kind == "event"][:3]
    bad = {**good[0], "event_id": "x:huge", "text": "spam " * (MAX_TEXT_CHARS // 4)}
    batch = [
        {**e, "kafka_topic": "t", "kafka_partition": 0, "kafka_offset": i, "kafka_value": b"raw%d" % i} for i, e in enumerate([*good, bad])
    ]
    with pipeline() as p:
        out = p | beam.Create([batch]) | EnrichEvents(load_catalog())
        assert_that(
            out.events | beam.FlatMap(lambda es: [(e["kafka_offset"], e["lang"] in ("it", "en", "unknown")) for e in es]),
            equal_to([(0, True), (1, True), (2, True)]),
            label="events",
        )
        assert_that(
            out.dead_letters | beam.Map(lambda d: (d.reason, d.step, d.offset, d.value)),
            equal_to([("enrichment_failed", "enrich", 3, b"raw3")]),
            label="dead_letters",
        )
