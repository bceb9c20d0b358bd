"""Each analytics view equals the independent computation (tests/analytics/expected.py) over what
the real pipeline produced from a seeded stream with duplicates, cross-posts, late data and a
crisis, on DuckDB and on the real PostgreSQL server."""

from __future__ import annotations

import pytest

from tests.analytics import expected as x
from tests.analytics.conftest import LATENESS_S, WINDOW_S, fetch, ms, r9

pytestmark = pytest.mark.integration


def test_the_stream_has_what_the_views_must_survive(produced, events_by_location):
    kinds = {r.kind.split(":")[0] for r in produced.stream.records}
    assert {"duplicate", "cross_post", "malformed"} <= kinds
    (late,) = fetch(produced.location, "SELECT count(*) FROM late_events")[0]
    (dups,) = fetch(produced.location, "SELECT count(*) FROM duplicate_events")[0]
    assert late > 10 and dups > 50
    events = events_by_location(produced)
    sentiments = {e.sentiment for e in events}
    assert {"positive", "neutral", "negative", "unknown"} <= sentiments, "the classifiers' labels must reach fact_events"


@pytest.mark.parametrize("view, bucket", [("v_share_of_voice_hourly", x.HOUR), ("v_share_of_voice_daily", x.DAY)])
def test_share_of_voice_on_three_bases_equals_the_independent_computation(produced, events_by_location, view, bucket):
    col = "hour" if bucket == x.HOUR else "day"
    got = {
        (ms(t), b): (int(m), int(e), int(r), r9(a), r9(bb), r9(c))
        for t, b, m, e, r, a, bb, c in fetch(
            produced.location,
            f"SELECT {col}, brand, mentions, engagement_points, reach, sov_mentions, sov_engagement, sov_reach FROM {view}",
        )
    }
    want = {k: (m, e, r, r9(a), r9(b), r9(c)) for k, (m, e, r, a, b, c) in x.share_of_voice(events_by_location(produced), bucket).items()}
    assert len(got) >= (6 if bucket == x.HOUR else 4)
    assert got == want


@pytest.mark.parametrize(
    "view, bucket", [("v_net_sentiment_hourly", x.HOUR), ("v_net_sentiment_daily", x.DAY), ("v_net_sentiment_by_brand", None)]
)
def test_net_sentiment_both_formulas_equal_the_independent_computation(produced, events_by_location, view, bucket):
    cols = "brand, mentions, positive, neutral, negative, unknown, net_sentiment_ratio, net_sentiment_share, formula_version"
    time_col = {x.HOUR: "hour, ", x.DAY: "day, ", None: ""}[bucket]
    got = {}
    for row in fetch(produced.location, f"SELECT {time_col}{cols} FROM {view}"):
        t = ms(row[0]) if bucket else None
        b, m, p, n, g, u, ratio, share, version = row[1:] if bucket else row
        assert version == "net-sentiment-v1"
        got[(t, b)] = (int(m), int(p), int(n), int(g), int(u), r9(ratio), r9(share))
    want = {k: (*v[:5], r9(v[5]), r9(v[6])) for k, v in x.net_sentiment(events_by_location(produced), bucket).items()}
    assert got == want
    assert any(v[1] and v[3] for v in got.values()), "positive and negative mentions both present"


def test_engagement_by_depth_equals_the_independent_computation(produced, events_by_location):
    got = {
        (ms(t), b, p): tuple(int(v) for v in rest)
        for t, b, p, *rest in fetch(
            produced.location,
            """SELECT hour, brand, platform, passive_events, light_events, strong_events, light_points, strong_points
               FROM v_engagement_depth_hourly""",
        )
    }
    want = x.engagement_depth(events_by_location(produced))
    assert len(got) > 50 and got == want


