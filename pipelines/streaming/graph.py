"""The streaming graph: the shared composites (``engagement.wire_engagement``) between an
unbounded read and idempotent sinks.

    ReadKafka (source.py, or a TestStream in tests) -> CountConsumed
      -> DecodeSocialEvents -> ClassifyLateness [Beam state] -> DeduplicateEvents [Beam state]
      -> EnrichEvents -> ScoreEngagement -> AggregateEngagement [Beam windows, panes]
      events -> TrackCareRequests [Beam state, event-time timers: care-v1 rows, overdue alerts]
      -> WriteToWarehouse (panes, events, duplicates, late, dead letters, care rows)
      -> PublishDeadLetters (the dead-letter topic) and CountOutcomes (Beam counters)

Every output of ``wire_engagement`` goes to a sink. ``StreamingSettings`` holds what only this
path has (early firings, dedup key buckets, which Kafka reader).
"""

from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines.analytics.care import CarePolicy
from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.engagement import StageOutputs, Stages, wire_engagement
from pipelines.io.kafka import KafkaSettings
from pipelines.streaming.care import TrackCareRequests
from pipelines.streaming.panes import AggregateEngagementPanes
from pipelines.streaming.sink import NAMESPACE, CountOutcomes, PublishDeadLettersFn, WriteToStreamingWarehouse
from pipelines.streaming.source import ReadKafkaUnbounded
from pipelines.streaming.state import ClassifyLatenessInState, DeduplicateInState


@dataclass(frozen=True)
class StreamingSettings:
    early_firing_seconds: int = 30  # processing time between early panes of an open window
    dedup_key_buckets: int = 256  # keys of the dedup state: more buckets, smaller state per key
    window_key_shards: int = 16  # keys of the window state per window: parallelism of the aggregation
    kafka_reader: str = "sdf"  # "sdf" (kafka-python, no Java) or "java" (Beam's ReadFromKafka)
    expansion_service: str | None = None  # HOST:PORT of a Java expansion service (reader "java")


def streaming_stages(job: JobConfig, settings: StreamingSettings) -> Stages:
    return Stages(
        lateness=ClassifyLatenessInState(job.smallest_window_seconds, job.allowed_lateness_seconds),
        dedup=DeduplicateInState(job.dedup_retention_seconds, settings.dedup_key_buckets),
        aggregate=AggregateEngagementPanes(
            job.window_seconds, job.allowed_lateness_seconds, settings.early_firing_seconds, settings.window_key_shards
        ),
    )


def kafka_source(job: JobConfig, settings: StreamingSettings) -> ReadKafkaUnbounded:
    return ReadKafkaUnbounded(
        KafkaSettings(job.bootstrap_servers),
        job.topic,
        job.group_id,
        job.schema_registry,
        job.max_value_bytes,
        job.chunk_records,
        settings.kafka_reader,
        settings.expansion_service,
    )


def _count_consumed(chunk):
    Metrics.counter(NAMESPACE, "consumed").inc(len(chunk.records))
    return chunk


def build_streaming(
    p: beam.Pipeline, job: JobConfig, catalog: Catalog, settings: StreamingSettings, source: beam.PTransform | None = None
) -> StageOutputs:
    """Applies the whole streaming job to ``p``; ``source`` replaces the Kafka read (tests)."""
    chunks = p | "ReadKafka" >> (source if source is not None else kafka_source(job, settings))
    counted = chunks | "CountConsumed" >> beam.Map(_count_consumed)
    out = wire_engagement(counted, job, catalog, streaming_stages(job, settings))
    care = out.events | "TrackCareRequests" >> TrackCareRequests(
        CarePolicy(frozenset(b.id for b in catalog.brands if b.role == "own")),
        job.smallest_window_seconds,
        job.allowed_lateness_seconds,
        job.dedup_retention_seconds,
        sla_from=(job.warehouse, catalog),  # the SLAs of care_sla_policy, read by each worker at setup
    )
    out | "WriteToWarehouse" >> WriteToStreamingWarehouse(job.warehouse, catalog, care_rows=care)
    out | "CountOutcomes" >> CountOutcomes()
    if job.dlq_topic:
        out.dead_letters | "PublishDeadLetters" >> beam.ParDo(PublishDeadLettersFn(KafkaSettings(job.bootstrap_servers), job.dlq_topic))
    return out
