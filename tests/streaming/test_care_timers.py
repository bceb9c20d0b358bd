"""Per-request care timers (``TrackCareRequests``) on the DirectRunner in streaming mode, fed by
TestStreams with explicit watermark advances.

Arithmetic shared by the tests (ms; W = 60 s windows, L = 300 s allowed lateness, SLA 600 s):
T0 is a window start; a request asked at A = T0 + 10 000 has its deadline (the last answer
time within the SLA: response_seconds = floor((answer - A) / 1000) <= 600) at
A + 600 999 = T0 + 610 999, in the window [T0 + 600 000, T0 + 660 000); the window is final,
and the request overdue if still unanswered within the SLA, once the watermark reaches
window_end + L = T0 + 660 000 + 300 000 = T0 + 960 000 (the overdue timer sits 1 us before).
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.utils.timestamp import Timestamp

from pipelines.analytics.care import CarePolicy, CareRow
from pipelines.streaming.care import TrackCareRequests

T0 = 1_700_000_040_000  # a multiple of 60 000: a window start
A = T0 + 10_000
DUE = T0 + 960_000
SLA_S = 600
POLICY = CarePolicy(frozenset({"nuvola", "lineaviva"}), (("nuvola", SLA_S),), default_sla_seconds=3600)


def request(event_id: str, at_ms: int, intent: str = "complaint", brands=("nuvola",)) -> dict:
    return {
        "event_id": event_id,
        "event_time": at_ms,
        "author": {"is_brand_account": False},
        "brands": list(brands),
        "parent_id": None,
        "platform": "x",
        "event_type": "mention",
        "intent": intent,
    }


def reply(event_id: str, parent: str, at_ms: int, brands=("nuvola",)) -> dict:
    return {
        "event_id": event_id,
        "event_time": at_ms,
        "author": {"is_brand_account": True},
        "brands": list(brands),
        "parent_id": parent,
        "platform": "x",
        "event_type": "reply",
        "intent": "neutral",
    }


def row(request_id: str, answer_ms: int | None = None, overdue: bool = False, asked_ms: int = A, intent: str = "complaint") -> CareRow:
    response = None if answer_ms is None else (answer_ms - asked_ms) // 1000
    return CareRow(
        request_id, "nuvola", "x", "mention", intent, asked_ms, answer_ms, response, SLA_S, asked_ms + SLA_S * 1000 if overdue else None
    )


def at(ms: int) -> Timestamp:
    return Timestamp(micros=ms * 1000)


def check(stream: TestStream, expected: list[CareRow]) -> None:
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as p:
        out = p | "Events" >> stream | "TrackCare" >> TrackCareRequests(POLICY, 60, 300, 24 * 3600)
        assert_that(out, equal_to(expected), label="CareRows")


def test_reply_after_the_sla_keeps_the_overdue_alert_and_sets_the_first_answer():
    stream = (
        TestStream()
        .advance_watermark_to(at(T0))
        .add_elements([beam.window.TimestampedValue([request("q1", A)], at(T0))])
        # DUE - 1 ms: the deadline's window [T0 + 600 000, T0 + 660 000) is not final yet, so
        # an answer at the deadline (A + 600 999) is still on time for q2 and no alert fired
        .add_elements([beam.window.TimestampedValue([request("q2", A)], at(T0))])
        .advance_watermark_to(at(DUE - 1))
        .add_elements([beam.window.TimestampedValue([reply("r2", "q2", A + 600_999)], at(DUE - 1))])
        # DUE: window_end + L reached without an answer: overdue, overdue_at = A + 600 000
        .advance_watermark_to(at(DUE))
        # the brand answers at A + 700 000 (response 700 s > 600 s), on time for its window
        # [T0 + 660 000, T0 + 720 000): end + L = T0 + 1 020 000 > DUE
        .add_elements([beam.window.TimestampedValue([reply("r1", "q1", A + 700_000)], at(DUE))])
        .advance_watermark_to_infinity()
    )
    q1 = [row("q1"), row("q1", overdue=True), row("q1", answer_ms=A + 700_000, overdue=True)]
    check(stream, [*q1, row("q2"), row("q2", answer_ms=A + 600_999)])


def test_never_answered_request_becomes_overdue_once_the_deadline_window_is_final_and_an_answered_one_does_not():
    stream = (
        TestStream()
        .advance_watermark_to(at(T0))
        .add_elements(
            [
                beam.window.TimestampedValue([request("q1", A), request("q2", A, intent="question")], at(T0)),
                # q2 answered at the deadline exactly: A + 600 999 -> response_seconds 600 <= 600
                beam.window.TimestampedValue([reply("r2", "q2", A + 600_999)], at(T0)),
            ]
        )
        # past every deadline of both (DUE): only q1, unanswered, is overdue
        .advance_watermark_to(at(DUE + 60_000))
        .advance_watermark_to_infinity()
    )
    q2_answered = row("q2", answer_ms=A + 600_999, intent="question")
    check(stream, [row("q1"), row("q1", overdue=True), row("q2", intent="question"), q2_answered])


def test_reply_before_its_request_waits_in_state_and_answers_it():
    stream = (
        TestStream()
        .advance_watermark_to(at(T0))
        # the reply (answer at A + 120 000) and a redelivered copy of it arrive first: no row,
        # there is no request yet; a later-timed second answer changes nothing either
        .add_elements([beam.window.TimestampedValue([reply("r1", "q1", A + 120_000), reply("r1", "q1", A + 120_000)], at(T0))])
        .add_elements([beam.window.TimestampedValue([reply("r9", "q1", A + 900_000)], at(T0))])
        # a request of unknown intent, never answered: no care request, never a row
        .add_elements([beam.window.TimestampedValue([request("u1", A, intent="unknown")], at(T0))])
        # the request arrives out of order (its window [T0, T0 + 60 000) is open until the
        # watermark reaches T0 + 360 000): one row, answered after 120 s
        .advance_watermark_to(at(T0 + 200_000))
        .add_elements([beam.window.TimestampedValue([request("q1", A)], at(T0 + 200_000))])
        # past DUE: answered within the SLA, so no overdue row
        .advance_watermark_to(at(DUE + 1))
        .advance_watermark_to_infinity()
    )
    check(stream, [row("q1", answer_ms=A + 120_000)])


def test_a_request_about_two_own_brands_is_two_keys_with_their_own_sla():
    # lineaviva has the default SLA (3600 s): deadline A + 3 600 999 in the window starting
    # T0 + 3 600 000, final at T0 + 3 660 000 + 300 000 = T0 + 3 960 000
    stream = (
        TestStream()
        .advance_watermark_to(at(T0))
        .add_elements([beam.window.TimestampedValue([request("q1", A, brands=("nuvola", "lineaviva"))], at(T0))])
        .advance_watermark_to(at(T0 + 3_960_000 - 1))
        .advance_watermark_to(at(T0 + 3_960_000))
    )
    line = CareRow("q1", "lineaviva", "x", "mention", "complaint", A, None, None, 3600, None)
    check(stream, [row("q1"), row("q1", overdue=True), line, line._replace(overdue_ms=A + 3_600_000)])
