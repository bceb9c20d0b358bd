"""The DuckDB warehouse: schema, committed state, and the one-transaction micro-batch commit.

What one commit writes, atomically: the window deltas (upserted: added to existing rows,
revision + 1), accepted events (facts), the dedup ids, duplicates, late events, dead
letters, the next offset and watermark of every partition read, the finality of windows
the watermark has passed, the eviction of dedup ids beyond the retention, and the batch's
accounting row. A crash before COMMIT leaves the warehouse as it was; the driver then
replays the same offsets, which classify, dedup and aggregate the same way.

DuckDB pitfall (ARCHITECTURE.md): ``INSERT ... ON CONFLICT DO UPDATE`` with one key twice
in a batch silently keeps one row. Window deltas arrive pre-aggregated by key from the
pipeline, and ``commit`` checks that keys are unique before the upsert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.model import METRIC_VERSION, DeadLetter, Duplicate, LateEvent, PartitionWatermark, ReadRange, WindowRow
from schemas import SCHEMA_DIR

SCHEMA_VERSION = "1"


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or refuses a commit."""


@dataclass(frozen=True)
class PartitionState:
    next_offset: int
    max_event_time_ms: int


@dataclass
class BatchOutputs:
    """Everything one micro-batch produced, as read back from the pipeline."""

    ranges: list[ReadRange]
    watermarks: list[PartitionWatermark]
    windows: pa.Table  # window deltas, columns of window_rows_to_arrow
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


