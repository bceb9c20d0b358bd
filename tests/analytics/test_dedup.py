"""dedup-v1 in the warehouse equals the brute-force computation (tests/analytics/expected_dedup.py)
over what was published: the text sketches stored per event, the cross-post and coordinated
flags, the counts by kind (redeliveries included) and the copy-paste campaigns, on DuckDB and on
the real PostgreSQL server, from a seeded stream with redeliveries, cross-posts, a copy-paste
burst, late data and a crisis."""

from __future__ import annotations

import collections

import pytest

from pipelines.text_sketch import sketch_texts
from tests.analytics import expected_dedup as xd
from tests.analytics.conftest import LATENESS_S, WINDOW_S, fetch, ms
from tests.integration.expected import expected_db

pytestmark = pytest.mark.integration


def _published(produced) -> list[xd.Published]:
    con = expected_db(produced.stream, WINDOW_S, LATENESS_S)
    accepted = {(p, o) for p, o, outcome in con.execute("SELECT * FROM classified").fetchall() if outcome == "accepted"}
    return xd.accepted_published(produced.stream, accepted)


def test_stored_sketches_are_the_sketches_of_the_published_texts(produced):
    events = _published(produced)
    want = dict(zip((e.event_id for e in events), sketch_texts([e.text for e in events])))
    got = {
        e: (fp, sh, n)
        for e, fp, sh, n in fetch(produced.location, "SELECT event_id, text_fingerprint, text_simhash, text_tokens FROM fact_events")
    }
    assert set(got) == set(want)
    assert got == {e: (None, None, None) if s is None else tuple(s) for e, s in want.items()}
    assert any(v[1] is not None and v[1] < 0 for v in got.values()), "signed 64-bit values above 2**63 round-trip"


def test_flags_equal_the_brute_force_computation(produced):
    want = xd.dedup_flags(_published(produced))
    got = {}
    for event_id, kind, original, version in fetch(
        produced.location, "SELECT event_id, kind, original_event_id, detector_version FROM v_event_dedup_flags"
    ):
        assert version == "dedup-v1" and event_id not in got
        got[event_id] = (kind, original)
    assert got == want
    kinds = xd.counts_by_kind(want)
    assert kinds["cross_post"] > 10 and kinds["coordinated"] >= 5


def test_the_copy_paste_burst_is_flagged_and_the_generators_cross_posts_are_found(produced):
    flags = xd.dedup_flags(_published(produced))
    burst = [r.event["event_id"] for r in produced.stream.records if r.kind == "coordinated"]
    crossed = [r.event["event_id"] for r in produced.stream.records if r.kind == "cross_post"]
    flagged_burst = [e for e in burst if flags.get(e, ("",))[0] == "coordinated"]
    # every variant that kept the base text (edits: a handle, an emoji) is flagged; a swapped
    # word moves the SimHash beyond distance 3 on a post this short (README, dedup-v1)
    assert len(burst) >= 8 and len(flagged_burst) >= 5
    assert len({flags[e][1] for e in flagged_burst}) == 1, "one campaign, one cluster"
    accepted = {e.event_id for e in _published(produced)}
    assert all(flags.get(e, ("",))[0] == "cross_post" for e in crossed if e in accepted)


def test_duplicates_by_kind_count_redeliveries_and_flags(produced):
    con = expected_db(produced.stream, WINDOW_S, LATENESS_S)
    (redeliveries,) = con.execute("SELECT count(*) FROM classified WHERE outcome = 'duplicate'").fetchall()[0]
    kinds = xd.counts_by_kind(xd.dedup_flags(_published(produced)))
    got = {
        k: (a, int(n)) for k, a, n, _ in fetch(produced.location, "SELECT kind, action, events, detector_version FROM v_duplicates_by_kind")
    }
    assert got == {
        "redelivery": ("dropped", redeliveries),
        "cross_post": ("flagged", kinds["cross_post"]),
        "coordinated": ("flagged", kinds["coordinated"]),
    }
    assert redeliveries > 50