def test_care_requests_and_sla_per_brand_equal_the_independent_computation(produced, events_by_location):
    events = events_by_location(produced)
    want_requests = x.care_requests(events)
    got_requests = {
        (e, b): (intent, None if s is None else int(s), bool(w), bool(o))
        for e, b, intent, s, w, o in fetch(
            produced.location, "SELECT event_id, brand, intent, response_seconds, answered_within_sla, overdue FROM v_care_requests"
        )
    }
    assert got_requests == want_requests
    answered = [r for r in want_requests.values() if r[1] is not None]
    assert len(answered) > 50 and any(r[1] > 3600 for r in answered) and any(r[3] for r in want_requests.values())
    got = {
        b: (int(q), int(a), int(u), int(o), int(w), r9(s), r9(med), r9(p90))
        for b, q, a, u, o, w, s, med, p90 in fetch(
            produced.location,
            """SELECT brand, requests, answered, unanswered, overdue, answered_within_sla, sla_share, median_response_seconds,
                      p90_response_seconds FROM v_care_sla_by_brand""",
        )
    }
    want = {b: (*v[:5], r9(v[5]), r9(v[6]), r9(v[7])) for b, v in x.care_by_brand(want_requests).items()}
    assert set(got) == {"nuvola", "dolceforno"} and got == want


def test_care_response_written_after_each_commit_equals_the_independent_computation(produced, events_by_location):
    """The driver's care_response (analytics.care, folded after every commit) holds the requests of
    v_care_requests with the same answers; overdue_at is set exactly on the complaints and questions
    not answered within the SLA whose deadline window was final (window_end + L <= the watermark)
    at the last commit, and on no other row."""
    want = x.care_requests(events_by_location(produced))
    got = fetch(
        produced.location,
        f"""SELECT request_id, brand, intent, response_seconds, sla_seconds, {"extract(epoch FROM asked_at) * 1000" if "postgresql" in produced.location else "epoch_ms(asked_at)"},
                   overdue_at IS NOT NULL FROM care_response""",
    )
    assert {(e, b): (i, None if s is None else int(s)) for e, b, i, s, *_ in got} == {k: v[:2] for k, v in want.items()}
    ((watermark,),) = fetch(produced.location, "SELECT min(max_event_time_ms) FROM source_offsets")
    w, wl = WINDOW_S[0] * 1000, (WINDOW_S[0] + LATENESS_S) * 1000  # care deadlines follow the smallest window
    for e, b, intent, response, sla, asked, overdue in got:
        deadline = int(asked) + int(sla) * 1000 + 999
        due = deadline - deadline % w + wl
        missed = intent in ("complaint", "question") and (response is None or response > sla)
        assert overdue == (missed and due <= watermark), (e, b)
    assert sum(o for *_, o in got) > 20 and sum(1 for *_, s, _sla, _a, _o in got if s is not None and s > 3600) > 3


def test_strengths_and_weaknesses_equal_the_independent_computation(produced, events_by_location):
    got = {
        (b, a): (int(m), int(p), int(n), int(g), verdict)
        for b, a, m, p, n, g, verdict in fetch(
            produced.location, "SELECT brand, aspect, mentions, positive, neutral, negative, verdict FROM v_brand_aspects"
        )
    }
    want = {
        k: (*v, "strength" if v[1] > v[3] else "weakness" if v[3] > v[1] else "mixed")
        for k, v in x.brand_aspects(events_by_location(produced)).items()
    }
    assert got == want
    assert len(want) >= 5 and {"strength", "weakness"} <= {v[4] for v in want.values()}


def test_per_event_influence_and_crisis_risk_equal_the_independent_computation(produced, events_by_location):
    got = {
        e: (float(i), float(c), v)
        for e, i, c, v in fetch(produced.location, "SELECT event_id, influence, crisis_risk, metric_version FROM fact_events")
    }
    want = x.event_scores(events_by_location(produced))
    assert set(got) == set(want)
    for event_id, (influence, risk) in want.items():
        assert got[event_id][:2] == pytest.approx((influence, risk), abs=1e-6), event_id
        assert got[event_id][2] == "engagement-v1/reach-v1/influence-v1/crisis-risk-v1"
    risks = sorted(r for _, r in want.values())
    assert risks[0] == 0.0 and risks[-1] > 0.5 and sum(r > 0 for r in risks) > 200, "the stream has risky and harmless events"
    assert {i for i, _ in want.values()} > {0.0}


