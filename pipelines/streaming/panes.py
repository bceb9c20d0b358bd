"""Engagement and aspect windows as Beam windows: watermark triggers, accumulating panes, a final flag.

``AggregateEngagementPanes`` keeps the shared key definition and partials
(``aggregate.pre_aggregate``, both tables, every window size) and the shared merge
(``aggregate.MergePartials``), and windows them with Beam, one branch per window size
(``Windows<size>s``: a stable label per size). What Beam groups is not one element per window
row but one per (window, shard): a dict of the rows of that window whose keys hash to the shard.
Per-key trigger bookkeeping is what costs in Beam's Python SDK (about 1 ms per key and pane on
the DirectRunner), so it runs per shard, ``key_shards`` of them, which also bounds parallelism.

    partials (dict per chunk) -> for each size W: the partials of W per (window start, shard),
      timestamped at window start
      -> FixedWindows(W), trigger AfterWatermark(early=AfterProcessingTime(early_firing_seconds),
                                                 late=AfterCount(1)),
         allowed lateness L (the same --allowed-lateness-seconds as the embedded path),
         ACCUMULATING: every pane carries the window's whole totals so far
      -> MergePartials per shard -> FinalizePanesFn -> WindowPane rows; the sizes flattened

Window arithmetic (ms; Beam's window [start, end) has max_timestamp = end - 1 us; w = the
smallest size, against which ``ClassifyLatenessInState`` judges lateness):
- the ON_TIME pane fires when the watermark passes end - 1 us, i.e. watermark >= end;
- an element is dropped when max_timestamp + L < watermark, i.e. end + L <= watermark.
  ``ClassifyLatenessInState`` already sent every element with end_w + L <= its partition's
  watermark to ``late``, and for a larger nested size end_W >= end_w, so nothing accepted is ever
  dropped here, in any size;
- the window is final when the watermark passes max_timestamp + L, i.e. watermark >= end + L:
  the embedded rule (``window_end + L <= watermark``), per size.

``PaneInfo.is_last`` is never true on the DirectRunner (ARCHITECTURE.md), so "final" comes from
an event-time timer at max_timestamp + L in ``FinalizePanesFn``: it re-emits the window's rows
with ``is_final``, timing FINAL and the next pane index. Each pane emits the rows that changed
since the previous one; the sink keeps the highest pane index per (window, keys), so replays and
retries cannot move a row backwards.

Output: ``WindowPane`` rows of both tables (``key`` a ``WindowKey`` or an ``AspectWindowKey``), in
the global window (each branch is re-windowed before the Flatten of the sizes: runners want one
windowing on a Flatten's inputs).
"""

from __future__ import annotations

import typing
import zlib
from typing import NamedTuple

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms import trigger
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import FixedWindows, GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Duration
from apache_beam.utils.windowed_value import PaneInfoTiming

from pipelines.model import AspectTotals, AspectWindowKey, WindowKey, WindowTotals, window_row
from pipelines.transforms.aggregate import MergePartials, pre_aggregate

TIMING_FINAL = "FINAL"


class WindowPane(NamedTuple):
    key: WindowKey | AspectWindowKey
    totals: WindowTotals | AspectTotals
    pane_index: int  # 0, 1, ... per (window, key); the final re-emission has the highest
    timing: str  # EARLY, ON_TIME, LATE, or FINAL (the timer's re-emission)
    is_final: bool


def split_by_window_shard(part: dict[tuple, tuple], window_seconds: int, shards: int) -> list[TimestampedValue]:
    """The partials of one window size, one per (window, shard), timestamped at the window start,
    keyed by shard."""
    out: dict[tuple[int, int], dict[tuple, tuple]] = {}
    for k, v in part.items():
        if k[1] == window_seconds:
            out.setdefault((k[0], zlib.crc32(repr(k[2:]).encode()) % shards), {})[k] = v
    return [TimestampedValue((shard, sub), ws / 1000.0) for (ws, shard), sub in out.items()]


