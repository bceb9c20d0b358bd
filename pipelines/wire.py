"""Confluent wire format and the file-backed schema registry.

Wire format of every value on the events topic::

    byte 0      magic byte 0x00
    bytes 1-4   schema id, big-endian unsigned int (resolved by the registry)
    bytes 5-    Avro binary body (schemaless), written with that schema

Decoding is pure and raises :class:`DecodeError` (never anything else for bad bytes) with
a reason from :class:`pipelines.model.DeadLetterReason`.
"""

from __future__ import annotations

import copy
import io
import json
import struct
from dataclasses import dataclass
from pathlib import Path

import fastavro

from pipelines.model import DeadLetterReason
from schemas import SCHEMA_DIR

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")
EVENTS_SUBJECT = "social.events-value"


class DecodeError(ValueError):
    """A value that cannot become an event; ``reason`` is a DeadLetterReason."""

    def __init__(self, reason: DeadLetterReason, message: str):
        super().__init__(message)
        self.reason = reason


def _without_logical_types(schema: object) -> object:
    """The same schema with ``logicalType`` annotations removed.

    The wire bytes are identical; fastavro then returns epoch milliseconds as ``int``
    instead of building a ``datetime`` per field, which is both slower and not what the
    stages compute with.
    """
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(v) for v in schema]
    return schema


@dataclass(frozen=True)
class RegisteredSchema:
    schema_id: int
    subject: str
    version: int
    definition: dict  # the .avsc as written


class SchemaRegistry:
    """File-backed registry: ``schemas/registry.json`` maps schema ids to ``.avsc`` files."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR):
        index = json.loads((schema_dir / "registry.json").read_text())
        self._by_id: dict[int, RegisteredSchema] = {}
        self._parsed: dict[int, object] = {}
        for entry in index["schemas"]:
            definition = json.loads((schema_dir / entry["path"]).read_text())
            reg = RegisteredSchema(entry["id"], entry["subject"], entry["version"], definition)
            self._by_id[reg.schema_id] = reg
            self._parsed[reg.schema_id] = fastavro.parse_schema(_without_logical_types(copy.deepcopy(definition)))

    def latest(self, subject: str) -> RegisteredSchema:
        candidates = [s for s in self._by_id.values() if s.subject == subject]
        if not candidates:
            raise KeyError(f"no schema registered for subject {subject!r}")
        return max(candidates, key=lambda s: s.version)

    def parsed(self, schema_id: int) -> object | None:
        return self._parsed.get(schema_id)


class EventCodec:
    """Encodes and decodes social events in the Confluent wire format."""

    def __init__(self, registry: SchemaRegistry | None = None, subject: str = EVENTS_SUBJECT):
        self.registry = registry or SchemaRegistry()
        self.writer = self.registry.latest(subject)
        self._writer_parsed = self.registry.parsed(self.writer.schema_id)
        self._header = HEADER.pack(MAGIC_BYTE, self.writer.schema_id)

    def encode(self, event: dict) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        fastavro.schemaless_writer(buf, self._writer_parsed, event)
        return buf.getvalue()

    def decode(self, value: bytes | None) -> dict:
        if not value:
            raise DecodeError(DeadLetterReason.EMPTY_VALUE, "record value is empty")
        if len(value) < HEADER.size or value[0] != MAGIC_BYTE:
            raise DecodeError(
                DeadLetterReason.BAD_MAGIC_BYTE,
                f"value does not start with the Confluent magic byte 0x00 and a 4-byte schema id (first byte {value[0]:#04x}, {len(value)} bytes)",
            )
        schema_id = int.from_bytes(value[1:5], "big")
        parsed = self.registry.parsed(schema_id)
        if parsed is None:
            raise DecodeError(DeadLetterReason.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry")
        buf = io.BytesIO(value)
        buf.seek(HEADER.size)
        try:
            event = fastavro.schemaless_reader(buf, parsed, None)
        except (EOFError, StopIteration, IndexError, struct.error) as exc:
            raise DecodeError(DeadLetterReason.MALFORMED_AVRO, f"Avro body is truncated or corrupt: {type(exc).__name__}: {exc}") from None
        except (UnicodeDecodeError, ValueError, TypeError, OverflowError, KeyError) as exc:
            raise DecodeError(
                DeadLetterReason.MALFORMED_AVRO, f"Avro body does not match schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from None
        if buf.tell() != len(value):
            raise DecodeError(
                DeadLetterReason.TRAILING_BYTES,
                f"{len(value) - buf.tell()} bytes left after the Avro body of schema id {schema_id}",
            )
        return event
