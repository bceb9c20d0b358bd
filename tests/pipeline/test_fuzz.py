"""Fuzzing: random and mutated bytes never raise anything but our own errors, and the
accounting (accepted + duplicates + late + dead letters = consumed) always holds."""

from __future__ import annotations

import random

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.catalog import load_catalog
from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.model import KafkaRecord, RecordChunk
from pipelines.transforms.aggregate import AggregateEngagement
from pipelines.transforms.decode import DecodeSocialEvents, dead_letter, decode_record
from pipelines.transforms.dedup import DeduplicateEvents, first_copies
from pipelines.transforms.enrich import BrandAttributor, EnrichEvents, enrich
from pipelines.transforms.lateness import ClassifyLateness, classify
from pipelines.transforms.score import ScoreEngagement, score
from pipelines.wire import DecodeError, EventCodec

VALUES = [r.value for r in generate_stream(GeneratorConfig(seed=41, events=3000))]
CODEC = EventCodec()
ATTRIBUTOR = BrandAttributor(load_catalog())


def mutate(rng: random.Random, value: bytes) -> bytes:
    kind = rng.randrange(6)
    b = bytearray(value)
    if kind == 0 and b:
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        b = b[: rng.randrange(len(b) + 1)]
    elif kind == 2:
        b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
    elif kind == 3:
        b = bytearray(rng.randbytes(rng.randint(0, 80)))
    elif kind == 4 and len(b) > 6:
        i = rng.randrange(5, len(b))
        del b[i : i + rng.randint(1, 5)]
    return bytes(b)


def fuzzed_records(seed: int, n: int) -> list[KafkaRecord]:
    rng = random.Random(seed)
    start = rng.randrange(max(1, len(VALUES) - n))
    values = [v if rng.random() < 0.6 else mutate(rng, v) for v in VALUES[start : start + n]]  # the log in order, then mutated
    return [KafkaRecord("t", 0, i, 0, None, v) for i, v in enumerate(values)]


def run_chain(records: list[KafkaRecord]) -> tuple[int, int, int, int]:
    """The stages' pure functions in pipeline order, as one micro-batch."""
    events, dead = [], []
    for r in records:
        try:
            events.append(decode_record(CODEC, r))
        except DecodeError as err:
            dead.append(dead_letter(r, err))
    on_time, late, _ = classify(events, -1, 60_000, 300_000)
    unique, dups = first_copies(on_time, set())
    ok, enrich_dead = enrich(unique, ATTRIBUTOR)
    score(ok)
    return len(ok), len(dups), len(late), len(dead) + len(enrich_dead)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=300))
def test_any_fuzzed_batch_accounts_for_every_record(seed, n):
    accepted, dups, late, dead = run_chain(fuzzed_records(seed, n))
    assert accepted + dups + late + dead == n


def test_a_fuzzed_batch_through_the_beam_transforms_accounts_for_every_record():
    records = fuzzed_records(7, 3000)
    assert len(records) == 3000
    expected = run_chain(records)
    assert all(x > 0 for x in expected) and expected[0] > 500 and expected[3] > 500, f"a varied batch: {expected}"
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as p:
        chunks = (
            p | beam.Create([[RecordChunk("t", 0, records[i : i + 400]) for i in range(0, len(records), 400)]]) | beam.FlatMap(lambda c: c)
        )
        decoded = chunks | DecodeSocialEvents()
        timed = decoded.events | ClassifyLateness(60, 300)
        unique = timed.on_time | DeduplicateEvents()
        enriched = unique.events | EnrichEvents(load_catalog())
        scored = enriched.events | ScoreEngagement()
        _ = scored | AggregateEngagement((60, 3600))

        def count(pc, label):
            return pc | f"Count{label}" >> beam.combiners.Count.Globally()

        accepted = count(scored | "Flat" >> beam.FlatMap(lambda es: es), "Accepted")
        dead = count((decoded.dead_letters, enriched.dead_letters) | beam.Flatten(), "Dead")
        assert_that(accepted, equal_to([expected[0]]), label="accepted")
        assert_that(count(unique.duplicates, "Dups"), equal_to([expected[1]]), label="duplicates")
        assert_that(count(timed.late, "Late"), equal_to([expected[2]]), label="late")
        assert_that(dead, equal_to([expected[3]]), label="dead_letters")