def test_engagement_windows_by_device_and_sentiment_in_both_sizes_equal_the_independent_computation(produced, events_by_location):
    cols = (
        "window_start, window_seconds, brand, platform, event_type, lang, device, sentiment, events, engagement_points, reach, impressions"
    )
    got = {
        (ms(r[0]), int(r[1]), *r[2:8]): tuple(int(v) for v in r[8:])
        for r in fetch(produced.location, f"SELECT {cols} FROM engagement_window")
    }
    want = x.engagement_windows(events_by_location(produced), (60, 3600))
    assert got == want
    assert {k[1] for k in got} == {60, 3600} and {k[6] for k in got} == {"mobile", "desktop", "unknown"}
    assert {"positive", "neutral", "negative", "unknown"} <= {k[7] for k in got}
    hour_view = fetch(produced.location, "SELECT DISTINCT window_seconds FROM engagement_by_hour")
    assert hour_view == [(3600,)], "the hourly views read the hour rows when present"


def test_aspect_windows_and_their_hourly_view_equal_the_independent_computation(produced, events_by_location):
    events = events_by_location(produced)
    got = {
        (ms(t), int(size), b, a, p): int(n)
        for t, size, b, a, p, n in fetch(
            produced.location, "SELECT window_start, window_seconds, brand, aspect, polarity, mentions FROM aspect_window"
        )
    }
    want = x.aspect_windows(events, (60, 3600))
    assert got == want and len(want) > 50
    # strengths and weaknesses per hour: catalog brands, one count per post, aspect and polarity
    per_hour: dict[tuple, list[int]] = {}
    for (t, size, b, a, p), n in want.items():
        if size == 3600 and b != "unattributed" and p in ("positive", "neutral", "negative"):
            per_hour.setdefault((t, b, a), [0, 0, 0])[("positive", "neutral", "negative").index(p)] += n
    view = {
        (ms(t), b, a): [int(pos), int(neu), int(neg)]
        for t, b, a, pos, neu, neg in fetch(
            produced.location, "SELECT hour, brand, aspect, positive, neutral, negative FROM v_brand_aspects_hourly"
        )
    }
    assert view == per_hour


@pytest.mark.parametrize("table", ["engagement_window", "aspect_window"])
def test_window_rows_are_final_once_the_watermark_passed_their_end_plus_lateness(produced, table):
    (watermark,) = fetch(produced.location, "SELECT min(max_event_time_ms) FROM source_offsets")[0]
    rows = fetch(produced.location, f"SELECT window_end, window_seconds, is_final, pane_timing, pane_index, revision FROM {table}")
    for end, _size, final, timing, pane_index, revision in rows:
        assert final == (ms(end) + 300_000 <= watermark) == (timing == "FINAL")
        assert revision == pane_index + 1 and timing in ("EARLY", "ON_TIME", "LATE", "FINAL")
    # both sizes become final, and the newest engagement windows stay open (the seeded stream's last
    # two hours of event time carry no customer post with aspects: every aspect window is final)
    want = {(60, True), (60, False), (3600, True), (3600, False)} if table == "engagement_window" else {(60, True), (3600, True)}
    assert want <= {(r[1], r[2]) for r in rows}


def test_summary_rows_give_the_care_sla_in_minutes_and_both_sentiment_formulas(produced, events_by_location):
    from pipelines.analytics.sql import connect
    from pipelines.analytics.summary_rows import care_sla_summary, net_sentiment_summary

    events = events_by_location(produced)
    con, dialect = connect(produced.location)
    try:
        care, sentiment = care_sla_summary(con, dialect), net_sentiment_summary(con, dialect)
    finally:
        con.close()
    want = x.care_by_brand(x.care_requests(events))
    names = {"nuvola": "Nuvola Hosting", "dolceforno": "Dolce Forno"}
    assert [r[0] for r in care] == [names[b] for b in sorted(want, key=lambda b: -want[b][0])]
    for name, q, a, u, o, share, med, p90, sla in care:
        w = want[next(b for b, n in names.items() if n == name)]
        assert (q, a, u, o) == w[:4] and r9(share) == r9(w[5]) and sla == 60.0
        assert med == pytest.approx(w[6] / 60) and p90 == pytest.approx(w[7] / 60)
    want_sentiment = x.net_sentiment(events, None)
    assert {b: (p, n, g, u, r9(r), r9(s)) for b, (p, n, g, u, r, s) in sentiment.items()} == {
        b: (*v[1:5], r9(v[5]), r9(v[6])) for (_, b), v in want_sentiment.items()
    }
