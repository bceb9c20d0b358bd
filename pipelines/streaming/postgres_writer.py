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
from pipelines.io.batch import POSTGRES, events_to_arrow
from pipelines.io.postgres import _FACT_COLUMNS, PostgresWarehouse
from pipelines.io.windows import WindowTable, copy_ddl, upsert_panes_sql
from pipelines.model import METRIC_VERSION
from pipelines.streaming.sink import STREAMING_BATCH_ID, pane_tables


class PostgresStreamingWriter:
    def __init__(self, dsn: str, catalog: Catalog):
        self._warehouse = PostgresWarehouse(dsn)  # creates the schema when new
        self._warehouse.sync_brands(catalog)
        self.con = self._warehouse.con

    def close(self) -> None:
        self._warehouse.close()

    def commit(self, panes: list, events: list[dict], duplicates: list, late: list, dead: list, care: list = ()) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.con.transaction():
            for table, rows in pane_tables(panes):
                self._upsert_panes(table, rows, now)
            if events:
                self._insert_facts(events_to_arrow(events))
                record_changes(self.con, POSTGRES, events, now)
            if duplicates or late or dead:
                self._warehouse.insert_side_rows(duplicates, late, dead, STREAMING_BATCH_ID, now, idempotent=True)
            if care:
                upsert_care_rows(self.con, POSTGRES, list(care), now)

    def _upsert_panes(self, table: WindowTable, panes: pa.Table, now: datetime) -> None:
        name = f"{table.name}_panes"
        self._warehouse._copy(name, copy_ddl(table, panes=True), panes)
        self.con.execute(upsert_panes_sql(table, POSTGRES, name), [METRIC_VERSION, now])

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
