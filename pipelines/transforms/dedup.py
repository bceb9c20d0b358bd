"""DeduplicateEvents: drops redelivered events (same event id) within and across micro-batches.

Input: ``EventChunk`` of on-time events. Events are sharded by a hash of their id so that
every copy of an id meets in one shard; in a shard the first copy in log order
(topic, partition, offset) wins, and ids already accepted by an earlier batch are looked up
in the history (the warehouse's dedup state, bounded by a retention; a copy older than the
retention is always late, see ``lateness``, so eviction never lets a duplicate through).
Outputs:
- ``events``: lists of first copies (one list per shard, in log order);
- ``duplicates``: one ``Duplicate`` per dropped copy, with its kind;
- ``accepted_ids``: one ``AcceptedEventId`` per first copy: the new dedup state.
"""

from __future__ import annotations

import zlib
from typing import Iterable, NamedTuple, Protocol

import apache_beam as beam

from pipelines.model import AcceptedEventId, Duplicate, DuplicateKind, EventChunk

DUPLICATES = "duplicates"
ACCEPTED_IDS = "accepted_ids"


class SeenIds(Protocol):
    def seen(self, event_ids: list[str]) -> set[str]: ...
    def close(self) -> None: ...


class SeenIdsSource(Protocol):
    """Picklable recipe for a SeenIds lookup; opened once per DoFn instance."""

    def open(self) -> SeenIds: ...


class NoHistory:
    """A SeenIdsSource for pipelines without history (tests, one-shot backfills)."""

    def open(self) -> "NoHistory":
        return self

    def seen(self, event_ids: list[str]) -> set[str]:
        return set()

    def close(self) -> None:
        pass


class DedupResult(NamedTuple):
    events: beam.PCollection
    duplicates: beam.PCollection
    accepted_ids: beam.PCollection


def shard_of(event_id: str, shards: int) -> int:
    return zlib.crc32(event_id.encode()) % shards


def split_by_shard(chunk: EventChunk, shards: int) -> Iterable[tuple[int, list[dict]]]:
    parts: dict[int, list[dict]] = {}
    for e in chunk.events:
        parts.setdefault(shard_of(e["event_id"], shards), []).append(e)
    return parts.items()


def first_copies(events: list[dict], seen_before: set[str]) -> tuple[list[dict], list[Duplicate]]:
    """Events in log order -> (first copies not seen before, duplicates)."""
    unique, dups = [], []
    taken = set(seen_before)
    for e in events:
        eid = e["event_id"]
        if eid in taken:
            dups.append(Duplicate(DuplicateKind.REDELIVERY.value, eid, e["kafka_topic"], e["kafka_partition"], e["kafka_offset"]))
        else:
            taken.add(eid)
            unique.append(e)
    return unique, dups


class DeduplicateShardFn(beam.DoFn):
    def __init__(self, history: SeenIdsSource):
        self._history = history
        self._lookup: SeenIds | None = None

    def setup(self):
        self._lookup = self._history.open()

    def process(self, keyed):
        _shard, groups = keyed
        events = sorted((e for g in groups for e in g), key=lambda e: (e["kafka_topic"], e["kafka_partition"], e["kafka_offset"]))
        seen = self._lookup.seen(list({e["event_id"] for e in events}))
        unique, dups = first_copies(events, seen)
        for d in dups:
            yield beam.pvalue.TaggedOutput(DUPLICATES, d)
        for e in unique:
            yield beam.pvalue.TaggedOutput(ACCEPTED_IDS, AcceptedEventId(e["event_id"], e["event_time"], e["kafka_topic"], e["kafka_partition"], e["kafka_offset"]))
        if unique:
            yield unique

    def teardown(self):
        if self._lookup is not None:
            self._lookup.close()


class DeduplicateEvents(beam.PTransform):
    def __init__(self, history: SeenIdsSource | None = None, shards: int = 8):
        super().__init__()
        self._history = history or NoHistory()
        self._shards = shards

    def expand(self, chunks):
        shards = self._shards
        out = (
            chunks
            | "ShardById" >> beam.FlatMap(lambda c: split_by_shard(c, shards))
            | "GroupByShard" >> beam.GroupByKey()
            | "KeepFirstCopies" >> beam.ParDo(DeduplicateShardFn(self._history)).with_outputs(DUPLICATES, ACCEPTED_IDS, main="events")
        )
        return DedupResult(out.events, out[DUPLICATES], out[ACCEPTED_IDS])
