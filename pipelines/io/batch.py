"""What one micro-batch produced, as the warehouses receive it: Arrow tables for the bulk
(accepted events, window deltas) and small lists for the rest; and the shared SQL that both
warehouses run inside their commit transaction (offsets, finality, eviction, accounting)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa

from pipelines.io.windows import TABLES, finalize_sql
from pipelines.model import DeadLetter, Duplicate, LateEvent, PartitionWatermark, ReadRange


@dataclass
class BatchOutputs:
    """Everything one micro-batch produced, as read back from the pipeline."""

    ranges: list[ReadRange]
    watermarks: list[PartitionWatermark]
    windows: pa.Table  # engagement_window deltas, columns of io.windows.ENGAGEMENT.to_arrow
    aspect_windows: pa.Table  # aspect_window deltas, columns of io.windows.ASPECTS.to_arrow
    facts: pa.Table  # accepted events, columns of fact_events (see events_to_arrow)
    duplicates: list[Duplicate]
    late: list[LateEvent]
    dead_letters: list[DeadLetter]
    committed_at: datetime | None = None

    def latency_quantiles_s(self, quantiles: tuple[float, ...]) -> list[float]:
        """Commit time minus Kafka record timestamp of the accepted events, at each quantile."""
        if self.committed_at is None or self.facts.num_rows == 0:
            return []
        ts = self.facts.column("kafka_timestamp").cast(pa.int64()).to_numpy()
        import numpy as np

        lat = self.committed_at.timestamp() - ts / 1000.0
        return [float(x) for x in np.quantile(lat, quantiles)]

    @property
    def accepted(self) -> int:
        return self.facts.num_rows

    @property
    def consumed(self) -> int:
        return sum(r.end - r.start for r in self.ranges)


@dataclass(frozen=True)
class Dialect:
    """What differs between the warehouses' SQL in the shared statements below."""

    param: str  # placeholder
    epoch_ms: str  # expression template: milliseconds since the epoch of a TIMESTAMP column {}
    timestamp: str  # expression template: TIMESTAMP from milliseconds {}


DUCKDB = Dialect("?", "epoch_ms({})", "epoch_ms({})")
POSTGRES = Dialect("%s", "(extract(epoch FROM {}) * 1000)", "(to_timestamp({} / 1000.0) AT TIME ZONE 'UTC')")


def global_watermark_ms(query, d: Dialect, topic: str, partitions: int) -> int | None:
    """Min over all partitions of their watermark; None until every partition has one."""
    n, wm = query(
        f"SELECT count(*), min(max_event_time_ms) FROM source_offsets WHERE topic = {d.param} AND max_event_time_ms >= 0", [topic]
    )[0]
    return wm if n >= partitions else None


def advance_offsets(query, d: Dialect, topic: str, partitions: int, out: BatchOutputs, now: datetime) -> tuple[int | None, int | None]:
    """Inside the commit: next offsets and watermarks per partition; returns the global watermark
    before and after them (None until every partition has one)."""
    p = d.param
    before = global_watermark_ms(query, d, topic, partitions)
    for r in out.ranges:
        wm = max((w.max_event_time_ms for w in out.watermarks if w.partition == r.partition and w.topic == r.topic), default=-1)
        query(
            f"""INSERT INTO source_offsets VALUES ({p}, {p}, {p}, {p}, {p})
                  ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset,
                  max_event_time_ms = greatest(source_offsets.max_event_time_ms, excluded.max_event_time_ms),
                  updated_at = excluded.updated_at""",
            [r.topic, r.partition, r.end, wm, now],
        )
    return before, global_watermark_ms(query, d, topic, partitions)


def commit_bookkeeping(
    query,
    d: Dialect,
    batch_id: int,
    topic: str,
    watermark: int | None,
    out: BatchOutputs,
    allowed_lateness_seconds: int,
    dedup_retention_seconds: int,
    started_at: datetime,
    pipeline_seconds: float,
    t0: float,
    now: datetime,
) -> None:
    """The end of a micro-batch commit both warehouses share, inside their transaction, after the
    window upserts: windows of every size and table that became final, dedup ids beyond the
    retention, and the batch's accounting row."""
    p = d.param
    if watermark is not None:
        for table in TABLES:
            query(finalize_sql(table, d), [now, allowed_lateness_seconds * 1000, watermark])
        query(f"DELETE FROM dedup_event_ids WHERE event_time_ms < {p}", [watermark - dedup_retention_seconds * 1000])
    window_rows = out.windows.num_rows + out.aspect_windows.num_rows
    placeholders = ", ".join([p] * 13)
    query(
        f"INSERT INTO batches VALUES ({placeholders})",
        [
            batch_id,
            topic,
            started_at.replace(tzinfo=None),
            now,
            out.consumed,
            out.accepted,
            len(out.duplicates),
            len(out.late),
            len(out.dead_letters),
            window_rows,
            _ts(watermark) if watermark is not None else None,
            pipeline_seconds,
            time.perf_counter() - t0,
        ],
    )


