"""AggregateEngagement: event-time windows per brand, platform, event type and language.

Input: lists of scored event dicts. Each list is first pre-aggregated (one partial per
window and key: per-element work in Python is the cost, so combine before anything is
shuffled), then the partials are summed (see ``AggregateEngagement`` for the two ways).
An event concerning several brands counts once for each.

Output: ``WindowRow(key, totals)``: the contribution of this input to each window row
(a delta that the warehouse adds to what it already has).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.window import FixedWindows, TimestampedValue

from pipelines.model import UNATTRIBUTED_BRAND, WindowKey, WindowRow, WindowTotals


def pre_aggregate(events: list[dict], window_ms: int) -> dict[tuple, tuple]:
    """Partial sums of one list of events: plain tuples (WindowKey fields -> WindowTotals fields),
    which Beam's fast coder encodes natively (named tuples would be pickled one by one)."""
    acc: dict[tuple, list[int]] = {}
    for e in events:
        t = e["event_time"]
        start = t - t % window_ms
        is_view = e["event_type"] == "view"
        for brand in e["brands"] or (UNATTRIBUTED_BRAND,):
            k = (start, brand, e["platform"], e["event_type"], e["lang"])
            a = acc.get(k)
            if a is None:
                a = acc[k] = [0, 0, 0, 0]
            a[0] += 1
            a[1] += e["engagement_points"]
            a[2] += e["reach"]
            if is_view:
                a[3] += 1
    return {k: tuple(v) for k, v in acc.items()}


def merge_into(acc: dict[tuple, list[int]], partials) -> dict[tuple, list[int]]:
    """Adds partials into ``acc`` (mutated and returned)."""
    for part in partials:
        for k, v in part.items():
            a = acc.get(k)
            if a is None:
                acc[k] = list(v)
            else:
                a[0] += v[0]
                a[1] += v[1]
                a[2] += v[2]
                a[3] += v[3]
    return acc


class MergePartials(beam.CombineFn):
    """Sums per-batch partials (dicts keyed by WindowKey) into one dict."""

    def create_accumulator(self):
        return {}

    def add_input(self, acc, partial):
        return merge_into(acc, (partial,))

    def merge_accumulators(self, accs):
        accs = iter(accs)
        return merge_into(next(accs), accs)

    def extract_output(self, acc):
        return {k: tuple(v) for k, v in acc.items()}


class SumTotals(beam.CombineFn):
    def create_accumulator(self):
        return (0, 0, 0, 0)

    def add_input(self, acc, totals):
        return tuple(a + b for a, b in zip(acc, totals))

    def merge_accumulators(self, accs):
        out = (0, 0, 0, 0)
        for a in accs:
            out = tuple(x + y for x, y in zip(out, a))
        return out

    def extract_output(self, acc):
        return WindowTotals(*acc)


class AggregateEngagement(beam.PTransform):
    """``beam_windows=False`` (micro-batches): one global merge of the partials, whose keys
    already carry their window, so no per-key windowing machinery runs (measured: Beam's
    per-key trigger bookkeeping cost 0.5 ms per key on the FnApiRunner, 5 s for 10k keys).
    ``beam_windows=True`` (streaming runners): partials are timestamped at their window
    start, windowed with ``FixedWindows(window_seconds)`` and summed per key, so Beam's
    watermark and triggers decide when a window fires. Both give the same rows."""

    def __init__(self, window_seconds: int, beam_windows: bool = False):
        super().__init__()
        self._window_seconds = window_seconds
        self._beam_windows = beam_windows

    def expand(self, events):
        window_ms = self._window_seconds * 1000
        partials = events | "PreAggregateBatches" >> beam.Map(pre_aggregate, window_ms)
        if not self._beam_windows:
            return (
                partials
                | "MergePartials" >> beam.CombineGlobally(MergePartials()).without_defaults()
                | "ToWindowRows" >> beam.FlatMap(lambda merged: [WindowRow(WindowKey(*k), WindowTotals(*v)) for k, v in merged.items()])
            )
        return (
            partials
            | "TimestampPartials" >> beam.FlatMap(lambda part: [TimestampedValue((k, v), k[0] / 1000.0) for k, v in part.items()])
            | "WindowByEventTime" >> beam.WindowInto(FixedWindows(self._window_seconds))
            | "SumPerKey" >> beam.CombinePerKey(SumTotals())
            | "ToWindowRows" >> beam.MapTuple(lambda k, v: WindowRow(WindowKey(*k), v))
        )