def pane_rows(merged: dict[tuple, tuple], previous: dict[tuple, tuple], index: int, timing: str, is_final: bool) -> list[WindowPane]:
    """The rows of one pane: keys whose totals changed since the previous pane (all of them
    when final: finality is a change too)."""
    return [WindowPane(*window_row(k, v), index, timing, is_final) for k, v in merged.items() if is_final or previous.get(k) != v]


class FinalizePanesFn(beam.DoFn):
    """Keyed by shard, in its window: panes -> rows, and the final re-emission on a timer."""

    LAST = ReadModifyWriteStateSpec("last_pane", PickleCoder())  # (pane index, merged totals)
    FINAL = TimerSpec("final", TimeDomain.WATERMARK)

    def __init__(self, allowed_lateness_seconds: int):
        self._lateness = Duration(seconds=allowed_lateness_seconds)

    def process(
        self,
        kv,
        window=beam.DoFn.WindowParam,
        pane=beam.DoFn.PaneInfoParam,
        last=beam.DoFn.StateParam(LAST),
        final=beam.DoFn.TimerParam(FINAL),
    ):
        _shard, merged = kv
        previous = last.read()
        index = pane.index if previous is None else max(pane.index, previous[0] + 1)
        last.write((index, merged))
        final.set(window.max_timestamp() + self._lateness)  # fires once the watermark >= window_end + L
        yield from pane_rows(merged, previous[1] if previous else {}, index, PaneInfoTiming.to_string(pane.timing), False)

    @on_timer(FINAL)
    def on_final(self, last=beam.DoFn.StateParam(LAST)):
        previous = last.read()
        if previous is not None:
            yield from pane_rows(previous[1], {}, previous[0] + 1, TIMING_FINAL, True)
            last.clear()


class WindowPanesOfSize(beam.PTransform):
    """The partials of one window size -> its panes."""

    def __init__(self, window_seconds: int, allowed_lateness_seconds: int, early_firing_seconds: int, key_shards: int):
        super().__init__()
        self._window_seconds = window_seconds
        self._lateness_seconds = allowed_lateness_seconds
        self._early_seconds = early_firing_seconds
        self._shards = key_shards

    def _early_trigger(self):
        # 0: no early panes (the first pane is ON_TIME)
        return trigger.AfterProcessingTime(self._early_seconds) if self._early_seconds > 0 else None

    def expand(self, partials):
        shard_kv = typing.Tuple[int, typing.Any]  # noqa: UP006
        return (
            partials
            | "SplitByWindowAndShard" >> beam.FlatMap(split_by_window_shard, self._window_seconds, self._shards).with_output_types(shard_kv)
            | "WindowByEventTime"
            >> beam.WindowInto(
                FixedWindows(self._window_seconds),
                trigger=trigger.AfterWatermark(early=self._early_trigger(), late=trigger.AfterCount(1)),
                allowed_lateness=self._lateness_seconds,
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
            )
            | "MergePerShard" >> beam.CombinePerKey(MergePartials()).with_output_types(shard_kv)
            | "FinalizePanes" >> beam.ParDo(FinalizePanesFn(self._lateness_seconds))
            # rows carry their window in their key: one windowing for the Flatten of all sizes
            | "PanesToGlobalWindow" >> beam.WindowInto(GlobalWindows())
        )


class AggregateEngagementPanes(beam.PTransform):
    def __init__(
        self, window_sizes_seconds: tuple[int, ...], allowed_lateness_seconds: int, early_firing_seconds: int = 30, key_shards: int = 16
    ):
        super().__init__()
        self._sizes = tuple(window_sizes_seconds)
        self._lateness_seconds = allowed_lateness_seconds
        self._early_seconds = early_firing_seconds
        self._shards = key_shards

    def expand(self, events):
        partials = events | "PreAggregateBatches" >> beam.Map(pre_aggregate, self._sizes)
        per_size = [
            partials | f"Windows{size}s" >> WindowPanesOfSize(size, self._lateness_seconds, self._early_seconds, self._shards)
            for size in self._sizes
        ]
        return per_size | "AllWindowSizes" >> beam.Flatten()
