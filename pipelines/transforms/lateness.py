"""ClassifyLateness: splits events into on-time and late, deterministically from the log.

Window and lateness arithmetic (all in epoch milliseconds, W = the smallest window size of the
run, L = allowed lateness):

    window_start(e) = floor(event_time(e) / W) * W,    window_end(e) = window_start(e) + W
    watermark_p(e)  = max event_time of the events decoded before e in e's partition p
                      (offsets lower than e's; carried between micro-batches as state)
    e is late       <=>  window_end(e) + L <= watermark_p(e)

This is Beam's rule (an element is droppable when its window's max timestamp plus allowed
lateness is behind the watermark: window_end - 1 ms + L < watermark) with a per-partition
watermark that only depends on the order of the log, never on how it was cut into
micro-batches or on crashes and restarts: replaying a range classifies it the same way.

With several window sizes (``--window-seconds 60,3600``) lateness is judged once, against the
smallest: the sizes are nested (each a multiple of the smaller ones), so the window of a larger
size containing e ends at or after e's smallest window and is open whenever that one is. An
on-time event is aggregated in every size, a late one in none (one ``LateEvent``, with the
smallest window's start): every record ends in exactly one place, and every size holds the same
events.

Input: ``EventChunk`` elements of each partition in offset order, as ``ReadKafkaOffsetRanges``
emits them within one bundle (the micro-batch's single range plan is one element, so the
read, decode and this step are fused and see records in log order). The DoFn keeps each
partition's watermark for the bundle and refuses, loudly, a chunk that goes back in a
partition's log: ordering is checked, never assumed.

Outputs:
- ``on_time``: ``EventChunk`` of on-time events, in offset order;
- ``late``: one ``LateEvent`` per late event (kept in the warehouse, counted, never aggregated);
- ``watermarks``: a ``PartitionWatermark`` after each chunk (the state to commit: the
  largest per partition wins).
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipelines.model import EventChunk, LateEvent, PartitionWatermark

LATE = "late"
WATERMARKS = "watermarks"
NO_WATERMARK_MS = -1


class OutOfOrderChunk(RuntimeError):
    """A chunk arrived before an earlier one of the same partition: results would depend on it."""


class LatenessResult(NamedTuple):
    on_time: beam.PCollection
    late: beam.PCollection
    watermarks: beam.PCollection


def window_start_ms(event_time_ms: int, window_ms: int) -> int:
    return event_time_ms - event_time_ms % window_ms


def classify(events: list[dict], watermark_ms: int, window_ms: int, lateness_ms: int) -> tuple[list[dict], list[LateEvent], int]:
    """Events of one partition in offset order -> (on_time, late, new watermark)."""
    on_time, late = [], []
    for e in events:
        t = e["event_time"]
        start = t - t % window_ms
        if start + window_ms + lateness_ms <= watermark_ms:
            late.append(
                LateEvent(
                    e["event_id"], t, start, watermark_ms, e["kafka_topic"], e["kafka_partition"], e["kafka_offset"], e["kafka_value"]
                )
            )
        else:
            on_time.append(e)
        if t > watermark_ms:
            watermark_ms = t
    return on_time, late, watermark_ms


class ClassifyLatenessFn(beam.DoFn):
    def __init__(self, initial_watermarks: dict[tuple[str, int], int], window_ms: int, lateness_ms: int):
        self._initial = initial_watermarks
        self._window_ms = window_ms
        self._lateness_ms = lateness_ms
        self._watermark: dict[tuple[str, int], int] = {}
        self._next_offset: dict[tuple[str, int], int] = {}

    def start_bundle(self):
        self._watermark = dict(self._initial)
        self._next_offset = {}

    def process(self, chunk: EventChunk):
        key = (chunk.topic, chunk.partition)
        first = chunk.events[0]["kafka_offset"]
        if first < self._next_offset.get(key, -1):
            raise OutOfOrderChunk(f"{chunk.topic}[{chunk.partition}] offset {first} arrived after offset {self._next_offset[key] - 1}")
        self._next_offset[key] = chunk.events[-1]["kafka_offset"] + 1
        on_time, late, wm = classify(chunk.events, self._watermark.get(key, NO_WATERMARK_MS), self._window_ms, self._lateness_ms)
        self._watermark[key] = wm
        if on_time:
            yield EventChunk(chunk.topic, chunk.partition, on_time)
        for item in late:
            yield beam.pvalue.TaggedOutput(LATE, item)
        yield beam.pvalue.TaggedOutput(WATERMARKS, PartitionWatermark(chunk.topic, chunk.partition, wm))


class ClassifyLateness(beam.PTransform):
    def __init__(self, window_seconds: int, allowed_lateness_seconds: int, initial_watermarks: dict[tuple[str, int], int] | None = None):
        super().__init__()
        self._window_ms = window_seconds * 1000
        self._lateness_ms = allowed_lateness_seconds * 1000
        self._initial = dict(initial_watermarks or {})

    def expand(self, chunks):
        out = chunks | "ClassifyInLogOrder" >> beam.ParDo(
            ClassifyLatenessFn(self._initial, self._window_ms, self._lateness_ms)
        ).with_outputs(LATE, WATERMARKS, main="on_time")
        return LatenessResult(out.on_time, out[LATE], out[WATERMARKS])
