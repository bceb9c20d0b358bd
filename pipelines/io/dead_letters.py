"""The dead-letter path beyond the warehouse: the dead-letter topic, and inspection and replay.

Every dead letter of a micro-batch is published to the dead-letter topic (``<topic>.dlq`` by
default) in the ``schemas/dead_letter`` envelope, keyed by the original key, *before* the
warehouse commit: a crash in between publishes it again (at least once; consumers of the
topic deduplicate by topic/partition/offset), never loses it. The warehouse table
``dead_letters`` is the authoritative copy, which ``ascolto dlq list|show|replay`` read.

Replay re-publishes the original key and value bytes to the input topic, where they are
new records (new offsets) that go through the pipeline again; the dead letter keeps its row,
marked ``replayed_at``/``replayed_to``, and is not replayed twice unless asked.
"""

from __future__ import annotations

import io
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import fastavro
import pyarrow as pa

from pipelines.catalog import load_catalog
from pipelines.io.kafka import KafkaSettings, publish
from pipelines.model import DeadLetter
from pipelines.registry import FileSchemaRegistry
from pipelines.transforms.decode import validate_event
from pipelines.transforms.enrich import BrandAttributor, EnrichmentError, enrich_event
from pipelines.wire import HEADER, MAGIC_BYTE, DecodeError, EventCodec, _parse

DLQ_SUBJECT = "social.events.dlq-value"


class DeadLetterCodec:
    """Encodes dead letters in the Confluent wire format with the dead-letter envelope schema."""

    def __init__(self, registry: FileSchemaRegistry | None = None):
        reg = (registry or FileSchemaRegistry()).latest(DLQ_SUBJECT)
        self.schema_id = reg.schema_id
        self._parsed = _parse(reg.definition)
        self._header = HEADER.pack(MAGIC_BYTE, reg.schema_id)

    def encode(self, d: DeadLetter, recorded_at_ms: int) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        fastavro.schemaless_writer(buf, self._parsed, {**d._asdict(), "recorded_at": recorded_at_ms})
        return buf.getvalue()

    def decode(self, value: bytes) -> dict:
        if value[:1] != bytes([MAGIC_BYTE]) or struct.unpack(">I", value[1:5])[0] != self.schema_id:
            raise ValueError("not a dead-letter envelope")
        return fastavro.schemaless_reader(io.BytesIO(value[5:]), self._parsed, None)


def publish_dead_letters(settings: KafkaSettings, topic: str, dead_letters: list[DeadLetter]) -> None:
    """Publishes and flushes (raises KafkaUnavailable; the caller then does not commit the batch)."""
    if not dead_letters:
        return
    codec = DeadLetterCodec()
    now_ms = int(time.time() * 1000)
    publish(settings, topic, [(d.key, codec.encode(d, now_ms)) for d in dead_letters])


@dataclass(frozen=True)
class ReplayResult:
    selected: int
    published: int
    still_failing: int


def _passes_now(value: bytes | None, step: str, codec: EventCodec, attributor: BrandAttributor) -> bool:
    """Would the record get through the step that rejected it, and every step before it, today?"""
    try:
        event = codec.decode(value)
        validate_event(event)
        if step == "enrich":
            enrich_event({**event, "kafka_topic": "", "kafka_partition": 0, "kafka_offset": 0, "kafka_value": value}, attributor)
    except (DecodeError, EnrichmentError):
        return False
    return True


def reason_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("""
        SELECT reason, step, count(*), count(replayed_at), min(recorded_at), max(recorded_at)
        FROM dead_letters GROUP BY reason, step ORDER BY 3 DESC""").fetchall()


def recent(con: duckdb.DuckDBPyConnection, reason: str | None, limit: int) -> list[tuple]:
    return con.execute(
        """
        SELECT topic, kafka_partition, kafka_offset, reason, step, message, octet_length(record_value), recorded_at, replayed_at
        FROM dead_letters WHERE ? IS NULL OR reason = ? ORDER BY recorded_at DESC, kafka_partition, kafka_offset LIMIT ?""",
        [reason, reason, limit],
    ).fetchall()


def one(con: duckdb.DuckDBPyConnection, topic: str, partition: int, offset: int) -> tuple | None:
    rows = con.execute(
        """
        SELECT topic, kafka_partition, kafka_offset, reason, step, message, record_key, record_value, recorded_at, batch_id,
               replayed_at, replayed_to
        FROM dead_letters WHERE topic = ? AND kafka_partition = ? AND kafka_offset = ?""",
        [topic, partition, offset],
    ).fetchall()
    return rows[0] if rows else None


def replay(
    con: duckdb.DuckDBPyConnection,
    settings: KafkaSettings,
    to_topic: str,
    reason: str | None,
    only_fixed: bool,
    include_replayed: bool = False,
    codec: EventCodec | None = None,
) -> ReplayResult:
    """Re-publishes dead letters of ``reason`` (all reasons when None) to ``to_topic``.

    ``only_fixed``: only those that now get through the step that rejected them (after a producer,
    registry or enrichment fix);
    the others stay as they are and are counted as still failing.
    """
    rows = con.execute(
        """
        SELECT topic, kafka_partition, kafka_offset, record_key, record_value, step FROM dead_letters
        WHERE (?::VARCHAR IS NULL OR reason = ?) AND (? OR replayed_at IS NULL) ORDER BY topic, kafka_partition, kafka_offset""",
        [reason, reason, include_replayed],
    ).fetchall()
    codec = codec or EventCodec()
    attributor = BrandAttributor(load_catalog())
    chosen, failing = [], 0
    for row in rows:
        if only_fixed and not _passes_now(row[4], row[5], codec, attributor):
            failing += 1
            continue
        chosen.append(row)
    if chosen:
        publish(settings, to_topic, [(r[3], r[4]) for r in chosen])
        keys = pa.table(
            {
                "topic": [r[0] for r in chosen],
                "p": pa.array([r[1] for r in chosen], pa.int32()),
                "o": pa.array([r[2] for r in chosen], pa.int64()),
            }
        )
        con.register("replayed_keys", keys)
        try:
            con.execute(
                """UPDATE dead_letters d SET replayed_at = ?, replayed_to = ? FROM replayed_keys k
                           WHERE d.topic = k.topic AND d.kafka_partition = k.p AND d.kafka_offset = k.o""",
                [datetime.now(UTC).replace(tzinfo=None), to_topic],
            )
        finally:
            con.unregister("replayed_keys")
    return ReplayResult(len(rows), len(chosen), failing)
