"""Per-request care timers in Beam state: ``TrackCareRequests`` (care-v1, ``analytics.care``).

Input: lists of accepted, enriched events (``StageOutputs.events``). Output: ``CareRow`` rows
for the ``care_response`` table, each time a key's row changes: when its request arrives (or a
request of unknown intent gets its first answer), when an earlier answer arrives, and when it
becomes overdue. The sink upserts them so that rows only move forward.

    events -> care_signals per (request_id, own brand) -> TrackCareRequestsFn [keyed state]

State per key: the request (asked_at, platform, type, intent) and the earliest answer so far,
whichever came first: a reply that arrives before its request (out of order) waits for it.
Duplicates never reach this stage (``DeduplicateEvents``), and a replayed signal changes
nothing (``fold`` keeps the earliest answer; an unchanged row is not emitted again). Events
later than the allowed lateness went to ``late`` upstream, so they are never a request or an
answer here, as on the embedded path.

Timers (event time, ms; the DirectRunner fires a timer at T once the watermark is at or past T,
and with millisecond watermarks T - 1 us means "watermark >= T" whichever the runner's convention):
- ``overdue`` at ``overdue_due_ms - 1 us`` = window_end(deadline) + L - 1 us, so it fires when
  the watermark reaches window_end(deadline) + L: the embedded rule (``due <= watermark``).
  Set when a complaint or question arrives; on firing, if no answer within the SLA is in state,
  the row gets ``overdue_at = asked + SLA`` (and the ``care_overdue`` counter one more). An
  answer after that still sets ``first_answer_at`` (the reply-after-SLA case).
- ``expire`` at ``max(event times in state) + retention`` (and never before the overdue timer):
  the state is dropped. An answer more than the retention after its request, or a request more
  than the retention after an answer that came first, is not matched on this path (the dedup
  retention, 24 h by default, bounds state the same way).
An element's timestamp is at most the watermark its events were classified on time against
(the source stamps a chunk at its partition's running maximum before it, the TestStream at the
watermark before the batch). An answer r at or before a deadline is accepted only while
window_end(r) + L > that watermark, and window_end(r) + L <= due, so its element holds the
watermark below ``due`` until it is processed: the ``overdue`` timer cannot overtake it.
"""

from __future__ import annotations

import typing
from dataclasses import replace

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from pipelines.analytics.care import CarePolicy, answered_within_sla, can_become_overdue, care_row, care_signals, fold, overdue_due_ms

NAMESPACE = "ascolto"


def _at_ms(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


class TrackCareRequestsFn(beam.DoFn):
    STATE = ReadModifyWriteStateSpec("care_state", FastPrimitivesCoder())  # fold() state: a dict of ints and strs
    OVERDUE = TimerSpec("overdue", TimeDomain.WATERMARK)
    EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)

    def __init__(
        self, policy: CarePolicy, window_seconds: int, allowed_lateness_seconds: int, retention_seconds: int, sla_from: tuple | None = None
    ):
        self._policy = policy
        self._sla_from = sla_from
        self._window_ms = window_seconds * 1000
        self._lateness_ms = allowed_lateness_seconds * 1000
        self._retention_ms = retention_seconds * 1000

    def setup(self):
        if self._sla_from is not None:  # (warehouse location, catalog): the SLAs in care_sla_policy
            from pipelines.streaming.sink import read_care_sla

            self._policy = replace(self._policy, sla_by_brand=read_care_sla(*self._sla_from))

    def _due(self, key, state: dict) -> int:
        return overdue_due_ms(state["asked_ms"], self._policy.sla_seconds(key[1]), self._window_ms, self._lateness_ms)

    def process(
        self,
        keyed,
        state=beam.DoFn.StateParam(STATE),
        overdue=beam.DoFn.TimerParam(OVERDUE),
        expire=beam.DoFn.TimerParam(EXPIRE),
    ):
        key, signal = keyed
        row = self._apply(key, signal, state, overdue, expire)
        if row is not None:
            yield row

    def _apply(self, key, signal, state, overdue, expire):
        """The key's new row, or None when it did not change (a replayed signal, a later answer)."""
        sla = self._policy.sla_seconds(key[1])
        before = state.read() or {}
        after = fold(before, signal)
        if after == before:
            return None
        state.write(after)
        expire_ms = max(after.get("asked_ms", -(2**62)), after.get("answer_ms") or -(2**62)) + self._retention_ms
        if can_become_overdue(after):
            due = self._due(key, after)
            if signal[0] == "request":
                overdue.set(Timestamp(micros=due * 1000 - 1))  # fires when the watermark reaches `due`
            expire_ms = max(expire_ms, due)
        expire.set(_at_ms(expire_ms))
        row = care_row(key, after, sla)
        return row if row is not None and row != care_row(key, before, sla) else None

    @on_timer(OVERDUE)
    def on_overdue(self, key=beam.DoFn.KeyParam, state=beam.DoFn.StateParam(STATE)):
        s = state.read()
        sla = self._policy.sla_seconds(key[1])
        if s and can_become_overdue(s) and not answered_within_sla(s, sla) and s.get("overdue_ms") is None:
            s = {**s, "overdue_ms": s["asked_ms"] + sla * 1000}
            state.write(s)
            Metrics.counter(NAMESPACE, "care_overdue").inc()
            yield care_row(key, s, sla)

    @on_timer(EXPIRE)
    def on_expire(self, state=beam.DoFn.StateParam(STATE)):
        state.clear()


CareKeyType = typing.Tuple[str, str]  # noqa: UP006 - Beam's type hints want typing generics: a deterministic key coder


class TrackCareRequests(beam.PTransform):
    """Lists of accepted events -> ``CareRow`` changes (see the module docstring). ``sla_from``
    (warehouse location, catalog): each worker reads ``care_sla_policy`` there at setup, over
    the sink's connection; without it the policy's own SLAs hold (tests)."""

    def __init__(
        self, policy: CarePolicy, window_seconds: int, allowed_lateness_seconds: int, retention_seconds: int, sla_from: tuple | None = None
    ):
        super().__init__()
        self._policy = policy
        self._args = (window_seconds, allowed_lateness_seconds, retention_seconds, sla_from)

    def expand(self, events):
        own = self._policy.own_brands
        return (
            events
            | "CareSignals"
            >> beam.FlatMap(lambda batch: [s for e in batch for s in care_signals(e, own)]).with_output_types(
                typing.Tuple[CareKeyType, typing.Any]  # noqa: UP006
            )
            | "TrackPerRequest" >> beam.ParDo(TrackCareRequestsFn(self._policy, *self._args))
        )