def sync_brands(query, d: Dialect, catalog) -> None:
    """The brand dimension follows the catalog (names, sectors and roles can change; ids do not)."""
    p = d.param
    for b in catalog.brands:
        query(
            f"""INSERT INTO brand_dim VALUES ({p}, {p}, {p}, {p}) ON CONFLICT (brand) DO UPDATE SET
                  name = excluded.name, sector = excluded.sector, role = excluded.role""",
            [b.id, b.name, b.sector, b.role],
        )


def events_to_arrow(events: list[dict]) -> pa.Table:
    """Accepted, enriched, scored events -> the columns of ``fact_events`` (built where the
    events are, so the driver receives Arrow instead of unpickling dicts)."""
    authors = [e["author"] for e in events]
    return pa.table(
        {
            "event_id": pa.array([e["event_id"] for e in events], pa.string()),
            "event_time": pa.array([e["event_time"] for e in events], pa.timestamp("ms")),
            "ingest_time": pa.array([e["ingest_time"] for e in events], pa.timestamp("ms")),
            "platform": pa.array([e["platform"] for e in events], pa.string()),
            "event_type": pa.array([e["event_type"] for e in events], pa.string()),
            "reaction_kind": pa.array([e["reaction_kind"] for e in events], pa.string()),
            "review_rating": pa.array([e["review_rating"] for e in events], pa.int32()),
            "author_id": pa.array([a["id"] for a in authors], pa.string()),
            "author_handle": pa.array([a["handle"] for a in authors], pa.string()),
            "author_follower_count": pa.array([a["follower_count"] for a in authors], pa.int64()),
            "author_is_brand_account": pa.array([a["is_brand_account"] for a in authors], pa.bool_()),
            "text": pa.array([e["text"] for e in events], pa.string()),
            "thread_id": pa.array([e["thread_id"] for e in events], pa.string()),
            "parent_id": pa.array([e["parent_id"] for e in events], pa.string()),
            "channel_owner": pa.array([e["channel_owner"] for e in events], pa.string()),
            "device": pa.array([e["device"] for e in events], pa.string()),
            "lang": pa.array([e["lang"] for e in events], pa.string()),
            "brands": pa.array([e["brands"] for e in events], pa.list_(pa.string())),
            "engagement_points": pa.array([e["engagement_points"] for e in events], pa.int32()),
            "reach": pa.array([e["reach"] for e in events], pa.int64()),
            "topic": pa.array([e["kafka_topic"] for e in events], pa.string()),
            "kafka_partition": pa.array([e["kafka_partition"] for e in events], pa.int32()),
            "kafka_offset": pa.array([e["kafka_offset"] for e in events], pa.int64()),
            "kafka_timestamp": pa.array([e["kafka_timestamp"] for e in events], pa.timestamp("ms")),
            "sentiment": pa.array([e["sentiment"] for e in events], pa.string()),
            "sentiment_score": pa.array([e["sentiment_score"] for e in events], pa.float64()),
            "emotion": pa.array([e["emotion"] for e in events], pa.string()),
            "intent": pa.array([e["intent"] for e in events], pa.string()),
            "is_offensive": pa.array([e["is_offensive"] for e in events], pa.bool_()),
            "aspects": pa.array([e["aspects"] for e in events], pa.list_(pa.string())),
            "nlp_version": pa.array([e["nlp_version"] for e in events], pa.string()),
            "influence": pa.array([e["influence"] for e in events], pa.float64()),
            "crisis_risk": pa.array([e["crisis_risk"] for e in events], pa.float64()),
            "text_fingerprint": pa.array([e["text_fingerprint"] for e in events], pa.int64()),
            "text_simhash": pa.array([e["text_simhash"] for e in events], pa.int64()),
            "text_tokens": pa.array([e["text_tokens"] for e in events], pa.int32()),
        }
    )


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)
