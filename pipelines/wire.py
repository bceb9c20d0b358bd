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
import struct

import fastavro

from pipelines.model import DeadLetterReason
from pipelines.registry import FileSchemaRegistry, SchemaRegistry

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


def _parse(definition: dict) -> object:
    return fastavro.parse_schema(_without_logical_types(copy.deepcopy(definition)))


class EventCodec:
    """Encodes and decodes social events in the Confluent wire format.

    Decoding resolves every writer schema (found by the id in the record) to one reader
    schema, the latest version of the subject, so stages always see the same fields: a v1
    record read with the v2 reader gets v2's defaults. ``writer_version`` picks the schema
    the codec encodes with (default: the latest), which is how old producers are simulated.
    """

    def __init__(
        self,
        registry: SchemaRegistry | None = None,
        subject: str = EVENTS_SUBJECT,
        writer_version: int | None = None,
        max_value_bytes: int = 1 << 20,
    ):
        self.registry = registry or FileSchemaRegistry()
        self.reader = self.registry.latest(subject)
        if writer_version is None or writer_version == self.reader.version:
            self.writer = self.reader
        else:
            versions = {s.version: s for s in self.registry.versions(subject)}  # type: ignore[attr-defined]
            if writer_version not in versions:
                raise KeyError(f"{subject} has no version {writer_version}")
            self.writer = versions[writer_version]
        self.max_value_bytes = max_value_bytes
        self._reader_parsed = _parse(self.reader.definition)
        self._writer_parsed = _parse(self.writer.definition)
        self._header = HEADER.pack(MAGIC_BYTE, self.writer.schema_id)
        self._resolved: dict[int, tuple[object, object | None] | None] = {}

    def _schemas_for(self, schema_id: int) -> tuple[object, object | None] | None:
        """(writer, reader or None when they are the same), cached per id; None for an unknown id."""
        if schema_id not in self._resolved:
            reg = self.registry.by_id(schema_id)
            if reg is None:
                self._resolved[schema_id] = None
            elif schema_id == self.reader.schema_id:
                self._resolved[schema_id] = (self._reader_parsed, None)
            else:
                self._resolved[schema_id] = (_parse(reg.definition), self._reader_parsed)
        return self._resolved[schema_id]

    def encode(self, event: dict) -> bytes:
        buf = io.BytesIO()
        buf.write(self._header)
        fastavro.schemaless_writer(buf, self._writer_parsed, event)
        return buf.getvalue()

    def decode(self, value: bytes | None) -> dict:
        if not value:
            raise DecodeError(DeadLetterReason.EMPTY_VALUE, "record value is empty")
        if len(value) > self.max_value_bytes:
            raise DecodeError(DeadLetterReason.TOO_LARGE, f"value of {len(value):,} bytes is over the {self.max_value_bytes:,}-byte limit")
        if len(value) < HEADER.size or value[0] != MAGIC_BYTE:
            raise DecodeError(
                DeadLetterReason.BAD_MAGIC_BYTE,
                f"value does not start with the Confluent magic byte 0x00 and a 4-byte schema id (first byte {value[0]:#04x}, {len(value)} bytes)",
            )
        schema_id = int.from_bytes(value[1:5], "big")
        schemas = self._schemas_for(schema_id)
        if schemas is None:
            raise DecodeError(DeadLetterReason.UNKNOWN_SCHEMA_ID, f"schema id {schema_id} is not in the registry")
        buf = io.BytesIO(value)
        buf.seek(HEADER.size)
        try:
            event = fastavro.schemaless_reader(buf, schemas[0], schemas[1])
        except UnicodeDecodeError as exc:
            raise DecodeError(DeadLetterReason.INVALID_UTF8, f"a string field is not valid UTF-8: {exc}") from None
        except (EOFError, StopIteration, IndexError, struct.error) as exc:
            raise DecodeError(DeadLetterReason.MALFORMED_AVRO, f"Avro body is truncated or corrupt: {type(exc).__name__}: {exc}") from None
        except (ValueError, TypeError, OverflowError, KeyError, fastavro.read.SchemaResolutionError) as exc:
            raise DecodeError(
                DeadLetterReason.MALFORMED_AVRO, f"Avro body does not match schema id {schema_id}: {type(exc).__name__}: {exc}"
            ) from None
        if buf.tell() != len(value):
            raise DecodeError(
                DeadLetterReason.TRAILING_BYTES,
                f"{len(value) - buf.tell()} bytes left after the Avro body of schema id {schema_id}",
            )
        return event
