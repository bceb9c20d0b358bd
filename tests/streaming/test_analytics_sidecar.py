"""The analytics sidecar (``ascolto analytics --follow``) next to a streaming job on PostgreSQL:
while the job writes, the sidecar's passes consume the sink's change marks and keep crisis-v1 up
to date incrementally; once the job has stopped and the marks are used, the warehouse holds the
crisis episodes the embedded driver computed on the same stream, and /metrics says so.

Stream: the analytics one (seed 5, 3,500 events at 9 per minute: 6 h 29 min of event time,
the generator's burst 4 h 17 min in, past crisis-v1's 1 h window + 3 h warm-up). The streaming
job is the DirectRunner in streaming mode over a TestStream mirroring the driver's batches.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time
import urllib.request

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipelines.catalog import load_catalog
from pipelines.config import JobConfig
from pipelines.io.broker import free_port
from pipelines.io.postgres import PostgresWarehouse
from pipelines.streaming.sink import close_writers
from tests.analytics.conftest import CONFIG, LATENESS_S, WINDOW_S
from tests.streaming.parity import run_driver
from tests.streaming.test_idempotent_sink import _run

pytestmark = pytest.mark.integration
DEADLINE_S = 90.0
EPISODE = "SELECT brand, detector_version, started_at, peak_at, ended_at, last_evaluated_at, severity, severity_level, negative_mentions"


def _episodes(rows: list[tuple]) -> list[tuple]:
    return sorted((*r[:6], round(float(r[6]), 9), *r[7:]) for r in rows)


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def _poll(what: str, probe, proc: subprocess.Popen):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the sidecar exited ({proc.returncode}) while waiting for {what}")
        got = probe()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {DEADLINE_S} s")


def _pg(dsn: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(dsn) as con:
        return con.execute(sql).fetchall()


def test_sidecar_following_the_streaming_job_ends_with_the_embedded_crisis_episodes(publish_stream, broker, pg_dsn, tmp_path):
    stream = publish_stream(CONFIG)
    catalog = load_catalog()
    job = JobConfig(
        bootstrap_servers=broker.bootstrap_servers,
        topic=stream.topic,
        warehouse=str(tmp_path / "embedded.duckdb"),
        window_seconds=WINDOW_S,
        allowed_lateness_seconds=LATENESS_S,
        max_batch_records=500,
        chunk_records=250,
        metrics_port=0,
        dead_letter_topic="",
    ).validate()
    driver = run_driver(job, catalog)  # the embedded path: crisis-v1 after each of its commits
    assert len(driver.boundaries) >= 6
    PostgresWarehouse(pg_dsn).close()  # the schema, before two processes open it at once
    port = free_port()
    log = tmp_path / "sidecar.log"
    with log.open("w") as out:  # a file, not a pipe: a pass logs a line every 0.3 s
        sidecar = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "analytics", "--follow", "--warehouse", pg_dsn, "--interval-seconds", "0.3"]
            + ["--metrics-port", str(port)],
            stderr=out,
            stdout=out,
        )
    try:
        _poll("first pass", lambda: _scrape_or_none(port, "ascolto_analytics_runs_total"), sidecar)
        _run(dataclasses.replace(job, warehouse=pg_dsn), broker.bootstrap_servers, driver.boundaries)  # the streaming job
        close_writers()
        # every mark used, then one more pass: it saw everything the job wrote
        _poll("all change marks used", lambda: _pg(pg_dsn, "SELECT count(*) = 0 FROM analytics_changes")[0][0], sidecar)
        runs = _scrape_or_none(port, "ascolto_analytics_runs_total")
        _poll("a pass after the last mark", lambda: (_scrape_or_none(port, "ascolto_analytics_runs_total") or 0) > runs, sidecar)

        emb = duckdb.connect(job.warehouse, read_only=True)
        try:
            want = _episodes(emb.execute(f"{EPISODE} FROM crisis_episodes").fetchall())
        finally:
            emb.close()
        got = _episodes(_pg(pg_dsn, f"{EPISODE} FROM crisis_episodes"))
        assert got == want and any(r[0] == "nuvola" for r in want)
        metrics = _scrape(port)
        active = {r[0] for r in want if r[4] is None}
        for b in catalog.brand_ids:
            assert metrics[("ascolto_brand_crisis_active", (("brand", b),))] == (1.0 if b in active else 0.0), b
        # the passes were incremental while the job wrote: marks consumed over several passes
        assert metrics[("ascolto_analytics_changes_total", ())] >= len(driver.boundaries)
        assert metrics[("ascolto_analytics_runs_total", ())] >= 3
        assert metrics[("ascolto_batch_failures_total", (("stage", "analytics"),))] == 0
    finally:
        sidecar.send_signal(signal.SIGTERM)
        rc = sidecar.wait(timeout=30)
    err = log.read_text()
    assert rc == 0, err
    assert "incremental" in err and "analytics pass" in err


def _scrape_or_none(port: int, name: str) -> float | None:
    try:
        return _scrape(port).get((name, ()))
    except OSError:
        return None


def test_sidecar_passes_pick_up_a_lagging_partition_from_the_change_marks(publish_stream, broker, tmp_path, caplog):
    """A partition that lags: the first job writes partition 0 only (its event times run to the
    end of the stream), a pass evaluates up to there; then partitions 1 and 2 arrive with older
    event times. Time did not advance, batch ids say nothing (0 on this path): only the change
    marks tell the second pass to re-run crisis-v1 from their earliest event time. Both passes
    together must equal one full run over the final warehouse."""
    from pipelines.analytics.crisis import update_crisis_episodes
    from pipelines.cli import main
    from pipelines.io.batch import DUCKDB
    from tests.streaming.parity import Boundary

    stream = publish_stream(CONFIG)
    ends = dict.fromkeys(range(stream.partitions), 0)
    for p, o in stream.coordinates:
        ends[p] = max(ends[p], o + 1)
    job = JobConfig(
        bootstrap_servers=broker.bootstrap_servers,
        topic=stream.topic,
        warehouse=str(tmp_path / "streaming.duckdb"),
        window_seconds=WINDOW_S,
        allowed_lateness_seconds=LATENESS_S,
        chunk_records=500,
        metrics_port=0,
        dead_letter_topic="",
    ).validate()
    _run(job, broker.bootstrap_servers, [Boundary({0: (0, ends[0])}, None)])
    close_writers()
    assert main(["analytics", "--warehouse", job.warehouse]) == 0
    _run(job, broker.bootstrap_servers, [Boundary({p: (0, ends[p]) for p in ends if p != 0}, None)])
    close_writers()
    con = duckdb.connect(job.warehouse, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM analytics_changes").fetchall()[0][0] > 0
    finally:
        con.close()
    caplog.clear()
    assert main(["analytics", "--warehouse", job.warehouse]) == 0
    con = duckdb.connect(job.warehouse)
    try:
        incremental = _episodes(con.execute(f"{EPISODE} FROM crisis_episodes").fetchall())
        update_crisis_episodes(con, DUCKDB, catalog=load_catalog(), full=True)
        full = _episodes(con.execute(f"{EPISODE} FROM crisis_episodes").fetchall())
    finally:
        con.close()
    assert incremental == full and any(r[0] == "nuvola" for r in full)
    (second,) = [r.getMessage() for r in caplog.records if r.name == "ascolto.analytics" and "analytics pass" in r.getMessage()]
    assert "crisis-v1 incremental" in second  # not rescued by a full run (the data start did not move)
