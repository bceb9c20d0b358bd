"""The PostgreSQL warehouse: the same schema and the same one-transaction micro-batch commit as
the DuckDB warehouse (``warehouse.py``), for BI tools and Grafana that read a server.

Bulk data goes in with COPY (CSV written by Arrow, never row by row) into temporary tables,
then set-based INSERT/UPSERT statements inside the transaction. Window deltas arrive with
unique keys (PostgreSQL refuses to upsert one row twice in a statement, DuckDB silently keeps
one: both are guarded the same way).
"""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipelines.io.batch import POSTGRES, BatchOutputs, advance_offsets, commit_bookkeeping, global_watermark_ms, sync_brands
from pipelines.io.warehouse import SCHEMA_VERSION, PartitionState, WarehouseError
from pipelines.io.windows import (
    ASPECTS,
    ENGAGEMENT,
    WindowTable,
    copy_ddl,
    has_unique_keys,
    pane_timing_sql,
    retire_legacy_windows,
    upsert_deltas_sql,
)
from pipelines.model import METRIC_VERSION
from schemas import SCHEMA_DIR


def _psycopg():
    try:
        import psycopg
    except ImportError:
        raise WarehouseError("a PostgreSQL warehouse needs psycopg: pip install 'psycopg[binary]'") from None
    return psycopg