def test_coordinated_campaigns_equal_the_brute_force_computation(produced):
    events = {e.event_id: e for e in _published(produced)}
    brands = {r.event["event_id"]: r.truth.brands for r in produced.stream.records if r.event}
    clusters = collections.defaultdict(list)
    for event_id, (kind, cluster) in xd.dedup_flags(list(events.values())).items():
        if kind == "coordinated":
            for b in brands[event_id] or ("unattributed",):
                clusters[(b, cluster)].append(events[event_id])
    want = {
        k: (min(e.t for e in es), max(e.t for e in es), len({e.author_id for e in es}), len(es), events[k[1]].text)
        for k, es in clusters.items()
    }
    got = {
        (b, c): (ms(f), ms(last), int(a), int(n), text)
        for b, c, f, last, a, n, text in fetch(
            produced.location,
            "SELECT brand, cluster_event_id, first_seen, last_seen, authors, events, sample_text FROM v_coordinated_campaigns",
        )
    }
    assert got == want and any(v[2] >= 5 for v in want.values())


def test_the_dedup_policy_table_changes_the_flags(produced):
    """A stricter burst (more authors than the campaign has) and a shorter cross-post window,
    set in a transaction that is rolled back: the flags follow the policy."""
    policy = xd.Policy(cross_post_window_s=60, coordinated_min_authors=50)
    want = xd.dedup_flags(_published(produced), policy)
    sql = [
        "INSERT INTO dedup_policy VALUES ('cross_post_window_seconds', 60), ('coordinated_min_authors', 50)",
        "SELECT event_id, kind, original_event_id FROM v_event_dedup_flags",
    ]
    if produced.location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(produced.location) as con:  # a transaction, rolled back at exit below
            con.execute(sql[0])
            rows = con.execute(sql[1]).fetchall()
            con.rollback()
    else:
        import duckdb

        con = duckdb.connect(produced.location)
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(sql[0])
            rows = con.execute(sql[1]).fetchall()
            con.execute("ROLLBACK")
        finally:
            con.close()
    assert {e: (k, o) for e, k, o in rows} == want
    assert xd.counts_by_kind(want)["coordinated"] == 0 and 0 < xd.counts_by_kind(want)["cross_post"]
    assert fetch(produced.location, "SELECT count(*) FROM dedup_policy") == [(0,)]


def test_report_and_summary_show_duplicates_by_kind_and_the_campaign(produced, tmp_path):
    from rich.console import Console

    from pipelines.analytics.report import render_report
    from pipelines.analytics.sql import connect
    from pipelines.catalog import load_catalog
    from pipelines.summary import collect_summary, render_summary

    kinds = xd.counts_by_kind(xd.dedup_flags(_published(produced)))
    campaign = next(r for r in produced.stream.records if r.kind == "coordinated")
    brand = load_catalog().brand(campaign.truth.brands[0]).name
    con, dialect = connect(produced.location)
    try:
        html = render_report(con, dialect, "t", "w")
        summary = collect_summary(con, load_catalog()) if dialect.param == "?" else None
    finally:
        con.close()
    section = html[html.index("<h2>Duplicates and coordinated campaigns") :]
    assert f"<td>coordinated</td><td>flagged</td><td class=n>{kinds['coordinated']:,}</td>" in section
    assert f"<td>cross-post</td><td>flagged</td><td class=n>{kinds['cross_post']:,}</td>" in section
    assert "<h3>Coordinated campaigns" in section and f"<td>{brand}</td>" in section
    if summary is not None:
        console = Console(record=True, width=200)
        render_summary(summary, console)
        text = console.export_text()
        assert f"coordinated {kinds['coordinated']:,} flagged" in text and f"cross-post {kinds['cross_post']:,} flagged" in text
        assert "Coordinated campaigns" in text and brand in text
