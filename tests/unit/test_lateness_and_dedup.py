import pytest

from pipelines.transforms.dedup import first_copies
from pipelines.transforms.lateness import classify, window_start_ms

W, L = 60_000, 300_000


def ev(eid: str, t: int, offset: int, partition: int = 0) -> dict:
    return {"event_id": eid, "event_time": t, "kafka_topic": "t", "kafka_partition": partition, "kafka_offset": offset, "kafka_value": b"v"}


@pytest.mark.parametrize(
    "event_time, watermark, late",
    [
        # window [0, 60 s) ends at 60 s; with L = 300 s it closes when the watermark reaches 360 s
        (59_999, 359_999, False),
        (59_999, 360_000, True),
        (0, 360_000, True),
        (60_000, 360_000, False),  # next window [60 s, 120 s) closes at 420 s
        (119_999, 419_999, False),
        (119_999, 420_000, True),
        (500_000, -1, False),  # no watermark yet: nothing is late
    ],
)
def test_event_is_late_exactly_when_window_end_plus_lateness_is_behind_the_watermark(event_time, watermark, late):
    on_time, late_events, _ = classify([ev("a", event_time, 0)], watermark, W, L)
    assert (len(late_events) == 1) is late
    assert (len(on_time) == 1) is not late


def test_watermark_is_the_running_max_of_earlier_events_in_the_partition():
    events = [ev("a", 1_000_000, 0), ev("b", 400_000, 1), ev("c", 2_000_000, 2), ev("d", 1_600_000, 3), ev("e", 1_720_000, 4)]
    on_time, late, wm = classify(events, -1, W, L)
    # b: window [360 s, 420 s) + 300 s = 720 s <= 1,000 s -> late; d: [1,560 s, 1,620 s) + 300 s = 1,920 s <= 2,000 s -> late; e: [1,680 s, 1,740 s) + 300 s = 2,040 s > 2,000 s -> on time
    assert [x.event_id for x in late] == ["b", "d"]
    assert [e["event_id"] for e in on_time] == ["a", "c", "e"]
    assert wm == 2_000_000
    assert late[0].watermark_ms == 1_000_000 and late[0].window_start_ms == window_start_ms(400_000, W) == 360_000


def test_classification_does_not_depend_on_where_the_log_is_cut_into_batches():
    events = [ev(str(i), (i * 7919) % 3_000_000, i) for i in range(400)]
    whole, whole_late, whole_wm = classify(events, -1, W, L)
    for cut in (1, 57, 200, 399):
        a_on, a_late, wm = classify(events[:cut], -1, W, L)
        b_on, b_late, wm2 = classify(events[cut:], wm, W, L)
        assert a_on + b_on == whole and a_late + b_late == whole_late and wm2 == whole_wm


def test_first_copy_in_log_order_is_kept_and_later_copies_are_redeliveries():
    events = [ev("x", 1, 0), ev("y", 1, 1), ev("x", 1, 2), ev("z", 1, 3), ev("y", 1, 4)]
    taken = {"z"}
    unique, dups = first_copies(events, taken)
    assert [e["kafka_offset"] for e in unique] == [0, 1]
    assert [(d.event_id, d.offset, d.kind) for d in dups] == [("x", 2, "redelivery"), ("z", 3, "redelivery"), ("y", 4, "redelivery")]
    assert taken == {"x", "y", "z"}
