"""care-v1 in Python (pipelines/analytics/care.py): signals, the order-free fold, rows, the
overdue arithmetic and the forward-only merge."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.analytics.care import (
    CarePolicy,
    CareRow,
    answered_within_sla,
    care_row,
    care_signals,
    fold,
    merge_rows,
    overdue_due_ms,
)

OWN = frozenset({"nuvola", "lineaviva"})


def event(event_id="m1", brand_account=False, event_type="mention", brands=("nuvola",), parent=None, intent="complaint", at=1_000):
    return {
        "event_id": event_id,
        "author": {"is_brand_account": brand_account},
        "event_type": event_type,
        "brands": list(brands),
        "parent_id": parent,
        "intent": intent,
        "event_time": at,
        "platform": "x",
    }


@pytest.mark.parametrize(
    ("e", "want"),
    [
        (event(), [(("m1", "nuvola"), ("request", 1_000, "x", "mention", "complaint"))]),
        (event(brands=("nuvola", "competitor", "lineaviva")), [(("m1", "nuvola"), ()), (("m1", "lineaviva"), ())]),
        (event(event_type="reaction"), []),  # not a request type
        (event(event_type="share"), []),  # shares are voice, not requests
        (event(brands=("competitor",)), []),  # only own brands get care
        (event(intent=None), [(("m1", "nuvola"), ("request", 1_000, "x", "mention", "unknown"))]),
        (event("r1", brand_account=True, event_type="reply", parent="m1", at=5_000), [(("m1", "nuvola"), ("answer", 5_000))]),
        (event("r1", brand_account=True, event_type="post", parent=None), []),  # a brand post answers nothing
        (event("r1", brand_account=True, event_type="comment", parent="m1", brands=("competitor",)), []),
    ],
)
def test_signals_follow_the_care_v1_definition(e, want):
    got = care_signals(e, OWN)
    assert [k for k, _ in got] == [k for k, _ in want]
    for (_k, signal), (_w, expected) in zip(got, want, strict=True):
        assert not expected or signal == expected


@given(st.permutations([("request", 10_000, "x", "mention", "question"), ("answer", 700_000), ("answer", 400_000), ("answer", 900_000)]))
def test_the_fold_is_order_free_and_keeps_the_earliest_answer(signals):
    state = None
    for s in signals:
        state = fold(state, s)
    assert state == {"asked_ms": 10_000, "platform": "x", "event_type": "mention", "intent": "question", "answer_ms": 400_000}


@pytest.mark.parametrize(
    ("answer_ms", "within"),
    [(10_000 + 600_999, True), (10_000 + 601_000, False), (None, False), (5_000, True)],  # 600.999 s floors to 600; before: negative
)
def test_within_sla_is_response_seconds_at_most_the_sla(answer_ms, within):
    state = {"asked_ms": 10_000, "intent": "complaint", "platform": "x", "event_type": "mention"}
    if answer_ms is not None:
        state["answer_ms"] = answer_ms
    assert answered_within_sla(state, 600) is within
    row = care_row(("m1", "nuvola"), state, 600)
    assert row.response_seconds == (None if answer_ms is None else (answer_ms - 10_000) // 1000)


@pytest.mark.parametrize(
    ("asked_ms", "sla_s", "due_ms"),
    [
        # deadline = asked + sla * 1000 + 999; due = window_end(deadline) + L (W = 60 000, L = 300 000)
        (10_000, 600, 660_000 + 300_000),  # deadline 610 999 in [600 000, 660 000)
        (59_000, 0, 60_000 + 300_000),  # deadline 59 999: the first window still
        (59_001, 0, 120_000 + 300_000),  # deadline 60 000: the next window
    ],
)
def test_overdue_is_due_when_the_deadline_window_is_final(asked_ms, sla_s, due_ms):
    assert overdue_due_ms(asked_ms, sla_s, 60_000, 300_000) == due_ms


def test_unknown_intent_is_a_request_only_once_answered_and_other_intents_never():
    unknown = {"asked_ms": 1, "intent": "unknown", "platform": "x", "event_type": "post"}
    assert care_row(("m", "nuvola"), unknown, 3600) is None
    assert care_row(("m", "nuvola"), {**unknown, "answer_ms": 2_000}, 3600).first_answer_ms == 2_000
    assert care_row(("m", "nuvola"), {**unknown, "intent": "praise", "answer_ms": 2_000}, 3600) is None
    assert care_row(("m", "nuvola"), {"answer_ms": 2_000}, 3600) is None  # an answer without its request yet


def test_merge_keeps_the_most_advanced_row_whatever_the_order():
    base = CareRow("m1", "nuvola", "x", "mention", "complaint", 0, None, None, 600, None)
    overdue = base._replace(overdue_ms=600_000)
    late = base._replace(first_answer_ms=700_000, response_seconds=700)
    earlier = base._replace(first_answer_ms=650_000, response_seconds=650)
    want = base._replace(first_answer_ms=650_000, response_seconds=650, overdue_ms=600_000)
    for rows in itertools.permutations([base, overdue, late, earlier]):
        assert merge_rows(list(rows)) == [want]


def test_policy_gives_a_brand_its_sla_or_the_default():
    p = CarePolicy(OWN, (("nuvola", 1800),))
    assert (p.sla_seconds("nuvola"), p.sla_seconds("lineaviva")) == (1800, 3600)
