"""DeduplicateEvents: drops redelivered events (same event id) within and across micro-batches.

Input: ``EventChunk`` of on-time events. Within the bundle (one micro-batch), the first copy
of an id to arrive wins; ids accepted by earlier micro-batches are looked up in the history
(the warehouse's dedup state, bounded by a retention: a copy older than the retention is
always classified late first, see ``lateness``, so eviction never lets a duplicate through).
Redeliveries carry the event id as Kafka key and land in the partition of the original,
after it: the first copy in log order is the one kept. (Copies of one id in two partitions of
the same micro-batch are counted exactly, but which copy is kept follows read order.)

Outputs:
- ``events``: lists of first copies, per chunk, in log order;
- ``duplicates``: one ``Duplicate`` per dropped copy, with its kind.
The ids of the first copies are the new dedup state (the warehouse takes them from the
accepted events it stores).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import apache_beam as beam

from pipelines.model import Duplicate, DuplicateKind, EventChunk

DUPLICATES = "duplicates"


class SeenIds(Protocol):
    def seen(self, event_ids: list[str]) -> set[str]: ...
    def close(self) -> None: ...


class SeenIdsSource(Protocol):
    """Picklable recipe for a SeenIds lookup; opened once per DoFn instance."""

    def open(self) -> SeenIds: ...


class NoHistory:
    """A SeenIdsSource for pipelines without history (tests, one-shot backfills)."""

    def open(self) -> NoHistory:
        return self

    def seen(self, event_ids: list[str]) -> set[str]:
        return set()

    def close(self) -> None:
        pass


class DedupResult(NamedTuple):
    events: beam.PCollection
    duplicates: beam.PCollection


def first_copies(events: list[dict], taken: set[str]) -> tuple[list[dict], list[Duplicate]]:
    """Events in log order -> (first copies, duplicates); ``taken`` (ids already accepted) grows."""
    unique, dups = [], []
    for e in events:
        eid = e["event_id"]
        if eid in taken:
            dups.append(Duplicate(DuplicateKind.REDELIVERY.value, eid, e["kafka_topic"], e["kafka_partition"], e["kafka_offset"]))
        else:
            taken.add(eid)
            unique.append(e)
    return unique, dups


class DeduplicateFn(beam.DoFn):
    def __init__(self, history: SeenIdsSource):
        self._history = history
        self._lookup: SeenIds | None = None
        self._taken: set[str] = set()

    def start_bundle(self):
        # Opened per bundle (one micro-batch), closed at its end: the history may be a file
        # another process writes between batches.
        self._lookup = self._history.open()
        self._taken = set()

    def process(self, chunk: EventChunk):
        fresh = [e["event_id"] for e in chunk.events if e["event_id"] not in self._taken]
        self._taken.update(self._lookup.seen(fresh))
        unique, dups = first_copies(chunk.events, self._taken)
        for d in dups:
            yield beam.pvalue.TaggedOutput(DUPLICATES, d)
        if unique:
            yield unique

    def finish_bundle(self):
        self._taken = set()
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None


class DeduplicateEvents(beam.PTransform):
    def __init__(self, history: SeenIdsSource | None = None):
        super().__init__()
        self._history = history or NoHistory()

    def expand(self, chunks):
        out = chunks | "KeepFirstCopies" >> beam.ParDo(DeduplicateFn(self._history)).with_outputs(DUPLICATES, main="events")
        return DedupResult(out.events, out[DUPLICATES])
