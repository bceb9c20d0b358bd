"""DecodeSocialEvents: Confluent-framed Avro bytes -> social events, or dead letters.

Input: ``RecordChunk``. Outputs:
- ``events``: ``EventChunk`` of the records that decoded and passed validation, in offset
  order, each event dict extended with ``kafka_topic``, ``kafka_partition``,
  ``kafka_offset``, ``kafka_timestamp`` and ``kafka_value`` (the original bytes, kept for late events);
- ``dead_letters``: one ``DeadLetter`` per rejected record, with its reason, a message, the
  step and the original key and value bytes. Nothing is dropped.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipelines.model import DeadLetter, DeadLetterReason, EventChunk, KafkaRecord, RecordChunk
from pipelines.registry import RegistrySpec
from pipelines.wire import DecodeError, EventCodec

DEAD_LETTERS = "dead_letters"
STEP = "decode"

# Event times outside this range cannot be real and would poison the watermark.
EARLIEST_EVENT_TIME_MS = 1_072_915_200_000  # 2004-01-01, before any platform we read existed
MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000  # an event may not happen more than a day after it was ingested


class DecodeResult(NamedTuple):
    events: beam.PCollection
    dead_letters: beam.PCollection


# Event types a platform cannot produce (everything else is possible everywhere).
IMPOSSIBLE_EVENT_TYPES = {
    "review": frozenset({"instagram", "x", "linkedin", "youtube", "tiktok", "telegram"}),  # reviews: review sites, Facebook
    "direct_message": frozenset({"youtube", "review_site"}),
}


def validate_event(event: dict) -> None:
    """Raises DecodeError for events that decode but cannot be true."""
    if not event["event_id"] or not event["event_id"].strip():
        raise DecodeError(DeadLetterReason.MISSING_EVENT_ID, "event_id is empty: the event cannot be deduplicated or referenced")
    t, ingest = event["event_time"], event["ingest_time"]
    if t < EARLIEST_EVENT_TIME_MS:
        raise DecodeError(DeadLetterReason.INVALID_EVENT_TIME, f"event_time {t} ms is before 2004-01-01")
    if t > ingest + MAX_FUTURE_SKEW_MS:
        raise DecodeError(DeadLetterReason.INVALID_EVENT_TIME, f"event_time {t} ms is more than a day after ingest_time {ingest} ms")
    if event["platform"] in IMPOSSIBLE_EVENT_TYPES.get(event["event_type"], ()):
        raise DecodeError(DeadLetterReason.IMPOSSIBLE_EVENT_TYPE, f"{event['platform']} cannot produce a {event['event_type']}")
    rating = event["review_rating"]
    if rating is not None and not 1 <= rating <= 5:
        raise DecodeError(DeadLetterReason.INVALID_FIELD, f"review_rating {rating} is not between 1 and 5")
    if event["author"]["follower_count"] < 0:
        raise DecodeError(DeadLetterReason.INVALID_FIELD, "author.follower_count is negative")


def decode_record(codec: EventCodec, record: KafkaRecord) -> dict:
    event = codec.decode(record.value)
    validate_event(event)
    event["kafka_topic"] = record.topic
    event["kafka_partition"] = record.partition
    event["kafka_offset"] = record.offset
    event["kafka_timestamp"] = record.timestamp_ms
    event["kafka_value"] = record.value
    return event


def dead_letter(record: KafkaRecord, err: DecodeError, step: str = STEP) -> DeadLetter:
    return DeadLetter(err.reason.value, str(err), step, record.topic, record.partition, record.offset, record.key, record.value)


class DecodeChunkFn(beam.DoFn):
    def __init__(self, registry: RegistrySpec, max_value_bytes: int):
        self._registry = registry
        self._max_value_bytes = max_value_bytes
        self._codec: EventCodec | None = None

    def setup(self):
        self._codec = EventCodec(self._registry.open(), max_value_bytes=self._max_value_bytes)

    def process(self, chunk: RecordChunk):
        events = []
        for record in chunk.records:
            try:
                events.append(decode_record(self._codec, record))
            except DecodeError as err:
                yield beam.pvalue.TaggedOutput(DEAD_LETTERS, dead_letter(record, err))
        if events:
            yield EventChunk(chunk.topic, chunk.partition, events)


class DecodeSocialEvents(beam.PTransform):
    def __init__(self, registry: RegistrySpec | None = None, max_value_bytes: int = 1 << 20):
        super().__init__()
        self._registry = registry or RegistrySpec()
        self._max_value_bytes = max_value_bytes

    def expand(self, chunks):
        out = chunks | "DecodeChunks" >> beam.ParDo(DecodeChunkFn(self._registry, self._max_value_bytes)).with_outputs(
            DEAD_LETTERS, main="events"
        )
        return DecodeResult(out.events, out[DEAD_LETTERS])
