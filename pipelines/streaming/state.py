"""Lateness and dedup with Beam keyed state: the embedded rules, with state that outlives a bundle.

``ClassifyLatenessInState`` (input ``EventChunk``): keyed by (topic, partition), the partition's
watermark (max event time decoded so far) and next offset live in Beam state. The rule is
``lateness.classify`` itself:

    window_start(e) = floor(event_time(e) / W) * W,    window_end(e) = window_start(e) + W
    watermark_p(e)  = max event time of the events before e in partition p (Beam state)
    e is late       <=>  window_end(e) + L <= watermark_p(e)

so a record is late on this path exactly when it is late on the embedded one: the rule
depends on the log only. Chunks of one partition must arrive in offset order (the source
reads a partition sequentially and Beam keeps per-key order between two fused steps on
Flink); a chunk that goes back in the log is refused loudly, as in the embedded DoFn.
Outputs: ``LatenessResult(on_time, late, watermarks)``.

``DeduplicateInState`` (input ``EventChunk`` of on-time events): keyed by a hash bucket of the
event id, the ids accepted within the retention live in Beam state; the first copy to arrive
wins (``dedup.first_copies``). An event-time timer per bucket evicts ids once the watermark
passes ``event_time + retention`` (rounded up to the hour: one firing per step, not per id); a later copy of an evicted id is always late first
(retention >= the largest window + L >= W + L, with W the smallest window, checked by
``JobConfig.validate``: its partition's watermark is past event_time + retention >= window_end + L). Outputs: ``DedupResult(events, duplicates)``.
"""

from __future__ import annotations

import typing
import zlib

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder, VarIntCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from pipelines.model import EventChunk, PartitionWatermark
from pipelines.transforms.dedup import DUPLICATES, DedupResult, first_copies
from pipelines.transforms.lateness import LATE, NO_WATERMARK_MS, WATERMARKS, LatenessResult, OutOfOrderChunk, classify

PartitionKey = typing.Tuple[str, int]  # noqa: UP006 - Beam's type hints want typing generics
# Eviction runs in steps: ids due within one step go with one timer firing (evicting up to a
# step late is safe: a copy is then late anyway). One firing per id would be one bundle per id.
EVICTION_STEP_MS = 3_600_000


def eviction_due_ms(event_time_ms: int, retention_ms: int) -> int:
    """The end of the eviction step in which ``event_time + retention`` falls."""
    due = event_time_ms + retention_ms
    return due - due % EVICTION_STEP_MS + EVICTION_STEP_MS


class ClassifyLatenessStateFn(beam.DoFn):
    WATERMARK = ReadModifyWriteStateSpec("watermark_ms", VarIntCoder())
    NEXT_OFFSET = ReadModifyWriteStateSpec("next_offset", VarIntCoder())

    def __init__(self, window_ms: int, lateness_ms: int):
        self._window_ms = window_ms
        self._lateness_ms = lateness_ms

    def process(self, keyed, watermark=beam.DoFn.StateParam(WATERMARK), next_offset=beam.DoFn.StateParam(NEXT_OFFSET)):
        _key, chunk = keyed
        first = chunk.events[0]["kafka_offset"]
        expected = next_offset.read()
        if expected is not None and first < expected:
            raise OutOfOrderChunk(f"{chunk.topic}[{chunk.partition}] offset {first} arrived after offset {expected - 1}")
        next_offset.write(chunk.events[-1]["kafka_offset"] + 1)
        wm = watermark.read()
        on_time, late, wm = classify(chunk.events, NO_WATERMARK_MS if wm is None else wm, self._window_ms, self._lateness_ms)
        watermark.write(wm)
        if on_time:
            yield EventChunk(chunk.topic, chunk.partition, on_time)
        for item in late:
            yield beam.pvalue.TaggedOutput(LATE, item)
        yield beam.pvalue.TaggedOutput(WATERMARKS, PartitionWatermark(chunk.topic, chunk.partition, wm))


