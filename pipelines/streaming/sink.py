"""The streaming path's sinks: an idempotent warehouse writer, the dead-letter topic, counters.

Beam may run a bundle twice (retries, restarts from a checkpoint), so every write here is
idempotent, one transaction per bundle:
- window panes (both tables, ``engagement_window`` and ``aspect_window``) upsert by (window, keys)
  and only move forward: a pane replaces the row when its index is higher (``pane_index``,
  ``pane_timing``, and ``revision`` = pane index + 1); a replayed older pane changes nothing;
- accepted events, duplicates, late events and dead letters are keyed by their Kafka
  coordinates (topic, partition, offset): a second insert of one record is a no-op;
- change marks for ``ascolto analytics`` (``analytics.business.record_changes``) go with the
  events: a replayed bundle adds marks again, which only makes the next crisis pass redo work;
- care rows (``TrackCareRequests``) upsert by (request, brand) and only move forward
  (``analytics.care.upsert_care_rows``: earlier first answer, overdue set once).
SQL per warehouse: ``DuckDBStreamingWriter`` here (tests, one machine), ``PostgresStreamingWriter``
in ``postgres_writer.py`` (cluster workers). The schema is the embedded warehouse's
(``schemas/warehouse``); rows written here carry
``batch_id`` 0 (no micro-batches on this path) and no ``batches`` accounting rows: the
accounting is in Beam's counters (``CountOutcomes``), namespace ``ascolto``.

Dead letters also go to the dead-letter topic in the envelope of the embedded path
(``io.dead_letters.publish_dead_letters``), flushed at the end of each bundle: at least once.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics

from pipelines.analytics.business import record_changes
from pipelines.analytics.care import read_care_policy, upsert_care_rows
from pipelines.catalog import Catalog
from pipelines.engagement import StageOutputs
from pipelines.io.batch import DUCKDB, POSTGRES, events_to_arrow
from pipelines.io.dead_letters import publish_dead_letters
from pipelines.io.kafka import KafkaSettings
from pipelines.io.warehouse import DuckDBWarehouse, insert_side_rows, is_postgres
from pipelines.io.windows import TABLES, panes_to_arrow, split_rows, upsert_panes_sql
from pipelines.model import METRIC_VERSION

NAMESPACE = "ascolto"
STREAMING_BATCH_ID = 0
# One writer at a time per process: DuckDB refuses concurrent upserts of the same rows.
_WRITE_LOCK = threading.Lock()


def latest_panes(panes: list) -> list:
    """Per (window, key), the pane with the highest index (DuckDB drops repeated upsert keys)."""
    best: dict = {}
    for p in panes:
        if p.key not in best or p.pane_index > best[p.key].pane_index:
            best[p.key] = p
    return list(best.values())


def pane_tables(panes: list) -> list[tuple]:
    """A bundle's panes -> (table, Arrow of its latest panes) for each window table with panes."""
    return [(t, panes_to_arrow(t, latest_panes(rows))) for t, rows in zip(TABLES, split_rows(panes)) if rows]