def _csv(table: pa.Table) -> bytes:
    """Arrow -> CSV for COPY: lists as PostgreSQL array literals, binary as bytea hex."""
    cols = {}
    for name in table.column_names:
        col = table[name]
        if pa.types.is_list(col.type):
            col = pc.binary_join_element_wise("{", pc.binary_join(col, ","), "}", "")
        elif pa.types.is_binary(col.type):
            col = pa.array([None if v is None else "\\x" + v.hex() for v in col.to_pylist()], pa.string())
        cols[name] = col
    buf = io.BytesIO()
    pacsv.write_csv(pa.table(cols), buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buf.getvalue()


def _query(con):
    def query(sql: str, params: list) -> list:
        cur = con.execute(sql, params)
        return cur.fetchall() if cur.description else []

    return query


class PostgresSeenIds:
    def __init__(self, dsn: str):
        self._dsn = dsn
        self._con = None

    def open(self) -> PostgresSeenIds:
        opened = PostgresSeenIds(self._dsn)
        opened._con = _psycopg().connect(self._dsn, autocommit=True)
        return opened

    def seen(self, event_ids: list[str]) -> set[str]:
        if not event_ids:
            return set()
        rows = self._con.execute("SELECT event_id FROM dedup_event_ids WHERE event_id = ANY(%s)", [event_ids]).fetchall()
        return {r[0] for r in rows}

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


class PostgresWarehouse:
    dialect = POSTGRES  # for the analytics that run on ``con`` after a commit

    def __init__(self, dsn: str):
        psycopg = _psycopg()
        self.dsn = dsn
        self.path = dsn
        try:
            self.con = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as exc:
            raise WarehouseError(f"cannot connect to the PostgreSQL warehouse: {' '.join(str(exc).split())}") from None
        with self.con.transaction():
            self.con.execute("SELECT pg_advisory_xact_lock(4242)")  # two pipelines creating the schema at once
            retire_legacy_windows(_query(self.con), postgres=True)
            self.con.execute((SCHEMA_DIR / "warehouse" / "postgres.sql").read_text())
            self.con.execute(
                "INSERT INTO warehouse_meta VALUES ('schema_version', %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [SCHEMA_VERSION],
            )

    def close(self) -> None:
        self.con.close()

    def suspend(self) -> None:
        """A server allows many readers: nothing to release."""

    def resume(self) -> None:
        pass

    def seen_ids_source(self, read_only: bool = False) -> PostgresSeenIds:
        return PostgresSeenIds(self.dsn)

    def source_state(self, topic: str) -> dict[int, PartitionState]:
        rows = self.con.execute(
            "SELECT kafka_partition, next_offset, max_event_time_ms FROM source_offsets WHERE topic = %s", [topic]
        ).fetchall()
        return {p: PartitionState(o, w) for p, o, w in rows}

    def next_batch_id(self) -> int:
        return self.con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batches").fetchone()[0]

    def global_watermark_ms(self, topic: str, partitions: int) -> int | None:
        return global_watermark_ms(_query(self.con), POSTGRES, topic, partitions)

    def sync_brands(self, catalog) -> None:
        sync_brands(_query(self.con), POSTGRES, catalog)

    def _copy(self, name: str, ddl: str, table: pa.Table) -> None:
        """A temporary table (dropped at commit) filled by COPY from Arrow."""
        self.con.execute(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP")
        if table.num_rows:
            with self.con.cursor().copy(f"COPY {name} FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(_csv(table))

    def insert_side_rows(
        self, duplicates: list, late: list, dead_letters: list, batch_id: int, now: datetime, idempotent: bool = False
    ) -> None:
        """Duplicates, late events and dead letters by COPY, inside the caller's transaction.
        ``idempotent``: rows already there (same Kafka coordinates) are skipped, for sinks that may
        see a record twice (the streaming path); the embedded driver's commit wants a repeat to fail."""
        con, conflict = self.con, " ON CONFLICT DO NOTHING" if idempotent else ""
        d, x, dl = duplicates, late, dead_letters
        self._copy(
            "dups_batch",
            "topic TEXT, p INT, o BIGINT, event_id TEXT, kind TEXT",
            pa.table(
                {
                    "topic": [i.topic for i in d],
                    "p": [i.partition for i in d],
                    "o": [i.offset for i in d],
                    "event_id": [i.event_id for i in d],
                    "kind": [i.kind for i in d],
                }
            )
            if d
            else pa.table({"x": []}),
        )
        con.execute(f"INSERT INTO duplicate_events SELECT topic, p, o, event_id, kind, %s FROM dups_batch{conflict}", [batch_id])
        self._copy(
            "late_batch",
            "topic TEXT, p INT, o BIGINT, event_id TEXT, t BIGINT, ws BIGINT, wm BIGINT, v BYTEA",
            pa.table(
                {
                    "topic": [i.topic for i in x],
                    "p": [i.partition for i in x],
                    "o": [i.offset for i in x],
                    "event_id": [i.event_id for i in x],
                    "t": [i.event_time_ms for i in x],
                    "ws": [i.window_start_ms for i in x],
                    "wm": [i.watermark_ms for i in x],
                    "v": pa.array([i.value for i in x], pa.binary()),
                }
            )
            if x
            else pa.table({"x": []}),
        )
        con.execute(
            f"""INSERT INTO late_events SELECT topic, p, o, event_id, to_timestamp(t / 1000.0) AT TIME ZONE 'UTC',
                       to_timestamp(ws / 1000.0) AT TIME ZONE 'UTC', to_timestamp(wm / 1000.0) AT TIME ZONE 'UTC', v, %s
                       FROM late_batch{conflict}""",
            [batch_id],
        )
        self._copy(
            "dl_batch",
            "topic TEXT, p INT, o BIGINT, reason TEXT, message TEXT, step TEXT, k BYTEA, v BYTEA",
            pa.table(
                {
                    "topic": [i.topic for i in dl],
                    "p": [i.partition for i in dl],
                    "o": [i.offset for i in dl],
                    "reason": [i.reason for i in dl],
                    "message": [i.message for i in dl],
                    "step": [i.step for i in dl],
                    "k": pa.array([i.key for i in dl], pa.binary()),
                    "v": pa.array([i.value for i in dl], pa.binary()),
                }
            )
            if dl
            else pa.table({"x": []}),
        )
        con.execute(
            f"""INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, reason, message, step, record_key, record_value,
                       recorded_at, batch_id) SELECT topic, p, o, reason, message, step, k, v, %s, %s FROM dl_batch{conflict}""",
            [now, batch_id],
        )

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
        if not (has_unique_keys(ENGAGEMENT, out.windows) and has_unique_keys(ASPECTS, out.aspect_windows)):
            raise WarehouseError("window deltas repeat a key: refusing an upsert that would fail")
        t0 = time.perf_counter()
        now = datetime.now(UTC).replace(tzinfo=None)
        con = self.con
        with con.transaction():
            before, after = advance_offsets(_query(con), POSTGRES, topic, partitions, out, now)
            timing = pane_timing_sql(before, after)
            self._upsert_windows(ENGAGEMENT, out.windows, timing, now)
            self._upsert_windows(ASPECTS, out.aspect_windows, timing, now)
            facts = out.facts
            self._copy("facts_batch", ", ".join(f"{n} {t}" for n, t in _FACT_COLUMNS), facts)
            con.execute("INSERT INTO dedup_event_ids SELECT event_id, (extract(epoch FROM event_time) * 1000)::BIGINT FROM facts_batch")
            cols = ", ".join(n for n, _ in _FACT_COLUMNS)  # by name: migrated tables order their columns otherwise
            con.execute(
                f"INSERT INTO fact_events ({cols}, metric_version, batch_id) SELECT {cols}, %s, %s FROM facts_batch",
                [METRIC_VERSION, batch_id],
            )
            self.insert_side_rows(out.duplicates, out.late, out.dead_letters, batch_id, now)
            commit_bookkeeping(
                _query(con),
                POSTGRES,
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
        out.committed_at = datetime.now(UTC)
        return time.perf_counter() - t0

    def _upsert_windows(self, table: WindowTable, delta: pa.Table, timing: str, now: datetime) -> None:
        if delta.num_rows == 0:
            return
        name = f"{table.name}_delta"
        self._copy(name, copy_ddl(table), delta)
        self.con.execute(upsert_deltas_sql(table, POSTGRES, name, timing), [METRIC_VERSION, now])


_FACT_COLUMNS = [
    ("event_id", "TEXT"),
    ("event_time", "TIMESTAMP"),
    ("ingest_time", "TIMESTAMP"),
    ("platform", "TEXT"),
    ("event_type", "TEXT"),
    ("reaction_kind", "TEXT"),
    ("review_rating", "INT"),
    ("author_id", "TEXT"),
    ("author_handle", "TEXT"),
    ("author_follower_count", "BIGINT"),
    ("author_is_brand_account", "BOOLEAN"),
    ("text", "TEXT"),
    ("thread_id", "TEXT"),
    ("parent_id", "TEXT"),
    ("channel_owner", "TEXT"),
    ("device", "TEXT"),
    ("lang", "TEXT"),
    ("brands", "TEXT[]"),
    ("engagement_points", "INT"),
    ("reach", "BIGINT"),
    ("topic", "TEXT"),
    ("kafka_partition", "INT"),
    ("kafka_offset", "BIGINT"),
    ("kafka_timestamp", "TIMESTAMP"),
    ("sentiment", "TEXT"),
    ("sentiment_score", "DOUBLE PRECISION"),
    ("emotion", "TEXT"),
    ("intent", "TEXT"),
    ("is_offensive", "BOOLEAN"),
    ("aspects", "TEXT[]"),
    ("nlp_version", "TEXT"),
    ("influence", "DOUBLE PRECISION"),
    ("crisis_risk", "DOUBLE PRECISION"),
    ("text_fingerprint", "BIGINT"),
    ("text_simhash", "BIGINT"),
    ("text_tokens", "INT"),
]  # the order of events_to_arrow's columns
