"""Every Prometheus metric Ascolto exports, declared once, on a registry of our own.

Names follow ``ascolto_<thing>_<unit>``; counters end in ``_total``; labels come from closed
sets (dead-letter reasons, duplicate kinds, the topic's partitions). Updated once per
micro-batch from its accounting, never per event.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from pipelines.model import DeadLetterReason, DuplicateKind


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.consumed = Counter("ascolto_events_consumed_total", "Records read from Kafka and committed.", registry=r)
        self.accepted = Counter("ascolto_events_accepted_total", "Events accepted into the warehouse (after dedup and lateness).", registry=r)
        self.duplicates = Counter("ascolto_events_duplicate_total", "Events dropped as duplicates, by kind.", ["kind"], registry=r)
        self.late = Counter("ascolto_events_late_total", "Events beyond the allowed lateness: kept in late_events, not aggregated.", registry=r)
        self.dead_letters = Counter("ascolto_dead_letters_total", "Records that could not become events, by reason.", ["reason"], registry=r)
        self.batches = Counter("ascolto_batches_committed_total", "Micro-batches committed to the warehouse.", registry=r)
        self.batch_duration = Histogram(
            "ascolto_batch_duration_seconds", "Wall time of one micro-batch, read to commit.",
            buckets=(0.25, 0.5, 1, 2, 4, 8, 16, 32, 64), registry=r)
        self.commit_duration = Histogram(
            "ascolto_commit_duration_seconds", "Wall time of the warehouse transaction of one micro-batch.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5), registry=r)
        self.consumer_lag = Gauge("ascolto_consumer_lag_records", "Records written to the partition and not yet committed.", ["partition"], registry=r)
        self.watermark = Gauge("ascolto_watermark_timestamp_seconds", "Event-time watermark (min over partitions), Unix time.", registry=r)
        self.last_commit = Gauge("ascolto_last_commit_timestamp_seconds", "Unix time of the last successful warehouse commit.", registry=r)
        for reason in DeadLetterReason:
            self.dead_letters.labels(reason.value)
        for kind in DuplicateKind:
            self.duplicates.labels(kind.value)

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