class DuckDBStreamingWriter:
    """The SQL of one bundle's commit (DuckDB dialect)."""

    def __init__(self, path: str, catalog: Catalog):
        self._warehouse = DuckDBWarehouse(path)  # creates the schema when new
        self._warehouse.sync_brands(catalog)
        self.con = self._warehouse.con

    def close(self) -> None:
        self._warehouse.close()

    def commit(self, panes: list, events: list[dict], duplicates: list, late: list, dead: list, care: list = ()) -> None:
        con = self.con
        now = datetime.now(UTC).replace(tzinfo=None)
        con.execute("BEGIN TRANSACTION")
        try:
            for table, rows in pane_tables(panes):
                self._upsert_panes(table, rows, now)
            if events:
                self._insert_facts(events_to_arrow(events))
                record_changes(con, DUCKDB, events, now)
            self._insert_small(duplicates, late, dead, now)
            if care:
                upsert_care_rows(con, DUCKDB, list(care), now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _upsert_panes(self, table, panes: pa.Table, now: datetime) -> None:
        self.con.register("pane_batch", panes)
        try:
            self.con.execute(upsert_panes_sql(table, DUCKDB, "pane_batch"), [METRIC_VERSION, now])
        finally:
            self.con.unregister("pane_batch")

    def _insert_facts(self, facts: pa.Table) -> None:
        self.con.register("facts_batch", facts)
        try:
            fresh = """FROM facts_batch f WHERE NOT EXISTS (SELECT 1 FROM fact_events e
                       WHERE e.topic = f.topic AND e.kafka_partition = f.kafka_partition AND e.kafka_offset = f.kafka_offset)"""
            self.con.execute(f"INSERT INTO dedup_event_ids SELECT f.event_id, epoch_ms(f.event_time) {fresh} ON CONFLICT DO NOTHING")
            self.con.execute(
                f"INSERT INTO fact_events BY NAME SELECT f.*, '{METRIC_VERSION}' AS metric_version, {STREAMING_BATCH_ID} AS batch_id {fresh}"
            )
        finally:
            self.con.unregister("facts_batch")

    def _insert_small(self, duplicates: list, late: list, dead: list, now: datetime) -> None:
        insert_side_rows(self.con, duplicates, late, dead, STREAMING_BATCH_ID, now, idempotent=True)


# Writers are kept per process and location: opening the warehouse runs its DDL, which costs
# more than a bundle's commit (the DirectRunner sets DoFns up per bundle). ``close_writers`` ends them.
_WRITERS: dict[str, Any] = {}  # DuckDBStreamingWriter or postgres_writer.PostgresStreamingWriter


def cached_writer(location: str, catalog: Catalog):
    with _WRITE_LOCK:
        writer = _WRITERS.get(location)
        if writer is None:
            if is_postgres(location):
                from pipelines.streaming.postgres_writer import PostgresStreamingWriter

                writer = PostgresStreamingWriter(location, catalog)
            else:
                writer = DuckDBStreamingWriter(location, catalog)
            _WRITERS[location] = writer
        return writer


def read_care_sla(location: str, catalog: Catalog) -> tuple[tuple[str, int], ...]:
    """The rows of ``care_sla_policy``, over this process's writer connection (DuckDB admits one)."""
    writer = cached_writer(location, catalog)
    with _WRITE_LOCK:
        dialect = POSTGRES if is_postgres(location) else DUCKDB
        return read_care_policy(writer.con, dialect, frozenset()).sla_by_brand


def close_writers() -> None:
    with _WRITE_LOCK:
        while _WRITERS:
            _WRITERS.popitem()[1].close()


class CommitBundleFn(beam.DoFn):
    """Buffers a bundle's tagged outputs and commits them in one transaction at its end."""

    def __init__(self, location: str, catalog: Catalog):
        self._location = location
        self._catalog = catalog
        self._writer = None
        self._buffers: dict[str, list] = {}

    def setup(self):
        self._writer = cached_writer(self._location, self._catalog)

    def start_bundle(self):
        self._buffers = {"panes": [], "events": [], "duplicates": [], "late": [], "dead_letters": [], "care": []}

    def process(self, tagged):
        kind, item = tagged
        if kind == "events":
            self._buffers["events"].extend(item)
        else:
            self._buffers[kind].append(item)

    def finish_bundle(self):
        b = self._buffers
        if any(b.values()):
            with _WRITE_LOCK:
                self._writer.commit(b["panes"], b["events"], b["duplicates"], b["late"], b["dead_letters"], b["care"])
        self._buffers = {}


class PublishDeadLettersFn(beam.DoFn):
    def __init__(self, settings: KafkaSettings, topic: str):
        self._settings = settings
        self._topic = topic
        self._pending: list = []

    def start_bundle(self):
        self._pending = []

    def process(self, dead_letter):
        self._pending.append(dead_letter)

    def finish_bundle(self):
        if self._pending:
            publish_dead_letters(self._settings, self._topic, self._pending)
        self._pending = []


class CountOutcomes(beam.PTransform):
    """Beam counters (namespace ``ascolto``): accepted, late, duplicates_<kind>,
    dead_letters_<reason>; on Flink and Dataflow they are the job's metrics."""

    def expand(self, outputs: StageOutputs):
        outputs.events | "CountAccepted" >> beam.Map(lambda events: Metrics.counter(NAMESPACE, "accepted").inc(len(events)))
        outputs.late | "CountLate" >> beam.Map(lambda _late: Metrics.counter(NAMESPACE, "late").inc())
        outputs.duplicates | "CountDuplicates" >> beam.Map(lambda d: Metrics.counter(NAMESPACE, f"duplicates_{d.kind}").inc())
        outputs.dead_letters | "CountDeadLetters" >> beam.Map(lambda d: Metrics.counter(NAMESPACE, f"dead_letters_{d.reason}").inc())
        return outputs.watermarks | "ReportWatermarks" >> beam.Map(
            lambda w: Metrics.gauge(NAMESPACE, f"partition_watermark_ms_{w.partition}").set(w.max_event_time_ms)
        )


class WriteToStreamingWarehouse(beam.PTransform):
    """Applied to the ``StageOutputs``; ``care_rows`` (``TrackCareRequests``'s output) go with them."""

    def __init__(self, location: str, catalog: Catalog, care_rows: beam.PCollection | None = None):
        super().__init__()
        self._location = location
        self._catalog = catalog
        self._care_rows = care_rows

    def expand(self, outputs: StageOutputs):
        tagged = [
            outputs.window_rows | "TagPanes" >> beam.Map(lambda x: ("panes", x)),  # in the global window (panes.py)
            outputs.events | "TagEvents" >> beam.Map(lambda x: ("events", x)),
            outputs.duplicates | "TagDuplicates" >> beam.Map(lambda x: ("duplicates", x)),
            outputs.late | "TagLate" >> beam.Map(lambda x: ("late", x)),
            outputs.dead_letters | "TagDeadLetters" >> beam.Map(lambda x: ("dead_letters", x)),
        ]
        if self._care_rows is not None:
            tagged.append(self._care_rows | "TagCareRows" >> beam.Map(lambda x: ("care", x)))
        return tagged | "AllOutputs" >> beam.Flatten() | "CommitBundles" >> beam.ParDo(CommitBundleFn(self._location, self._catalog))
