"""Every Prometheus metric Ascolto exports, declared once, on a registry of our own.

Names follow ``ascolto_<thing>_<unit>``; counters end in ``_total``; labels come from closed
sets (dead-letter reasons, duplicate kinds, failure stages, the topic's partitions, latency
quantiles). Updated once per micro-batch from its accounting, never per event. The process,
platform and GC collectors are registered too (memory, CPU, restarts).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from pipelines import __version__
from pipelines.model import METRIC_VERSION, DeadLetterReason, DuplicateKind, FlagKind

FAILURE_STAGES = ("kafka", "pipeline", "warehouse", "analytics")
LATENCY_QUANTILES = ("0.5", "0.95", "1")


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, metric_version: str = METRIC_VERSION):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.consumed = Counter("ascolto_events_consumed_total", "Records read from Kafka and committed.", registry=r)
        self.accepted = Counter(
            "ascolto_events_accepted_total", "Events accepted into the warehouse (after dedup and lateness).", registry=r
        )
        self.duplicates = Counter("ascolto_events_duplicate_total", "Events dropped as duplicates, by kind.", ["kind"], registry=r)
        self.late = Counter(
            "ascolto_events_late_total", "Events beyond the allowed lateness: kept in late_events, not aggregated.", registry=r
        )
        self.dead_letters = Counter(
            "ascolto_dead_letters_total", "Records that could not become events, by reason.", ["reason"], registry=r
        )
        self.batches = Counter("ascolto_batches_committed_total", "Micro-batches committed to the warehouse.", registry=r)
        declare_failures(self, r)
        self.batch_duration = Histogram(
            "ascolto_batch_duration_seconds",
            "Wall time of one micro-batch, read to commit.",
            buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.commit_duration = Histogram(
            "ascolto_commit_duration_seconds",
            "Wall time of the warehouse transaction of one micro-batch.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
            registry=r,
        )
        self.event_latency = Gauge(
            "ascolto_event_latency_seconds",
            "Last batch: warehouse commit time minus the Kafka record timestamp, by quantile.",
            ["quantile"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "ascolto_consumer_lag_records", "Records written to the partition and not yet committed.", ["partition"], registry=r
        )
        self.partition_watermark = Gauge(
            "ascolto_partition_watermark_timestamp_seconds",
            "Largest event time decoded from the partition, Unix time.",
            ["partition"],
            registry=r,
        )
        self.watermark = Gauge("ascolto_watermark_timestamp_seconds", "Event-time watermark (min over partitions), Unix time.", registry=r)
        self.last_commit = Gauge("ascolto_last_commit_timestamp_seconds", "Unix time of the last successful warehouse commit.", registry=r)
        self.last_attempt = Gauge(
            "ascolto_last_batch_attempt_timestamp_seconds", "Unix time of the last micro-batch attempt, idle ones included.", registry=r
        )
        # Business KPIs. Labels: brand from the catalog (plus "unattributed") and platform from the
        # schema's enum: both closed sets.
        self.brand_mentions = Counter(
            "ascolto_brand_mentions_total",
            "Mentions (posts, mentions, comments, replies, reviews, DMs, shares) per brand and platform.",
            ["brand", "platform"],
            registry=r,
        )
        self.brand_engagement = Counter(
            "ascolto_brand_engagement_points_total",
            "Engagement points (engagement-v1) per brand and platform.",
            ["brand", "platform"],
            registry=r,
        )
        self.brand_impressions = Counter(
            "ascolto_brand_impressions_total", "Views and impressions per brand and platform.", ["brand", "platform"], registry=r
        )
        self.brand_reach = Counter("ascolto_brand_reach_total", "Estimated reach (reach-v1) per brand.", ["brand"], registry=r)
        self.brand_sentiment = Counter(
            "ascolto_brand_customer_mentions_total",
            "Customer mentions (not written by a brand account) per brand and sentiment (negative, neutral, positive, unknown).",
            ["brand", "sentiment"],
            registry=r,
        )
        declare_business_state(self, r)
        self.build_info = Gauge(
            "ascolto_build_info", "Version of Ascolto and of its metric definitions.", ["version", "metric_version"], registry=r
        )
        self.build_info.labels(__version__, metric_version).set(1)
        for reason in DeadLetterReason:
            self.dead_letters.labels(reason.value)
        for kind in DuplicateKind:
            self.duplicates.labels(kind.value)

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)


def declare_failures(m, r: CollectorRegistry) -> None:
    """``ascolto_batch_failures_total{stage}``: the pipeline's and the analytics sidecar's (stage analytics)."""
    m.failures = Counter(
        "ascolto_batch_failures_total",
        "Micro-batch attempts that failed, by stage (kafka, pipeline, warehouse; analytics: the post-commit crisis and care update).",
        ["stage"],
        registry=r,
    )
    for stage in FAILURE_STAGES:
        m.failures.labels(stage)


def declare_business_state(m, r: CollectorRegistry) -> None:
    """The crisis and care gauges and dedup-v1's flag counts, refreshed after embedded commits or by
    ``ascolto analytics``."""
    m.crisis_active = Gauge(
        "ascolto_brand_crisis_active",
        "1 while a crisis episode (detector crisis-v1) is open for the brand, else 0.",
        ["brand"],
        registry=r,
    )
    m.crisis_severity = Gauge(
        "ascolto_brand_crisis_severity_ratio",
        "Peak negative-mention rate of the open episode over the brand's baseline (0 without an open episode).",
        ["brand"],
        registry=r,
    )
    m.care_overdue = Gauge(
        "ascolto_care_requests_overdue",
        "Customer complaints and questions to an own brand still unanswered past the brand's SLA (care-v1).",
        ["brand"],
        registry=r,
    )
    m.care_sla_share = Gauge(
        "ascolto_care_sla_share_ratio",
        "Share of decided customer requests answered within the SLA (answered or overdue), per own brand (care-v1).",
        ["brand"],
        registry=r,
    )
    m.flagged = Gauge(
        "ascolto_events_flagged",
        "Accepted events flagged by dedup-v1 (cross-posts, coordinated copy-paste bursts), whole history, by kind.",
        ["kind"],
        registry=r,
    )
    for flag in FlagKind:
        m.flagged.labels(flag.value)


class AnalyticsMetrics:
    """What ``ascolto analytics --follow`` (the sidecar of the streaming runners) exports: the
    business gauges and analytics failures under the pipeline's names (the same alerts hold), and
    its own progress."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        declare_failures(self, r)
        declare_business_state(self, r)
        self.runs = Counter("ascolto_analytics_runs_total", "Analytics passes that completed (crisis episodes and gauges).", registry=r)
        self.changes = Counter(
            "ascolto_analytics_changes_total", "Change marks of the streaming sink consumed by analytics passes.", registry=r
        )
        self.last_run = Gauge("ascolto_analytics_last_run_timestamp_seconds", "Unix time of the last completed analytics pass.", registry=r)
        self.run_duration = Gauge("ascolto_analytics_run_duration_seconds", "Wall time of the last completed analytics pass.", registry=r)

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