class DuckDBSeenIds:
    """Dedup history lookup against the warehouse.

    ``read_only=False``: in the driver's process while it holds the warehouse (DuckDB shares the
    instance). ``read_only=True``: while the driver has suspended its connection, from any
    process (worker processes included)."""

    def __init__(self, path: str, read_only: bool = False):
        self._path = path
        self._read_only = read_only
        self._con: duckdb.DuckDBPyConnection | None = None

    def open(self) -> DuckDBSeenIds:
        opened = DuckDBSeenIds(self._path, self._read_only)
        opened._con = duckdb.connect(self._path, read_only=self._read_only)
        return opened

    def seen(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        probe = pa.table({"event_id": pa.array(event_ids, pa.string())})
        rows = self._con.execute("SELECT d.event_id FROM dedup_event_ids d JOIN probe p USING (event_id)").fetchall()
        del probe
        return {r[0] for r in rows}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


class DuckDBWarehouse:
    def __init__(self, path: str):
        self.path = str(Path(path).expanduser())
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}. Is another 'ascolto run' using it?") from None
        self.con.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())
        self.con.execute("INSERT INTO warehouse_meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION])

    def close(self) -> None:
        self.con.close()

    def suspend(self) -> None:
        """Closes the connection so that other processes can open the file read-only."""
        self.con.close()

    def resume(self) -> None:
        try:
            self.con = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            raise WarehouseError(f"cannot reopen warehouse {self.path}: {exc}") from None

    def seen_ids_source(self, read_only: bool = False) -> DuckDBSeenIds:
        return DuckDBSeenIds(self.path, read_only)

    def source_state(self, topic: str) -> dict[int, PartitionState]:
        rows = self.con.execute(
            "SELECT kafka_partition, next_offset, max_event_time_ms FROM source_offsets WHERE topic = ?", [topic]
        ).fetchall()
        return {p: PartitionState(o, w) for p, o, w in rows}

    def next_batch_id(self) -> int:
        return self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchall()[0][0]

    def commit(
        self,
        batch_id: int,
        topic: str,
        partitions: int,
        out: BatchOutputs,
        window_seconds: int,
        allowed_lateness_seconds: int,
        dedup_retention_seconds: int,
        started_at: datetime,
        pipeline_seconds: float,
    ) -> float:
        """Commits one micro-batch in one transaction; returns the commit's duration in seconds.
        Afterwards ``out.committed_at`` holds the commit time."""
        if out.windows.num_rows and out.windows.group_by(list(WINDOW_KEY_COLUMNS)).aggregate([]).num_rows != out.windows.num_rows:
            raise WarehouseError("window deltas repeat a key: refusing an upsert that would drop rows")
        t0 = time.perf_counter()
        now = datetime.now(UTC).replace(tzinfo=None)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            self._upsert_windows(out.windows, window_seconds, now)
            self._insert_facts(out.facts, batch_id)
            self._insert_rows(out, batch_id, now)
            commit_bookkeeping(
                lambda sql, params: con.execute(sql, params).fetchall(),
                DUCKDB,
                batch_id,
                topic,
                partitions,
                out,
                window_seconds,
                allowed_lateness_seconds,
                dedup_retention_seconds,
                started_at,
                pipeline_seconds,
                t0,
                now,
            )
            con.execute("COMMIT")
            out.committed_at = datetime.now(UTC)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return time.perf_counter() - t0

    def global_watermark_ms(self, topic: str, partitions: int) -> int | None:
        return global_watermark_ms(lambda sql, params: self.con.execute(sql, params).fetchall(), DUCKDB, topic, partitions)

    def sync_brands(self, catalog) -> None:
        sync_brands(lambda sql, params: self.con.execute(sql, params).fetchall(), DUCKDB, catalog)

    def _upsert_windows(self, delta: pa.Table, window_seconds: int, now: datetime) -> None:
        if delta.num_rows == 0:
            return
        w_ms = window_seconds * 1000
        self.con.register("window_delta", delta)
        try:
            self.con.execute(
                f"""INSERT INTO engagement_window
                    SELECT epoch_ms(ws), epoch_ms(ws + {w_ms}), {window_seconds}, brand, platform, event_type, lang,
                           events, points, reach, impressions, 1, false, '{METRIC_VERSION}', ?
                    FROM window_delta
                    ON CONFLICT (window_start, window_seconds, brand, platform, event_type, lang) DO UPDATE SET
                      events = engagement_window.events + excluded.events,
                      engagement_points = engagement_window.engagement_points + excluded.engagement_points,
                      reach = engagement_window.reach + excluded.reach,
                      impressions = engagement_window.impressions + excluded.impressions,
                      revision = engagement_window.revision + 1,
                      updated_at = excluded.updated_at""",
                [now],
            )
        finally:
            self.con.unregister("window_delta")

    def _insert_facts(self, facts: pa.Table, batch_id: int) -> None:
        if facts.num_rows == 0:
            return
        self.con.register("facts_batch", facts)
        try:
            self.con.execute("INSERT INTO dedup_event_ids SELECT event_id, epoch_ms(event_time) FROM facts_batch")
            self.con.execute(
                f"""INSERT INTO fact_events SELECT event_id, event_time, ingest_time, platform, event_type, reaction_kind,
                    review_rating, author_id, author_handle, author_follower_count, author_is_brand_account, text,
                    thread_id, parent_id, channel_owner, device, lang, brands, engagement_points, reach,
                    '{METRIC_VERSION}', topic, kafka_partition, kafka_offset, kafka_timestamp, {int(batch_id)} FROM facts_batch"""
            )
        finally:
            self.con.unregister("facts_batch")

    def _insert_rows(self, out: BatchOutputs, batch_id: int, now: datetime) -> None:
        """Duplicates, late events and dead letters, set-based from Arrow (never row by row)."""
        d, x, dl = out.duplicates, out.late, out.dead_letters
        self._insert_arrow(
            "duplicate_events",
            f"topic, kafka_partition, kafka_offset, event_id, kind, {int(batch_id)}",
            {
                "topic": pa.array([i.topic for i in d], pa.string()),
                "kafka_partition": pa.array([i.partition for i in d], pa.int32()),
                "kafka_offset": pa.array([i.offset for i in d], pa.int64()),
                "event_id": pa.array([i.event_id for i in d], pa.string()),
                "kind": pa.array([i.kind for i in d], pa.string()),
            },
        )
        self._insert_arrow(
            "late_events",
            f"topic, kafka_partition, kafka_offset, event_id, epoch_ms(t), epoch_ms(ws), epoch_ms(wm), record_value, {int(batch_id)}",
            {
                "topic": pa.array([i.topic for i in x], pa.string()),
                "kafka_partition": pa.array([i.partition for i in x], pa.int32()),
                "kafka_offset": pa.array([i.offset for i in x], pa.int64()),
                "event_id": pa.array([i.event_id for i in x], pa.string()),
                "t": pa.array([i.event_time_ms for i in x], pa.int64()),
                "ws": pa.array([i.window_start_ms for i in x], pa.int64()),
                "wm": pa.array([i.watermark_ms for i in x], pa.int64()),
                "record_value": pa.array([i.value for i in x], pa.binary()),
            },
        )
        self._insert_arrow(
            "dead_letters (topic, kafka_partition, kafka_offset, reason, message, step, record_key, record_value, recorded_at, batch_id)",
            f"topic, kafka_partition, kafka_offset, reason, message, step, record_key, record_value, ?::TIMESTAMP, {int(batch_id)}",
            {
                "topic": pa.array([i.topic for i in dl], pa.string()),
                "kafka_partition": pa.array([i.partition for i in dl], pa.int32()),
                "kafka_offset": pa.array([i.offset for i in dl], pa.int64()),
                "reason": pa.array([i.reason for i in dl], pa.string()),
                "message": pa.array([i.message for i in dl], pa.string()),
                "step": pa.array([i.step for i in dl], pa.string()),
                "record_key": pa.array([i.key for i in dl], pa.binary()),
                "record_value": pa.array([i.value for i in dl], pa.binary()),
            },
            [now],
        )

    def _insert_arrow(self, table: str, select: str, columns: dict[str, pa.Array], params: list | None = None) -> None:
        batch = pa.table(columns)
        if batch.num_rows == 0:
            return
        name = f"{table.split()[0]}_batch"
        self.con.register(name, batch)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT {select} FROM {name}", params or [])
        finally:
            self.con.unregister(name)


WINDOW_KEY_COLUMNS = ("ws", "brand", "platform", "event_type", "lang")


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


def commit_bookkeeping(
    query,
    d: Dialect,
    batch_id: int,
    topic: str,
    partitions: int,
    out: BatchOutputs,
    window_seconds: int,
    allowed_lateness_seconds: int,
    dedup_retention_seconds: int,
    started_at: datetime,
    pipeline_seconds: float,
    t0: float,
    now: datetime,
) -> None:
    """The part of a micro-batch commit both warehouses share, inside their transaction: next
    offsets and watermarks per partition, windows that became final, dedup ids beyond the
    retention, and the batch's accounting row."""
    p = d.param
    for r in out.ranges:
        wm = max((w.max_event_time_ms for w in out.watermarks if w.partition == r.partition and w.topic == r.topic), default=-1)
        query(
            f"""INSERT INTO source_offsets VALUES ({p}, {p}, {p}, {p}, {p})
                  ON CONFLICT (topic, kafka_partition) DO UPDATE SET next_offset = excluded.next_offset,
                  max_event_time_ms = greatest(source_offsets.max_event_time_ms, excluded.max_event_time_ms),
                  updated_at = excluded.updated_at""",
            [r.topic, r.partition, r.end, wm, now],
        )
    watermark = global_watermark_ms(query, d, topic, partitions)
    if watermark is not None:
        query(
            f"""UPDATE engagement_window SET is_final = true, updated_at = {p}
                  WHERE NOT is_final AND window_seconds = {p} AND {d.epoch_ms.format("window_end")} + {p} <= {p}""",
            [now, window_seconds, allowed_lateness_seconds * 1000, watermark],
        )
        query(f"DELETE FROM dedup_event_ids WHERE event_time_ms < {p}", [watermark - dedup_retention_seconds * 1000])
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
            out.windows.num_rows,
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


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_warehouse(location: str):
    """A DuckDB file path, or a ``postgresql://`` DSN."""
    if is_postgres(location):
        from pipelines.io.postgres import PostgresWarehouse

        return PostgresWarehouse(location)
    return DuckDBWarehouse(location)


def window_rows_to_arrow(rows: list[WindowRow]) -> pa.Table:
    """Window deltas -> columns (keys as in WindowKey, totals as in WindowTotals)."""
    return pa.table(
        {
            "ws": pa.array([r.key.window_start_ms for r in rows], pa.int64()),
            "brand": pa.array([r.key.brand for r in rows], pa.string()),
            "platform": pa.array([r.key.platform for r in rows], pa.string()),
            "event_type": pa.array([r.key.event_type for r in rows], pa.string()),
            "lang": pa.array([r.key.lang for r in rows], pa.string()),
            "events": pa.array([r.totals.events for r in rows], pa.int64()),
            "points": pa.array([r.totals.engagement_points for r in rows], pa.int64()),
            "reach": pa.array([r.totals.reach for r in rows], pa.int64()),
            "impressions": pa.array([r.totals.impressions for r in rows], pa.int64()),
        }
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
        }
    )


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)
