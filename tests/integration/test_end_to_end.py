"""The acceptance of the end-to-end path, against the real embedded broker and the real CLI:

(a) the warehouse's aggregates equal an independent SQL computation over the published events;
(b) every published record is accounted for exactly once;
(c) both still hold after the pipeline is killed with SIGKILL mid-run and restarted.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from pipelines.catalog import load_catalog
from pipelines.generator import GeneratorConfig
from pipelines.io.broker import free_port
from tests.analytics.expected_dedup import accepted_published, dedup_flags
from tests.integration.expected import expected_db, warehouse_outcomes, warehouse_windows

pytestmark = pytest.mark.integration
WINDOW_S, LATENESS_S = (60, 3600), 300


def _ascolto(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", *args]


def _run_args(broker, topic: str, warehouse: Path, port: int, batch: int, client: str = "kafka-python", workers: int = 1) -> list[str]:
    return _ascolto(
        "run",
        "--workers",
        str(workers),
        "--kafka-client",
        client,
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        topic,
        "--warehouse",
        str(warehouse),
        "--metrics-port",
        str(port),
        "--max-batch-records",
        str(batch),
        "--chunk-records",
        "500",
        "--window-seconds",
        ",".join(map(str, WINDOW_S)),
        "--allowed-lateness-seconds",
        str(LATENESS_S),
        "--stop-when-idle",
    )


def _check_against_published(stream, warehouse: Path) -> None:
    expected = expected_db(stream, WINDOW_S, LATENESS_S)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        outcomes = warehouse_outcomes(con)
        # (b) exactly once: no record in two places, none missing, each in the place it belongs.
        places = collections.Counter((p, o) for p, o, _ in outcomes)
        assert [k for k, n in places.items() if n > 1] == []
        assert len(outcomes) == len(stream.records)
        assert set(outcomes) == set(expected.execute("SELECT * FROM classified").fetchall())
        consumed, accepted, dups, late, dead = con.execute(
            "SELECT sum(consumed), sum(accepted), sum(duplicates), sum(late), sum(dead_letters) FROM batches"
        ).fetchall()[0]
        assert consumed == len(stream.records) == accepted + dups + late + dead
        # (a) every window row equals the independent computation.
        want = set(expected.execute("SELECT * FROM expected_windows").fetchall())
        got = warehouse_windows(con)
        assert got == want, f"{len(got - want)} rows differ, e.g. {sorted(got - want)[:3]} vs {sorted(want - got)[:3]}"
        assert {r[1] for r in got} == {60, 3600} and {r[5] for r in got} == {"mobile", "desktop", "unknown"}
        # each size holds every accepted event once: the same totals from either
        per_size = con.execute("SELECT window_seconds, sum(events), sum(engagement_points), sum(reach) FROM engagement_window GROUP BY 1")
        assert len({tuple(r[1:]) for r in per_size.fetchall()}) == 1
        # share of voice per hour and sector, on mentions, engagement and reach
        sectors = {b.id: b.sector for b in load_catalog().brands}
        expected.execute(
            "CREATE OR REPLACE TABLE sector_of AS SELECT * FROM (VALUES "
            + ", ".join(f"('{b}', '{s}')" for b, s in sectors.items())
            + ") t(brand, sector)"
        )
        # the mention basis leaves out dedup-v1's cross-posts and coordinated events (brute force)
        accepted = {(p, o) for p, o, outcome in expected.execute("SELECT * FROM classified").fetchall() if outcome == "accepted"}
        flagged = dedup_flags(accepted_published(stream, accepted))
        expected.execute(
            "CREATE OR REPLACE TABLE flagged AS SELECT * FROM (VALUES " + ", ".join(f"('{e}')" for e in flagged) + ") t(event_id)"
        )
        want_sov = set(
            expected.execute("""
            WITH organic AS (
              SELECT p.event_time_ms - p.event_time_ms % 3600000 AS hour, b.brand, count(*) AS m
              FROM published p JOIN classified c USING (kafka_partition, kafka_offset), LATERAL (SELECT unnest(p.brands) AS brand) b
              WHERE c.outcome = 'accepted' AND p.event_type IN ('post','mention','comment','reply','review','direct_message','share')
                AND p.event_id NOT IN (SELECT event_id FROM flagged)
              GROUP BY ALL),
            per AS (
              SELECT w.window_start_ms - w.window_start_ms % 3600000 AS hour, sector, brand,
                     sum(engagement_points) AS e, sum(reach) AS r
              FROM expected_windows w JOIN sector_of USING (brand) WHERE w.window_seconds = 60 GROUP BY ALL)
            SELECT hour, brand, coalesce(m, 0) AS m, e, r, round(coalesce(m, 0) / sum(coalesce(m, 0)) OVER (PARTITION BY hour, sector), 9)
            FROM per LEFT JOIN organic USING (hour, brand)""").fetchall()
        )
        got_sov = set(
            con.execute(
                "SELECT epoch_ms(hour), brand, mentions, engagement_points, reach, round(sov_mentions, 9) FROM v_share_of_voice_hourly"
            ).fetchall()
        )
        assert len(got_sov) > 10 and got_sov == want_sov and len(flagged) > 5
        # customer care: the first brand answer to each customer message
        care = set(con.execute("SELECT event_id, response_seconds FROM v_care_first_response").fetchall())
        assert len(care) > 20 and care == set(expected.execute("SELECT * FROM expected_care").fetchall())
    finally:
        con.close()


def _scrape(port: int) -> dict[str, float]:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    except OSError:
        return {}
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and not line.startswith("#")}


@pytest.mark.parametrize("client, workers", [("kafka-python", 1), ("confluent", 1), ("kafka-python", 2)])
def test_stream_is_aggregated_exactly_and_every_record_accounted_once(publish_stream, broker, tmp_path, client, workers):
    stream = publish_stream(GeneratorConfig(seed=11, events=6000, events_per_minute=300))
    kinds = collections.Counter(r.kind.split(":")[0] for r in stream.records)
    assert kinds["duplicate"] > 50 and kinds["malformed"] > 5 and kinds["cross_post"] > 10
    warehouse = tmp_path / "w.duckdb"
    done = subprocess.run(_run_args(broker, stream.topic, warehouse, 0, 2500, client, workers), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"{len(stream.records):,} records" in done.stdout
    _check_against_published(stream, warehouse)


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_mid_run_then_restart_loses_and_doubles_nothing(publish_stream, broker, tmp_path, workers):
    stream = publish_stream(GeneratorConfig(seed=23, events=6000, events_per_minute=300))
    warehouse = tmp_path / "w.duckdb"
    port = free_port()
    proc = subprocess.Popen(
        _run_args(broker, stream.topic, warehouse, port, 800, workers=workers), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    committed = 0.0
    while time.monotonic() < deadline and proc.poll() is None:
        committed = _scrape(port).get("ascolto_batches_committed_total", 0.0)
        if committed >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed: make the stream longer"
    assert committed >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    con = duckdb.connect(str(warehouse), read_only=True)
    partial = con.execute("SELECT coalesce(sum(consumed), 0) FROM batches").fetchall()[0][0]
    con.close()
    assert 0 < partial < len(stream.records), "the kill must land mid-run"

    done = subprocess.run(_run_args(broker, stream.topic, warehouse, 0, 800, workers=workers), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    _check_against_published(stream, warehouse)


def test_postgres_warehouse_gets_the_same_exact_rows_and_accounting(publish_stream, broker, pg_dsn, tmp_path):
    import psycopg

    stream = publish_stream(GeneratorConfig(seed=13, events=5000, events_per_minute=300))
    args = _run_args(broker, stream.topic, Path("unused"), 0, 2000)
    args[args.index("--warehouse") + 1] = pg_dsn
    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    expected = expected_db(stream, WINDOW_S, LATENESS_S)
    with psycopg.connect(pg_dsn) as con:
        outcomes = con.execute("""
            SELECT kafka_partition, kafka_offset, 'accepted' FROM fact_events
            UNION ALL SELECT kafka_partition, kafka_offset, 'duplicate' FROM duplicate_events
            UNION ALL SELECT kafka_partition, kafka_offset, 'late' FROM late_events
            UNION ALL SELECT kafka_partition, kafka_offset, 'dead_letter:' || reason FROM dead_letters""").fetchall()
        windows = set(
            con.execute("""
            SELECT (extract(epoch FROM window_start) * 1000)::BIGINT, window_seconds, brand, platform, event_type, device,
                   sum(events)::BIGINT, sum(engagement_points)::BIGINT, sum(reach)::BIGINT, sum(impressions)::BIGINT
            FROM engagement_window GROUP BY 1, 2, 3, 4, 5, 6""").fetchall()
        )
        consumed = con.execute("SELECT sum(consumed) FROM batches").fetchone()[0]
        care = set(con.execute("SELECT event_id, response_seconds FROM v_care_first_response").fetchall())
        text_nulls = con.execute(
            "SELECT count(*) FILTER (WHERE text IS NULL), count(*) FILTER (WHERE text = '') FROM fact_events"
        ).fetchone()
    assert consumed == len(stream.records) == len(outcomes)
    assert sorted(outcomes) == sorted(expected.execute("SELECT * FROM classified").fetchall())
    assert windows == set(expected.execute("SELECT * FROM expected_windows").fetchall())
    assert len(care) > 20 and care == set(expected.execute("SELECT * FROM expected_care").fetchall())
    no_text = sum(1 for r in stream.records if r.kind == "event" and r.event["text"] is None)
    assert text_nulls[0] > 0 and no_text > 0 and text_nulls[1] == 0, "NULL text stays NULL through COPY, not ''"
