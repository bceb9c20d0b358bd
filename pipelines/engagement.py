"""The one place that wires the engagement graph, for the embedded and the streaming paths.

``wire_engagement`` applies the composite transforms in order to a PCollection of
``RecordChunk`` and returns every output, all of which the caller must send to a sink:

    chunks -> DecodeSocialEvents -> ClassifyLateness -> DeduplicateEvents
           -> EnrichEvents -> ScoreEngagement -> AggregateEngagement

Decoding, enrichment and scoring are the same objects on both paths. Lateness, dedup and
aggregation keep their contract (the same pure functions, the same outputs) and differ in
where their state lives, which ``Stages`` says:

- embedded (``embedded_stages``, this module): state is the micro-batch's bundle plus what the
  warehouse committed (initial watermarks, the dedup history); windows are merged globally and
  the warehouse adds the deltas;
- streaming (``pipelines.streaming.graph.streaming_stages``): state is Beam's keyed state with
  event-time timers; windows are Beam windows with watermark triggers and accumulating panes.

``build_engagement`` is the embedded driver's graph over one offset range plan
(``ReadKafkaOffsetRanges`` first); the driver itself stays in ``driver.py``.
Deduplication runs before enrichment so that duplicates and late events cost no NLP.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.io.kafka import KafkaSettings
from pipelines.transforms.aggregate import AggregateEngagement
from pipelines.transforms.decode import DecodeSocialEvents
from pipelines.transforms.dedup import DeduplicateEvents, SeenIdsSource
from pipelines.transforms.enrich import EnrichEvents
from pipelines.transforms.lateness import ClassifyLateness
from pipelines.transforms.read import ReadKafkaOffsetRanges
from pipelines.transforms.score import ScoreEngagement


class Stages(NamedTuple):
    """The stateful stages, as composites with the embedded stages' result shapes:
    ``lateness`` -> ``LatenessResult``, ``dedup`` -> ``DedupResult``, ``aggregate`` -> rows."""

    lateness: beam.PTransform
    dedup: beam.PTransform
    aggregate: beam.PTransform


class StageOutputs(NamedTuple):
    watermarks: beam.PCollection  # PartitionWatermark per partition
    window_rows: beam.PCollection  # WindowRow deltas (embedded) or WindowPane (streaming), of both window tables
    events: beam.PCollection  # lists of accepted, enriched, scored events
    duplicates: beam.PCollection  # Duplicate
    late: beam.PCollection  # LateEvent
    dead_letters: beam.PCollection  # DeadLetter


class EngagementOutputs(NamedTuple):
    ranges: beam.PCollection  # ReadRange per partition
    watermarks: beam.PCollection  # PartitionWatermark per partition
    window_rows: beam.PCollection  # WindowRow deltas of both window tables
    events: beam.PCollection  # lists of accepted, enriched, scored events
    duplicates: beam.PCollection  # Duplicate
    late: beam.PCollection  # LateEvent
    dead_letters: beam.PCollection  # DeadLetter


def embedded_stages(job: JobConfig, initial_watermarks: dict[tuple[str, int], int], history: SeenIdsSource) -> Stages:
    return Stages(
        lateness=ClassifyLateness(job.smallest_window_seconds, job.allowed_lateness_seconds, initial_watermarks),
        dedup=DeduplicateEvents(history),
        aggregate=AggregateEngagement(job.window_seconds),
    )


def wire_engagement(chunks: beam.PCollection, job: JobConfig, catalog: Catalog, stages: Stages) -> StageOutputs:
    """Decode -> lateness -> dedup -> enrich -> score -> aggregate, with explicit stable labels."""
    decoded = chunks | "DecodeSocialEvents" >> DecodeSocialEvents(job.schema_registry, job.max_value_bytes)
    timed = decoded.events | "ClassifyLateness" >> stages.lateness
    unique = timed.on_time | "DeduplicateEvents" >> stages.dedup
    enriched = unique.events | "EnrichEvents" >> EnrichEvents(catalog, job.scorer)
    scored = enriched.events | "ScoreEngagement" >> ScoreEngagement()
    windows = scored | "AggregateEngagement" >> stages.aggregate
    return StageOutputs(
        watermarks=timed.watermarks,
        window_rows=windows,
        events=scored,
        duplicates=unique.duplicates,
        late=timed.late,
        dead_letters=(decoded.dead_letters, enriched.dead_letters) | "AllDeadLetters" >> beam.Flatten(),
    )


def build_engagement(
    plans: beam.PCollection, job: JobConfig, catalog: Catalog, initial_watermarks: dict[tuple[str, int], int], history: SeenIdsSource
) -> EngagementOutputs:
    read = plans | "ReadKafkaOffsetRanges" >> ReadKafkaOffsetRanges(
        KafkaSettings(job.bootstrap_servers, client=job.kafka_client), job.chunk_records
    )
    out = wire_engagement(read.chunks, job, catalog, embedded_stages(job, initial_watermarks, history))
    return EngagementOutputs(ranges=read.ranges, **out._asdict())
