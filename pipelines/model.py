"""The element types that flow between the stages, and the closed sets they use.

Elements are chunks, not single records: every DoFn works on a list of a few thousand
records at a time, because per-element Python work is the cost everywhere in Beam's
Python SDK (see ARCHITECTURE.md, "Performance").

A decoded event is the plain ``dict`` that fastavro returns for ``schemas/social_event``,
plus the keys below that carry where it came from (``kafka_*``) and what the stages
added (``lang``, ``brands``, ``engagement_points``, ``reach``).
"""

from __future__ import annotations

import enum
from typing import NamedTuple


class KafkaRecord(NamedTuple):
    """One record as read from a topic partition; ``value`` is the untouched wire bytes."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None


class RecordChunk(NamedTuple):
    """Consecutive records of one partition, in offset order."""

    topic: str
    partition: int
    records: list[KafkaRecord]


class EventChunk(NamedTuple):
    """Decoded events of one partition, in offset order (gaps where records were rejected)."""

    topic: str
    partition: int
    events: list[dict]


class ReadRange(NamedTuple):
    """What a reader consumed from one partition: offsets ``[start, end)`` and the high watermark seen."""

    topic: str
    partition: int
    start: int
    end: int
    highwater: int


class PartitionWatermark(NamedTuple):
    """The largest event time decoded so far from one partition (``-1`` before any event)."""

    topic: str
    partition: int
    max_event_time_ms: int


class DeadLetterReason(enum.StrEnum):
    """Closed set of reasons a record becomes a dead letter. Used as a metric label."""

    EMPTY_VALUE = "empty_value"  # no bytes at all (a tombstone or a collector bug)
    TOO_LARGE = "too_large"  # over the size limit
    BAD_MAGIC_BYTE = "bad_magic_byte"  # not the Confluent wire format (e.g. plain JSON)
    UNKNOWN_SCHEMA_ID = "unknown_schema_id"  # the registry does not know the writer schema
    MALFORMED_AVRO = "malformed_avro"  # truncated, corrupt, wrong types, enum index out of range
    TRAILING_BYTES = "trailing_bytes"  # bytes left after the Avro body
    INVALID_UTF8 = "invalid_utf8"  # a string field is not UTF-8
    MISSING_EVENT_ID = "missing_event_id"
    INVALID_EVENT_TIME = "invalid_event_time"  # before the platforms existed, or far in the future
    IMPOSSIBLE_EVENT_TYPE = "impossible_event_type"  # an event the platform cannot produce
    INVALID_FIELD = "invalid_field"  # any other impossible value (rating out of 1-5, negative followers)
    ENRICHMENT_FAILED = "enrichment_failed"  # a later stage could not process the event


class DeadLetter(NamedTuple):
    reason: str
    message: str
    step: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class DuplicateKind(enum.StrEnum):
    """Closed set of duplicate kinds. Used as a metric label."""

    REDELIVERY = "redelivery"  # same event id seen before (this batch or an earlier one)


class FlagKind(enum.StrEnum):
    """Closed set of dedup-v1 flags on accepted events (view v_event_dedup_flags). Used as a metric label."""

    CROSS_POST = "cross_post"  # the same author's near-duplicate of an earlier publication within 24 h
    COORDINATED = "coordinated"  # a near-duplicate posted by at least 5 distinct authors within 60 minutes


class Duplicate(NamedTuple):
    kind: str
    event_id: str
    topic: str
    partition: int
    offset: int


class LateEvent(NamedTuple):
    """An event whose smallest window had closed (its end + allowed lateness <= partition watermark);
    ``window_start_ms`` is that window's start."""

    event_id: str
    event_time_ms: int
    window_start_ms: int
    watermark_ms: int
    topic: str
    partition: int
    offset: int
    value: bytes | None


class AcceptedEventId(NamedTuple):
    """Dedup state written with the batch: one row per accepted event."""

    event_id: str
    event_time_ms: int
    topic: str
    partition: int
    offset: int


class WindowKey(NamedTuple):
    """A row of ``engagement_window``: one window (start, size) and the dimensions of its events."""

    window_start_ms: int
    window_seconds: int
    brand: str
    platform: str
    event_type: str
    lang: str
    device: str
    sentiment: str


class WindowTotals(NamedTuple):
    events: int
    engagement_points: int
    reach: int
    impressions: int


class AspectWindowKey(NamedTuple):
    """A row of ``aspect_window``: the customer posts of one window naming an aspect with a polarity."""

    window_start_ms: int
    window_seconds: int
    brand: str
    aspect: str
    polarity: str


class AspectTotals(NamedTuple):
    mentions: int


class WindowRow(NamedTuple):
    """One aggregate row of one micro-batch (a delta to add to the warehouse row), of either table."""

    key: WindowKey | AspectWindowKey
    totals: WindowTotals | AspectTotals


def window_row(key: tuple, totals: tuple) -> WindowRow:
    """A partial's plain tuples (``aggregate.pre_aggregate``) -> the row of its table, told apart by
    the key's length (engagement keys have 8 fields, aspect keys 5)."""
    if len(key) == len(AspectWindowKey._fields):
        return WindowRow(AspectWindowKey(*key), AspectTotals(*totals))
    return WindowRow(WindowKey(*key), WindowTotals(*totals))


PLATFORMS = ("facebook", "instagram", "x", "linkedin", "youtube", "tiktok", "telegram", "review_site", "other")
EVENT_TYPES = ("post", "comment", "reply", "reaction", "share", "mention", "review", "direct_message", "view")
DEVICES = ("mobile", "desktop", "unknown")
# Events that carry what people say; reactions and views are engagement and impressions.
MENTION_TYPES = frozenset({"post", "mention", "comment", "reply", "review", "direct_message", "share"})
METRIC_VERSION = "engagement-v1/reach-v1/influence-v1/crisis-risk-v1"  # stored on every row; see transforms/score.py
UNATTRIBUTED_BRAND = "unattributed"
UNKNOWN_LANG = "unknown"
