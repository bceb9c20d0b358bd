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

from pipelines.io.batch import DUCKDB, BatchOutputs, advance_offsets, commit_bookkeeping, global_watermark_ms, sync_brands
from pipelines.io.windows import (
    ASPECTS,
    ENGAGEMENT,
    WindowTable,
    has_unique_keys,
    pane_timing_sql,
    retire_legacy_windows,
    upsert_deltas_sql,
)
from pipelines.model import METRIC_VERSION
from schemas import SCHEMA_DIR

SCHEMA_VERSION = "5"  # 2: enrichment on fact_events; 3: per-event scores; 4: text sketch (dedup-v1); 5: windows by size, device, sentiment, aspect_window, panes


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or refuses a commit."""


@dataclass(frozen=True)
class PartitionState:
    next_offset: int
    max_event_time_ms: int


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
    dialect = DUCKDB  # for the analytics that run on ``con`` after a commit

    def __init__(self, path: str):
        self.path = str(Path(path).expanduser())
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(self.path)
        except duckdb.IOException as exc:
            raise WarehouseError(f"cannot open warehouse {self.path}: {exc}. Is another 'ascolto run' using it?") from None
        retire_legacy_windows(lambda sql, params: self.con.execute(sql, params).fetchall(), postgres=False)
        self.con.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())
        self.con.execute(
            "INSERT INTO warehouse_meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [SCHEMA_VERSION],
        )

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
        allowed_lateness_seconds: int,
        dedup_retention_seconds: int,
        started_at: datetime,
        pipeline_seconds: float,
    ) -> float:
        """Commits one micro-batch in one transaction; returns the commit's duration in seconds.
        Afterwards ``out.committed_at`` holds the commit time."""
        if not (has_unique_keys(ENGAGEMENT, out.windows) and has_unique_keys(ASPECTS, out.aspect_windows)):
            raise WarehouseError("window deltas repeat a key: refusing an upsert that would drop rows")
        t0 = time.perf_counter()
        now = datetime.now(UTC).replace(tzinfo=None)
        con = self.con

        def query(sql, params):
            return con.execute(sql, params).fetchall()

        con.execute("BEGIN TRANSACTION")
        try:
            before, after = advance_offsets(query, DUCKDB, topic, partitions, out, now)
            timing = pane_timing_sql(before, after)
            self._upsert_windows(ENGAGEMENT, out.windows, timing, now)
            self._upsert_windows(ASPECTS, out.aspect_windows, timing, now)
            self._insert_facts(out.facts, batch_id)
            self._insert_rows(out, batch_id, now)
            commit_bookkeeping(
                query,
                DUCKDB,
                batch_id,
                topic,
                after,
                out,
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

    def _upsert_windows(self, table: WindowTable, delta: pa.Table, timing: str, now: datetime) -> None:
        if delta.num_rows == 0:
            return
        self.con.register("window_delta", delta)
        try:
            self.con.execute(upsert_deltas_sql(table, DUCKDB, "window_delta", timing), [METRIC_VERSION, now])
        finally:
            self.con.unregister("window_delta")

    def _insert_facts(self, facts: pa.Table, batch_id: int) -> None:
        if facts.num_rows == 0:
            return
        self.con.register("facts_batch", facts)
        try:
            self.con.execute("INSERT INTO dedup_event_ids SELECT event_id, epoch_ms(event_time) FROM facts_batch")
            # By name: columns added by migrations sit at the end of old tables, in another order.
            self.con.execute(
                f"""INSERT INTO fact_events BY NAME SELECT *, '{METRIC_VERSION}' AS metric_version, {int(batch_id)} AS batch_id
                    FROM facts_batch"""
            )
        finally:
            self.con.unregister("facts_batch")

    def _insert_rows(self, out: BatchOutputs, batch_id: int, now: datetime) -> None:
        insert_side_rows(self.con, out.duplicates, out.late, out.dead_letters, batch_id, now)


def insert_side_rows(
    con: duckdb.DuckDBPyConnection, duplicates: list, late: list, dead_letters: list, batch_id: int, now: datetime, idempotent: bool = False
) -> None:
    """Duplicates, late events and dead letters into DuckDB, set-based from Arrow (never row by
    row). ``idempotent``: rows already there (same Kafka coordinates) are skipped, for sinks that
    may see a record twice (the streaming path's retries); the embedded driver's commit wants a
    repeat to fail."""
    d, x, dl = duplicates, late, dead_letters
    conflict = " ON CONFLICT DO NOTHING" if idempotent else ""

    def insert(table: str, select: str, columns: dict[str, pa.Array], params: list | None = None) -> None:
        batch = pa.table(columns)
        if batch.num_rows == 0:
            return
        name = f"{table.split()[0]}_batch"
        con.register(name, batch)
        try:
            con.execute(f"INSERT INTO {table} SELECT {select} FROM {name}{conflict}", params or [])
        finally:
            con.unregister(name)

    insert(
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
    insert(
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
    insert(
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


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_warehouse(location: str):
    """A DuckDB file path, or a ``postgresql://`` DSN."""
    if is_postgres(location):
        from pipelines.io.postgres import PostgresWarehouse

        return PostgresWarehouse(location)
    return DuckDBWarehouse(location)
