import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.model import DeadLetterReason
from pipelines.transforms.decode import validate_event
from pipelines.wire import DecodeError, EventCodec

CODEC = EventCodec()
STREAM = list(generate_stream(GeneratorConfig(seed=3, events=6000)))
GOOD = [r for r in STREAM if r.kind in ("event", "duplicate", "cross_post")]


def test_every_generated_event_round_trips_through_the_wire_format_from_v1_and_v2_producers():
    ids = {struct.unpack(">I", rec.value[1:5])[0] for rec in GOOD}
    assert ids == {1, 2}, "the stream mixes a legacy v1 collector and v2 producers"
    for rec in GOOD[:800]:
        assert rec.value[0] == 0
        assert CODEC.decode(rec.value) == rec.event


@pytest.mark.parametrize("kind", ["empty_value", "bad_magic_byte", "unknown_schema_id", "malformed_avro", "trailing_bytes"])
def test_each_malformed_kind_the_generator_writes_decodes_to_its_reason(kind):
    bad = [r for r in STREAM if r.kind == f"malformed:{kind}"]
    assert bad, f"the stream has no {kind} record"
    for rec in bad:
        with pytest.raises(DecodeError) as err:
            CODEC.decode(rec.value)
        assert err.value.reason == DeadLetterReason(kind)


def test_truncation_anywhere_in_the_body_is_a_decode_error_not_a_crash():
    value = GOOD[0].value
    for cut in range(5, len(value)):
        try:
            CODEC.decode(value[:cut])
        except DecodeError:
            continue
        pytest.fail(f"a value cut at {cut} of {len(value)} bytes decoded")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_nothing_but_decode_error(data):
    try:
        CODEC.decode(data)
    except DecodeError as err:
        assert isinstance(err.reason, DeadLetterReason)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=5, max_value=400), st.integers(min_value=0, max_value=255), st.integers(min_value=0, max_value=len(GOOD) - 1))
def test_flipped_bytes_raise_nothing_but_decode_error(pos, byte, which):
    value = bytearray(GOOD[which].value)
    value[pos % len(value)] = byte
    try:
        CODEC.decode(bytes(value))
    except DecodeError:
        pass


@pytest.mark.parametrize(
    "change, message, reason",
    [
        ({"event_id": ""}, "event_id is empty", "missing_event_id"),
        ({"event_id": "   "}, "event_id is empty", "missing_event_id"),
        ({"platform": "youtube", "event_type": "direct_message"}, "youtube cannot produce a direct_message", "impossible_event_type"),
        ({"platform": "tiktok", "event_type": "review"}, "tiktok cannot produce a review", "impossible_event_type"),
        ({"event_time": 1_000}, "before 2004", "invalid_event_time"),
        ({"event_time_offset": 3 * 24 * 3600 * 1000}, "more than a day after", "invalid_event_time"),
        ({"review_rating": 7}, "review_rating 7", "invalid_field"),
    ],
)
def test_events_that_cannot_be_true_are_dead_letters_with_their_reason(change, message, reason):
    event = dict(GOOD[0].event)
    if "event_time_offset" in change:
        event["event_time"] = event["ingest_time"] + change["event_time_offset"]
    else:
        event.update(change)
    with pytest.raises(DecodeError, match=message) as err:
        validate_event(event)
    assert err.value.reason == DeadLetterReason(reason)