class ClassifyLatenessInState(beam.PTransform):
    def __init__(self, window_seconds: int, allowed_lateness_seconds: int):
        super().__init__()
        self._window_ms = window_seconds * 1000
        self._lateness_ms = allowed_lateness_seconds * 1000

    def expand(self, chunks):
        out = (
            chunks
            | "KeyByPartition" >> beam.Map(lambda c: ((c.topic, c.partition), c)).with_output_types(typing.Tuple[PartitionKey, typing.Any])  # noqa: UP006
            | "ClassifyInLogOrder"
            >> beam.ParDo(ClassifyLatenessStateFn(self._window_ms, self._lateness_ms)).with_outputs(LATE, WATERMARKS, main="on_time")
        )
        return LatenessResult(out.on_time, out[LATE], out[WATERMARKS])


def dedup_bucket(event_id: str, buckets: int) -> int:
    """Stable across processes and runs (``hash()`` of a str is salted per process)."""
    return zlib.crc32(event_id.encode()) % buckets


def split_by_bucket(chunk: EventChunk, buckets: int) -> list[tuple[int, list[dict]]]:
    """One element per bucket the chunk touches, events in log order within each."""
    parts: dict[int, list[dict]] = {}
    for e in chunk.events:
        parts.setdefault(dedup_bucket(e["event_id"], buckets), []).append(e)
    return list(parts.items())


class DeduplicateStateFn(beam.DoFn):
    SEEN = ReadModifyWriteStateSpec("seen_ids", FastPrimitivesCoder())  # event id -> event time ms
    NEXT_EVICTION = ReadModifyWriteStateSpec("next_eviction_ms", VarIntCoder())
    EVICT = TimerSpec("evict", TimeDomain.WATERMARK)

    def __init__(self, retention_ms: int):
        self._retention_ms = retention_ms

    def process(
        self,
        keyed,
        seen=beam.DoFn.StateParam(SEEN),
        next_eviction=beam.DoFn.StateParam(NEXT_EVICTION),
        evict=beam.DoFn.TimerParam(EVICT),
    ):
        _bucket, events = keyed
        ids: dict[str, int] = seen.read() or {}
        taken = set(ids)
        unique, dups = first_copies(events, taken)
        for d in dups:
            yield beam.pvalue.TaggedOutput(DUPLICATES, d)
        if not unique:
            return
        for e in unique:
            ids[e["event_id"]] = e["event_time"]
        seen.write(ids)
        due = eviction_due_ms(min(e["event_time"] for e in unique), self._retention_ms)
        current = next_eviction.read()
        if current is None or due < current:
            next_eviction.write(due)
            evict.set(Timestamp(micros=due * 1000))
        yield unique

    @on_timer(EVICT)
    def on_evict(
        self,
        fired=beam.DoFn.TimestampParam,
        seen=beam.DoFn.StateParam(SEEN),
        next_eviction=beam.DoFn.StateParam(NEXT_EVICTION),
        evict=beam.DoFn.TimerParam(EVICT),
    ):
        # The watermark has passed `fired`: ids with event_time + retention <= fired go.
        horizon_ms = fired.micros // 1000 - self._retention_ms
        ids = {k: t for k, t in (seen.read() or {}).items() if t > horizon_ms}
        if not ids:
            seen.clear()
            next_eviction.clear()
            return
        seen.write(ids)
        due = eviction_due_ms(min(ids.values()), self._retention_ms)
        next_eviction.write(due)
        evict.set(Timestamp(micros=due * 1000))


class DeduplicateInState(beam.PTransform):
    def __init__(self, retention_seconds: int, key_buckets: int = 256):
        super().__init__()
        self._retention_ms = retention_seconds * 1000
        self._buckets = key_buckets

    def expand(self, chunks):
        out = (
            chunks
            | "KeyByIdBucket" >> beam.FlatMap(split_by_bucket, self._buckets).with_output_types(typing.Tuple[int, typing.Any])  # noqa: UP006
            | "KeepFirstCopies" >> beam.ParDo(DeduplicateStateFn(self._retention_ms)).with_outputs(DUPLICATES, main="events")
        )
        return DedupResult(out.events, out[DUPLICATES])
