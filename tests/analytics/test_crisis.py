"""Crisis detection: the state machine on hand-made counts, then the generated burst found in
what the real pipeline produced, on both warehouses, incrementally as exactly as in one go."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from pipelines.analytics.crisis import CrisisParams, active_crises, crisis_summary, detect, update_crisis_episodes
from pipelines.catalog import load_catalog
from pipelines.io.batch import DUCKDB, POSTGRES
from schemas import SCHEMA_DIR
from tests.analytics import expected as x
from tests.analytics.conftest import CONFIG, burst_start_ms

P = CrisisParams()
STEP = P.step_seconds
# Grid indices: one per 5 minutes. Warm-up: 12 (1 h window) + 36 (3 h baseline) steps after the data start.
WARM = 12 + 36


def flat(n_steps: int, per_step: int = 1) -> dict[int, int]:
    return dict.fromkeys(range(n_steps), per_step)  # 12 per hour: above the 2/h floor


def test_a_steady_brand_never_opens_an_episode():
    assert detect("b", flat(400), 0, 0, 399, P) == []


def test_a_surge_opens_at_the_first_step_whose_windows_cross_the_thresholds():
    counts = flat(200)
    for k in range(100, 104):  # 40 negatives per 5 minutes for 20 minutes, on a baseline of 12/h
        counts[k] = 40
    [ep] = detect("b", counts, 0, 0, 199, P)
    # At k = 101 the velocity window [k-3, k) holds 1 + 1 + 40 = 42 >= 6, rate 168/h >= 6 x 12/h:
    # the first evaluation whose window contains surge negatives opens.
    assert ep.start == 101 and ep.baseline_per_hour == pytest.approx(12.0)
    assert ep.peak == 103 and ep.peak_per_hour == 480.0  # [100, 103): 3 x 40 in 15 min
    # Calm once the 15-minute window is back under 3 x 12/h: at k = 107 ([104, 107) holds 3).
    # A calm hour (12 steps) later, at 119, it ends at 107.
    assert ep.end == 107 and ep.last == 119 and ep.severity == pytest.approx(40.0) and ep.severity_level == "severe"
    assert ep.negative_mentions == sum(counts[k] for k in range(101 - 12, 107))


def test_no_episode_during_warm_up_without_a_baseline():
    counts = flat(200)
    for k in range(20, 24):
        counts[k] = 40
    assert detect("b", counts, 0, 0, 199, P) == []
    assert len(detect("b", counts, 0 - WARM, 0, 199, P)) == 1, "the same surge with enough history before it"


def test_a_second_surge_inside_the_cooldown_continues_the_episode_and_one_after_it_opens_another():
    counts = flat(400)
    for k in (100, 101, 115, 116, 200, 201):  # 115: 14 steps after 101, inside calm + cooldown; 200: far after
        counts[k] = 40
    first, second = detect("b", counts, 0, 0, 399, P)
    assert (first.start, second.start) == (101, 201)
    # Peak: [100, 103) and [114, 117) both hold 81; the first counts. The second surge is seen at
    # 116, before the cooldown (calm since 105) runs out at 117; calm again from 120 ([117, 120)).
    assert first.peak == 102 and first.end == 120


def test_an_episode_is_ongoing_until_its_cooldown_has_passed_in_the_data():
    counts = flat(120)
    counts[100] = 40
    [ep] = detect("b", counts, 0, 0, 110, P)
    assert ep.end is None and ep.last == 110


@pytest.fixture(scope="session")
def episodes(produced) -> list[tuple]:
    """crisis_episodes after one update on the produced warehouse, computed_at left out."""
    con, dialect = _open(produced.location)
    try:
        update = update_crisis_episodes(con, dialect, full=True)  # whatever ran before (ascolto report --update-crises)
        assert update.full and update.episodes_written >= 1
        again = update_crisis_episodes(con, dialect)
        assert not again.full and again.brands_recomputed == [] and again.episodes_written == 0
        rows = _episodes(con, dialect)
        summary = crisis_summary(con, dialect)
        assert len(summary) == len(rows) and active_crises(con, dialect) == {r[0] for r in rows if r[4] is None}
        update_crisis_episodes(con, dialect, full=True)
        assert _episodes(con, dialect) == rows, "a full recomputation gives the same rows (idempotent)"
        return rows
    finally:
        con.close()


def _open(location: str):
    if location.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(location, autocommit=True), POSTGRES
    return duckdb.connect(location), DUCKDB


def _episodes(con, dialect) -> list[tuple]:
    sql = """SELECT brand, detector_version, started_at, peak_at, ended_at, last_evaluated_at, baseline_per_hour,
                    peak_negatives_per_hour, negative_mentions, severity, severity_level, top_terms, top_aspects
             FROM crisis_episodes ORDER BY brand, started_at"""
    cur = con.execute(sql)
    return [tuple(list(v) if isinstance(v, list) else v for v in r) for r in cur.fetchall()]


def _ms(t: datetime) -> int:
    return int(t.replace(tzinfo=UTC).timestamp() * 1000)


def test_the_generated_burst_is_one_nuvola_episode_starting_within_the_windowed_tolerance(produced, episodes, events_by_location):
    assert len(episodes) == 1, episodes
    brand, version, started, peak, ended, last, baseline, peak_rate, negatives, severity, level, top_terms, _aspects = episodes[0]
    assert brand == "nuvola" and version == "crisis-v1"
    b = burst_start_ms(CONFIG)
    step = STEP * 1000
    # Tolerance: no window ending at or before the burst holds any of it, so the start is no
    # earlier than the first grid time after it; the surge adds about 12 negatives a minute
    # against a velocity threshold of 1.5 x the hourly baseline (~25-40) per 15 minutes, so it
    # crosses within 4 minutes and the next grid time (at most 5 minutes on) opens:
    # started in [B, B + 4 + 5 min] (the burst itself lasts 8 minutes).
    assert b <= _ms(started) <= b + 9 * 60_000, (datetime.fromtimestamp(b / 1000, UTC), started)
    assert _ms(started) % step == 0 and ended is not None and started <= peak < ended <= last
    assert _ms(peak) <= b + 8 * 60_000 + P.fast_window_seconds * 1000, "the peak's 15-minute window overlaps the burst"
    # End: the 15-minute window holds none of the burst from B + 8 + 15 min on, so the first calm
    # grid time is at most 5 minutes later, unless baseline noise alone passed 3x the baseline.
    assert _ms(ended) <= b + (8 + 15 + 5) * 60_000, (datetime.fromtimestamp(b / 1000, UTC), ended)
    # The episode's numbers, counted again from the accepted events' negative customer mentions.
    times = x.negatives_of(events_by_location(produced), "nuvola")
    s, p, e = _ms(started), _ms(peak), _ms(ended)
    data_start = min(ev.t for ev in events_by_location(produced)) // step * step
    base_from = max(s - 13 * 3_600_000, data_start)
    assert negatives == sum(s - 3_600_000 <= t < e for t in times)
    want_baseline = sum(base_from <= t < s - 3_600_000 for t in times) / ((s - 3_600_000 - base_from) / 3_600_000)
    assert baseline == pytest.approx(max(want_baseline, P.baseline_floor_per_hour))
    assert peak_rate == pytest.approx(sum(p - 900_000 <= t < p for t in times) * 4)
    assert severity == pytest.approx(peak_rate / baseline) and severity >= P.velocity_ratio and level in ("high", "severe")
    words = {"nuvola", "hosting", "nuvolacare", "nuvolahosting"}
    assert len(top_terms) == P.top_n and not words & set(top_terms)


def test_duckdb_and_postgresql_detect_the_same_episodes(duckdb_produced, postgres_produced):
    assert _detect_fresh(duckdb_produced.location) == _detect_fresh(postgres_produced.location)


def _detect_fresh(location: str) -> list[tuple]:
    con, dialect = _open(location)
    try:
        update_crisis_episodes(con, dialect, full=True)
        rows = [(r[0], r[2], r[3], r[4], r[6], r[7], r[8], r[10], r[11]) for r in _episodes(con, dialect)]
        assert len(rows) == 1
        return rows
    finally:
        con.close()


def test_updating_after_each_batch_gives_the_episodes_of_one_full_run(duckdb_produced):
    """Facts arrive in 15 slices in ingest order (late and out-of-order events land in later
    slices, before the range already evaluated), one update after each."""
    con = duckdb.connect()
    con.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())
    con.execute(f"ATTACH '{duckdb_produced.location}' AS src (READ_ONLY)")
    con.execute("INSERT INTO brand_dim SELECT * FROM src.brand_dim")
    con.execute("CREATE TEMP TABLE sliced AS SELECT *, ntile(15) OVER (ORDER BY ingest_time, event_id) AS slice FROM src.fact_events")
    cols = [r[0] for r in con.execute("DESCRIBE fact_events").fetchall()]
    select = ", ".join("slice AS batch_id" if c == "batch_id" else c for c in cols)
    catalog = load_catalog()
    updates = []
    for i in range(1, 16):
        con.execute(f"INSERT INTO fact_events SELECT {select} FROM sliced WHERE slice = {i}")
        updates.append(update_crisis_episodes(con, DUCKDB, catalog=catalog))
    assert updates[0].full and not any(u.full for u in updates[1:])
    assert any(len(u.brands_recomputed) < 5 or u.episodes_written == 0 for u in updates[1:]), "later updates re-run less than all"
    incremental = _episodes(con, DUCKDB)
    update_crisis_episodes(con, DUCKDB, catalog=catalog, full=True)
    assert incremental == _episodes(con, DUCKDB) and len(incremental) == 1
    con.close()


def test_late_negatives_before_the_evaluated_range_are_counted_by_the_next_update():
    con = duckdb.connect()
    con.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())
    t0 = datetime(2026, 11, 24, 0, 0)

    def add(batch: int, minutes: list[float], sentiment: str = "negative") -> None:
        times = [datetime.fromtimestamp(t0.replace(tzinfo=UTC).timestamp() + m * 60, UTC).replace(tzinfo=None) for m in minutes]
        new = pa.table({"i": list(range(len(times))), "t": pa.array(times, pa.timestamp("us"))})  # noqa: F841 - read by the SQL
        con.execute(
            f"""INSERT INTO fact_events (event_id, event_time, ingest_time, platform, event_type, author_id, author_handle,
                   author_follower_count, author_is_brand_account, text, device, lang, brands, engagement_points, reach,
                   metric_version, topic, kafka_partition, kafka_offset, kafka_timestamp, batch_id, sentiment)
                SELECT 'e{batch}-' || i, t, t, 'x', 'post', 'u', '@u', 10, false, 'sito down di nuovo', 'mobile', 'it', ['nuvola'],
                       2, 10, 'v', 't', 0, {batch * 10_000} + i, t, {batch}, '{sentiment}' FROM new"""
        )

    add(1, [m * 5 for m in range(0, 12 * 10)])  # 10 hours, one negative every 5 minutes: 12/h
    add(1, [600.5], "neutral")
    first = update_crisis_episodes(con, DUCKDB)
    assert first.episodes_written == 0
    add(2, [590 + i * 0.2 for i in range(50)])  # 50 late negatives inside the range already evaluated
    second = update_crisis_episodes(con, DUCKDB)
    assert second.brands_recomputed == ["nuvola"] and second.episodes_written == 1
    [row] = _episodes(con, DUCKDB)
    assert row[0] == "nuvola" and row[2] == datetime(2026, 11, 24, 9, 55) and row[4] is None, "ongoing: the data ends inside the cooldown"
    assert active_crises(con, DUCKDB) == {"nuvola"}
    stricter = update_crisis_episodes(con, DUCKDB, CrisisParams(velocity_ratio=50.0, volume_ratio=50.0))
    assert stricter.full and stricter.episodes_written == 0 and _episodes(con, DUCKDB) == [], "changed parameters recompute everything"
    con.close()
