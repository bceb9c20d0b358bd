"""Replays are idempotent: the streaming job run twice over the same records into the same
warehouse (what a restart from an old checkpoint or a retried bundle does) leaves every row as
the first run left it, and a stale pane never overwrites a newer one."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import duckdb
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.catalog import load_catalog
from pipelines.config import JobConfig
from pipelines.generator import GeneratorConfig
from pipelines.model import AspectTotals, AspectWindowKey, WindowKey, WindowTotals
from pipelines.streaming.graph import StreamingSettings, build_streaming
from pipelines.streaming.panes import WindowPane
from pipelines.streaming.sink import DuckDBStreamingWriter, close_writers
from tests.streaming.parity import Boundary, mirrored_test_stream

pytestmark = pytest.mark.integration
# table -> columns a second write legitimately refreshes (wall-clock times)
TABLES = {
    "engagement_window": "updated_at",
    "aspect_window": "updated_at",
    "fact_events": None,
    "duplicate_events": None,
    "late_events": None,
    "dead_letters": "recorded_at",
}


def _snapshot(path: str) -> dict[str, list]:
    con = duckdb.connect(path, read_only=True)
    try:
        return {
            t: con.execute(f"SELECT * {f'EXCLUDE ({skip})' if skip else ''} FROM {t} ORDER BY ALL").fetchall() for t, skip in TABLES.items()
        }
    finally:
        con.close()


def _run(job: JobConfig, bootstrap: str, boundaries: list[Boundary]) -> None:
    options = PipelineOptions(["--runner=DirectRunner"])
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=options)
    source = mirrored_test_stream(bootstrap, job.topic, boundaries, job.chunk_records)
    build_streaming(p, job, load_catalog(), StreamingSettings(dedup_key_buckets=2, window_key_shards=2), source=source)
    p.run().wait_until_finish()
    close_writers()


def test_running_the_same_records_twice_changes_no_row(publish_stream, broker, tmp_path):
    stream = publish_stream(GeneratorConfig(seed=5, events=1_200, events_per_minute=400))
    ends = dict.fromkeys(range(stream.partitions), 0)
    for p, o in stream.coordinates:
        ends[p] = max(ends[p], o + 1)
    half = {p: (0, e // 2) for p, e in ends.items()}
    rest = {p: (e // 2, e) for p, e in ends.items()}
    job = JobConfig(
        bootstrap_servers=broker.bootstrap_servers,
        topic=stream.topic,
        warehouse=str(tmp_path / "w.duckdb"),
        chunk_records=500,
        metrics_port=0,
        dead_letter_topic="",
    ).validate()
    boundaries = [Boundary(half, None), Boundary(rest, None)]
    _run(job, broker.bootstrap_servers, boundaries)
    first = _snapshot(job.warehouse)
    assert all(first[t] for t in TABLES)
    _run(dataclasses.replace(job), broker.bootstrap_servers, boundaries)
    assert _snapshot(job.warehouse) == first


def test_a_stale_pane_does_not_overwrite_a_newer_one(tmp_path):
    writer = DuckDBStreamingWriter(str(tmp_path / "w.duckdb"), load_catalog())
    key = WindowKey(1_795_507_200_000, 60, "nuvola", "x", "post", "it", "mobile", "negative")
    newer = WindowPane(key, WindowTotals(5, 10, 100, 0), 3, "LATE", False)
    older = WindowPane(key, WindowTotals(2, 4, 40, 0), 1, "ON_TIME", False)
    final = WindowPane(key, WindowTotals(5, 10, 100, 0), 4, "FINAL", True)
    aspect = AspectWindowKey(1_795_507_200_000, 3600, "nuvola", "support", "negative")
    aspect_panes = [WindowPane(aspect, AspectTotals(n), i, t, i == 2) for n, i, t in ((1, 0, "EARLY"), (3, 2, "FINAL"), (2, 1, "ON_TIME"))]
    rows = "SELECT events, engagement_points, reach, revision, pane_index, pane_timing, is_final FROM engagement_window"
    aspect_rows = "SELECT epoch_ms(window_end), mentions, revision, pane_index, pane_timing, is_final FROM aspect_window"
    try:
        writer.commit([newer], [], [], [], [])
        writer.commit([older], [], [], [], [])  # a retried bundle from before
        assert writer.con.execute(rows).fetchall() == [(5, 10, 100, 4, 3, "LATE", False)]
        writer.commit([older, final, newer, *aspect_panes], [], [], [], [])  # one bundle, one key three times
        assert writer.con.execute(rows).fetchall() == [(5, 10, 100, 5, 4, "FINAL", True)]
        assert writer.con.execute(aspect_rows).fetchall() == [(1_795_507_200_000 + 3_600_000, 3, 3, 2, "FINAL", True)]
    finally:
        writer.close()
