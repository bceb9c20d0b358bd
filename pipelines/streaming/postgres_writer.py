"""The streaming sink's SQL for the PostgreSQL warehouse (what Flink and Dataflow workers write
to): the same idempotent statements as ``sink.DuckDBStreamingWriter``, loaded with COPY into
temporary tables like the embedded PostgreSQL commit (``io.postgres``).

Workers write concurrently; they never write the same row at once: a window row belongs to one
(window, shard) key, processed by one worker at a time, and a record's coordinates to one
bundle. A retried bundle rewrites what it wrote: panes only move forward, inserts skip rows
that exist.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from pipelines.analytics.business import record_changes
from pipelines.analytics.care import upsert_care_rows
from pipelines.catalog import Catalog
from pipelines.io.batch import POSTGRES, WINDOW_KEY_COLUMNS, events_to_arrow
from pipelines.io.postgres import _FACT_COLUMNS, PostgresWarehouse
from pipelines.model import METRIC_VERSION
from pipelines.streaming.sink import STREAMING_BATCH_ID, latest_panes, panes_to_arrow

TS = "(to_timestamp({} / 1000.0) AT TIME ZONE 'UTC')"


class PostgresStreamingWriter:
    def __init__(self, dsn: str, catalog: Catalog):
        self._warehouse = PostgresWarehouse(dsn)  # creates the schema when new
        self._warehouse.sync_brands(catalog)
        self.con = self._warehouse.con

    def close(self) -> None:
        self._warehouse.close()

    def commit(
        self, window_seconds: int, panes: list, events: list[dict], duplicates: list, late: list, dead: list, care: list = ()
    ) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.con.transaction():
            if panes:
                self._upsert_panes(panes_to_arrow(latest_panes(panes)), window_seconds, now)
            if events:
                self._insert_facts(events_to_arrow(events))
                record_changes(self.con, POSTGRES, events, now)
            if duplicates or late or dead:
                self._warehouse.insert_side_rows(duplicates, late, dead, STREAMING_BATCH_ID, now, idempotent=True)
            if care:
                upsert_care_rows(self.con, POSTGRES, list(care), now)

    def _upsert_panes(self, panes: pa.Table, window_seconds: int, now: datetime) -> None:
        keys = [c for c in WINDOW_KEY_COLUMNS if c != "ws"]
        cols = ", ".join(keys)
        ddl = ", ".join(["ws BIGINT", *(f"{k} TEXT" for k in keys), "events BIGINT, points BIGINT, reach BIGINT, impressions BIGINT"])
        self._warehouse._copy("pane_batch", f"{ddl}, revision INT, is_final BOOLEAN", panes)
        self.con.execute(
            f"""INSERT INTO engagement_window (window_start, window_end, window_seconds, {cols}, events, engagement_points,
                    reach, impressions, revision, is_final, metric_version, updated_at)
                SELECT {TS.format("ws")}, {TS.format(f"(ws + {window_seconds * 1000})")}, {window_seconds}, {cols}, events, points,
                       reach, impressions, revision, is_final, %s, %s
                FROM pane_batch
                ON CONFLICT (window_start, window_seconds, {cols}) DO UPDATE SET
                  events = excluded.events, engagement_points = excluded.engagement_points, reach = excluded.reach,
                  impressions = excluded.impressions, revision = excluded.revision, is_final = excluded.is_final,
                  updated_at = excluded.updated_at
                WHERE excluded.revision > engagement_window.revision""",
            [METRIC_VERSION, now],
        )

    def _insert_facts(self, facts: pa.Table) -> None:
        types = dict(_FACT_COLUMNS)
        self._warehouse._copy("facts_batch", ", ".join(f"{n} {types[n]}" for n in facts.column_names), facts)
        fresh = """FROM facts_batch f WHERE NOT EXISTS (SELECT 1 FROM fact_events e
                   WHERE e.topic = f.topic AND e.kafka_partition = f.kafka_partition AND e.kafka_offset = f.kafka_offset)"""
        self.con.execute(
            f"INSERT INTO dedup_event_ids SELECT f.event_id, (extract(epoch FROM f.event_time) * 1000)::BIGINT {fresh} ON CONFLICT DO NOTHING"
        )
        cols = ", ".join(facts.column_names)
        self.con.execute(
            f"INSERT INTO fact_events ({cols}, metric_version, batch_id) SELECT {', '.join(f'f.{c}' for c in facts.column_names)}, %s, %s {fresh}",
            [METRIC_VERSION, STREAMING_BATCH_ID],
        )
