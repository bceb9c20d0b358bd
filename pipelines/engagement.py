"""The one place that wires the engagement graph.

``build_engagement`` applies the composite transforms in order to a PCollection of offset
range plans and returns every output, all of which the caller must send to a sink:

    plans -> ReadKafkaOffsetRanges -> DecodeSocialEvents -> ClassifyLateness
          -> DeduplicateEvents -> EnrichEvents -> ScoreEngagement -> AggregateEngagement

Deduplication runs before enrichment so that duplicates and late events cost no NLP.
The embedded driver (``driver.py``) applies it to one micro-batch at a time.
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


class EngagementOutputs(NamedTuple):
    ranges: beam.PCollection  # ReadRange per partition
    watermarks: beam.PCollection  # PartitionWatermark per partition
    window_rows: beam.PCollection  # WindowRow deltas
    events: beam.PCollection  # lists of accepted, enriched, scored events
    duplicates: beam.PCollection  # Duplicate
    late: beam.PCollection  # LateEvent
    dead_letters: beam.PCollection  # DeadLetter


def build_engagement(
    plans: beam.PCollection, job: JobConfig, catalog: Catalog, initial_watermarks: dict[tuple[str, int], int], history: SeenIdsSource
) -> EngagementOutputs:
    read = plans | "ReadKafkaOffsetRanges" >> ReadKafkaOffsetRanges(
        KafkaSettings(job.bootstrap_servers, client=job.kafka_client), job.chunk_records
    )
    decoded = read.chunks | "DecodeSocialEvents" >> DecodeSocialEvents(job.schema_registry, job.max_value_bytes)
    timed = decoded.events | "ClassifyLateness" >> ClassifyLateness(job.window_seconds, job.allowed_lateness_seconds, initial_watermarks)
    unique = timed.on_time | "DeduplicateEvents" >> DeduplicateEvents(history)
    enriched = unique.events | "EnrichEvents" >> EnrichEvents(catalog, job.scorer)
    scored = enriched.events | "ScoreEngagement" >> ScoreEngagement()
    windows = scored | "AggregateEngagement" >> AggregateEngagement(job.window_seconds)
    return EngagementOutputs(
        ranges=read.ranges,
        watermarks=timed.watermarks,
        window_rows=windows,
        events=scored,
        duplicates=unique.duplicates,
        late=timed.late,
        dead_letters=(decoded.dead_letters, enriched.dead_letters) | "AllDeadLetters" >> beam.Flatten(),
    )
