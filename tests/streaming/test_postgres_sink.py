"""The streaming sink on the real PostgreSQL server (what Flink and Dataflow workers write to)
stores the same rows as on DuckDB, and a replay changes none of them."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from pipelines.config import JobConfig
from pipelines.generator import GeneratorConfig
from tests.streaming.parity import Boundary
from tests.streaming.test_idempotent_sink import _run

pytestmark = pytest.mark.integration
# (table, columns compared): wall-clock columns left out; timestamps as epoch ms on both sides
QUERIES = {
    "engagement_window": "SELECT {ms}(window_start), {ms}(window_end), window_seconds, brand, platform, event_type, lang, device, "
    "sentiment, events, engagement_points, reach, impressions, revision, pane_index, pane_timing, is_final FROM engagement_window",
    "aspect_window": "SELECT {ms}(window_start), {ms}(window_end), window_seconds, brand, aspect, polarity, mentions, revision, "
    "pane_index, pane_timing, is_final FROM aspect_window",
    "fact_events": "SELECT event_id, {ms}(event_time), platform, event_type, lang, brands, engagement_points, reach, kafka_partition, "
    "kafka_offset, sentiment, intent, influence, crisis_risk FROM fact_events",
    "duplicate_events": "SELECT topic, kafka_partition, kafka_offset, event_id, kind FROM duplicate_events",
    "late_events": "SELECT kafka_partition, kafka_offset, event_id, {ms}(event_time), {ms}(watermark), record_value FROM late_events",
    "dead_letters": "SELECT kafka_partition, kafka_offset, reason, message, step, record_key, record_value FROM dead_letters",
    "care_response": "SELECT request_id, brand, platform, event_type, intent, {ms}(asked_at), {ms}(first_answer_at), response_seconds, "
    "sla_seconds, {ms}(overdue_at), care_version FROM care_response",
}


def _pg_rows(dsn: str) -> dict[str, list]:
    import psycopg

    with psycopg.connect(dsn) as con:
        con.execute(
            "CREATE OR REPLACE FUNCTION pg_temp.ms(t timestamp) RETURNS bigint AS $$ SELECT (extract(epoch FROM t) * 1000)::bigint $$ LANGUAGE sql"
        )
        return {
            t: sorted(
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in con.execute(q.format(ms="pg_temp.ms")).fetchall()
            )
            for t, q in QUERIES.items()
        }


def _duck_rows(path: str) -> dict[str, list]:
    con = duckdb.connect(path, read_only=True)
    try:
        return {t: sorted(con.execute(q.format(ms="epoch_ms")).fetchall()) for t, q in QUERIES.items()}
    finally:
        con.close()


def test_the_streaming_job_writes_the_same_rows_to_postgresql_as_to_duckdb(publish_stream, broker, pg_dsn, tmp_path):
    stream = publish_stream(GeneratorConfig(seed=9, events=1_200, events_per_minute=400))
    ends = dict.fromkeys(range(stream.partitions), 0)
    for p, o in stream.coordinates:
        ends[p] = max(ends[p], o + 1)
    boundaries = [Boundary({p: (0, e // 2) for p, e in ends.items()}, None), Boundary({p: (e // 2, e) for p, e in ends.items()}, None)]
    duck = JobConfig(
        bootstrap_servers=broker.bootstrap_servers,
        topic=stream.topic,
        warehouse=str(tmp_path / "w.duckdb"),
        chunk_records=500,
        metrics_port=0,
        dead_letter_topic="",
    ).validate()
    _run(duck, broker.bootstrap_servers, boundaries)
    pg = dataclasses.replace(duck, warehouse=pg_dsn)
    _run(pg, broker.bootstrap_servers, boundaries)
    want = _duck_rows(duck.warehouse)
    assert all(want.values())
    assert any(r[6] is not None for r in want["care_response"]) and any(r[9] is not None for r in want["care_response"])
    assert _pg_rows(pg_dsn) == want
    _run(pg, broker.bootstrap_servers, boundaries)  # a replay
    assert _pg_rows(pg_dsn) == want
