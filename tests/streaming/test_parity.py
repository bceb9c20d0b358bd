"""Parity, the contract of the streaming path: one seeded stream through (a) the embedded driver
and (b) the streaming pipeline on the DirectRunner in streaming mode, fed by a TestStream whose
watermark advances mirror the driver's batch boundaries, gives the same warehouse rows and the
same counters. A difference is a bug in one of the paths, never a tolerance.

Arithmetic (window sizes 60 s and 3600 s, w = 60 s the smallest, L = 300 s allowed lateness, all
in ms; engagement_window and aspect_window alike):
- lateness, both paths: e is late <=> window_start_w(e) + w + L <= max event time before e in its
  partition; the TestStream replays the same offsets in the same per-partition order; the hour
  window containing e ends at or after its minute window (3600 is a multiple of 60), so an
  event on time for the minute is on time for the hour;
- after batch k both paths have the global watermark G_k = min over partitions of their max
  event time (driver: ``source_offsets``; Beam: ``advance_watermark_to(G_k)``); a window is
  final once G_k >= window_end + L, per size (driver: the commit's UPDATE; Beam: the timer at
  max_timestamp + L = window_end - 1 us + L of that size's window, which fires when the
  watermark passes it), and then has pane_timing FINAL on both paths;
- an accepted event e of batch k+1 has window_end(e) + L > watermark_p(e) >= G_k, so Beam
  (which drops when window_end + L <= watermark) never drops it;
- the TestStream ends by advancing the watermark to +infinity (the DirectRunner always does:
  end of input, like a drain): the windows with window_end + L > G_last, still open in the driver,
  become final there too, and only those. The test asserts exactly that split.
- care (SLA 600 s for nuvola, 900 s for dolceforno, 3600 s by default): a request is overdue
  once the watermark reaches due = window_end(asked + SLA + 999 ms) + L without an answer within
  the SLA (driver: after the commit whose G_k >= due; Beam: the care timer 1 us before due). So
  the care_response rows with due <= G_last are equal, overdue_at included; beyond G_last only
  the end of input fired the streaming timers, so there overdue_at is set on the streaming side
  alone, for exactly the requests not answered within their SLA.
- crisis (50 events per minute: 20,000 events span 6.7 h, so the generator's burst at 66% of
  them, 4.4 h in, is past crisis-v1's 1 h window + 3 h warm-up): the driver updates
  crisis_episodes after each commit; the streaming warehouse gets them from one pass of the
  sidecar ``ascolto analytics`` after the job (DuckDB admits one process per file). crisis-v1
  depends on the facts only, so both must hold the same episodes.
"""

from __future__ import annotations

import collections
import dataclasses
import math

import apache_beam as beam
import duckdb
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipelines.catalog import load_catalog
from pipelines.cli import main
from pipelines.config import JobConfig
from pipelines.generator import GeneratorConfig
from pipelines.io.dead_letters import DeadLetterCodec
from pipelines.io.kafka import KafkaSettings, read_offset_ranges, topic_partitions
from pipelines.io.warehouse import DuckDBWarehouse
from pipelines.streaming.graph import StreamingSettings, build_streaming
from pipelines.streaming.sink import close_writers
from tests.integration.expected import expected_db, warehouse_windows
from tests.streaming.parity import mirrored_test_stream, run_driver

pytestmark = pytest.mark.integration
WINDOW_S, LATENESS_S = (60, 3600), 300
EVENTS = 20_000


CARE_SLA_SECONDS = {"nuvola": 600, "dolceforno": 900}
CARE_COLUMNS = "request_id, brand, platform, event_type, intent, asked_at, first_answer_at, response_seconds, sla_seconds, care_version"


def _with_care_policy(path: str) -> str:
    wh = DuckDBWarehouse(path)
    try:
        wh.con.executemany("INSERT INTO care_sla_policy VALUES (?, ?)", list(CARE_SLA_SECONDS.items()))
    finally:
        wh.close()
    return path


def _care(con, g_last_ms: int, settled: bool) -> list[tuple]:
    w, wl = WINDOW_S[0] * 1000, (WINDOW_S[0] + LATENESS_S) * 1000  # the smallest window: care's deadlines
    due = f"CAST(floor((epoch_ms(asked_at) + sla_seconds * 1000 + 999) / {w}.0) AS BIGINT) * {w} + {wl}"
    sql = f"SELECT {CARE_COLUMNS}, overdue_at FROM care_response WHERE ({due} <= {g_last_ms}) = {settled} ORDER BY ALL"
    return con.execute(sql).fetchall()


# Pane counts differ by construction (a pane per micro-batch, or per Beam firing): rows are compared on keys and totals.
WALL_CLOCK_OR_BATCH = (
    "batch_id",
    "updated_at",
    "recorded_at",
    "first_seen",
    "last_seen",
    "revision",
    "is_final",
    "pane_index",
    "pane_timing",
    "computed_at",
)


def _rows(con, table: str, exclude: str | None) -> list[tuple]:
    if exclude is None:  # a view: leave out what only says when or in which micro-batch a row was written
        described = con.execute(f"DESCRIBE {table}").fetchall()
        cols = [c for c, *_ in described if c not in WALL_CLOCK_OR_BATCH]
        return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ALL").fetchall()
    return con.execute(f"SELECT * EXCLUDE ({exclude}) FROM {table} ORDER BY ALL").fetchall()


def _same(got: list[tuple], want: list[tuple]) -> bool:
    """Equal row for row, doubles to 12 significant digits and all else exactly: averages of
    floats depend on the order DuckDB reads the (identical) rows in (the last bits of a sum are
    not associative), and rounding both to a fixed decimal still splits values that straddle
    a rounding boundary (measured: 0.1142421875 either side)."""

    def cell(a, b) -> bool:
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12) if isinstance(a, float) and isinstance(b, float) else a == b

    return len(got) == len(want) and all(len(r) == len(w) and all(map(cell, r, w)) for r, w in zip(got, want))


def _views(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND (view_name LIKE 'v_%' OR view_name LIKE 'engagement_by_%') ORDER BY 1"
        ).fetchall()
    ]


def _driver_counters(metrics) -> dict[str, float]:
    out: dict[str, float] = {}
    for family in metrics.registry.collect():
        for s in family.samples:
            if s.name == "ascolto_events_duplicate_total":
                out[f"duplicates_{s.labels['kind']}"] = s.value
            elif s.name == "ascolto_dead_letters_total":
                out[f"dead_letters_{s.labels['reason']}"] = s.value
            elif s.name in ("ascolto_events_accepted_total", "ascolto_events_late_total", "ascolto_events_consumed_total"):
                out[s.name.removeprefix("ascolto_events_").removesuffix("_total")] = s.value
    return {k: v for k, v in out.items() if v}


def _warehouse_counters(con) -> dict[str, float]:
    out = {"accepted": con.execute("SELECT count(*) FROM fact_events").fetchall()[0][0]}
    out["late"] = con.execute("SELECT count(*) FROM late_events").fetchall()[0][0]
    out.update({f"duplicates_{k}": n for k, n in con.execute("SELECT kind, count(*) FROM duplicate_events GROUP BY ALL").fetchall()})
    out.update({f"dead_letters_{r}": n for r, n in con.execute("SELECT reason, count(*) FROM dead_letters GROUP BY ALL").fetchall()})
    out["consumed"] = sum(out.values())
    return {k: float(v) for k, v in out.items() if v}


def _dlq(bootstrap: str, topic: str) -> list[tuple]:
    settings = KafkaSettings(bootstrap)
    consumer = settings.consumer()
    try:
        parts = topic_partitions(consumer, topic)
        codec = DeadLetterCodec()
        got = []
        for item in read_offset_ranges(consumer, topic, {p: (0, 1 << 40) for p in parts}):
            for r in getattr(item, "records", []):
                d = codec.decode(r.value)
                d.pop("recorded_at")
                got.append(tuple(sorted(d.items())))
        return sorted(got)
    finally:
        consumer.close()


def test_streaming_pipeline_and_embedded_driver_write_the_same_rows_and_counts(publish_stream, broker, tmp_path):
    stream = publish_stream(GeneratorConfig(seed=31, events=EVENTS, events_per_minute=50))
    kinds = collections.Counter(r.kind.split(":")[0] for r in stream.records)
    assert kinds["duplicate"] > 300 and kinds["malformed"] > 40 and kinds["cross_post"] > 100
    catalog = load_catalog()
    job = JobConfig(
        bootstrap_servers=broker.bootstrap_servers,
        topic=stream.topic,
        warehouse=_with_care_policy(str(tmp_path / "embedded.duckdb")),
        window_seconds=WINDOW_S,
        allowed_lateness_seconds=LATENESS_S,
        max_batch_records=4_000,
        chunk_records=1_000,
        metrics_port=0,
    ).validate()

    # (a) the embedded driver, micro-batch by micro-batch
    driver = run_driver(job, catalog)
    assert driver.totals.consumed == len(stream.records) and len(driver.boundaries) >= 5

    # (b) the streaming pipeline, the same records, watermark advanced at the same boundaries
    streaming_warehouse = _with_care_policy(str(tmp_path / "streaming.duckdb"))
    sjob = dataclasses.replace(job, warehouse=streaming_warehouse, dead_letter_topic=f"{stream.topic}.dlq-streaming")
    options = PipelineOptions(["--runner=DirectRunner"])
    options.view_as(StandardOptions).streaming = True
    p = beam.Pipeline(options=options)
    source = mirrored_test_stream(broker.bootstrap_servers, stream.topic, driver.boundaries, job.chunk_records)
    build_streaming(p, sjob, catalog, StreamingSettings(dedup_key_buckets=8, window_key_shards=4), source=source)
    p.run().wait_until_finish()
    close_writers()  # the sink's cached connections: the sidecar and the test open the file next
    assert main(["analytics", "--warehouse", sjob.warehouse]) == 0  # the sidecar's pass, through the real CLI

    emb = duckdb.connect(job.warehouse, read_only=True)
    stm = duckdb.connect(sjob.warehouse, read_only=True)
    try:
        # counters: accepted, duplicates by kind, late, dead letters by reason (the streaming side
        # counted from what its sink wrote: the DirectRunner's streaming mode reports Beam
        # counters of the first bundle only, measured here; Flink and Dataflow report them all)
        assert _warehouse_counters(stm) == _driver_counters(driver.metrics) == _warehouse_counters(emb)
        assert _warehouse_counters(stm)["late"] > 50 and _warehouse_counters(stm)["duplicates_redelivery"] > 300
        # every accepted event, duplicate, late event and dead letter, column by column
        assert _rows(stm, "fact_events", "batch_id") == _rows(emb, "fact_events", "batch_id")
        assert _rows(stm, "duplicate_events", "batch_id") == _rows(emb, "duplicate_events", "batch_id")
        assert _rows(stm, "late_events", "batch_id") == _rows(emb, "late_events", "batch_id")
        assert _rows(stm, "dead_letters", "batch_id, recorded_at") == _rows(emb, "dead_letters", "batch_id, recorded_at")
        # every window row of both tables and both sizes: keys and totals
        values = "revision, pane_index, pane_timing, is_final, updated_at"
        for table in ("engagement_window", "aspect_window"):
            assert _rows(stm, table, values) == _rows(emb, table, values), table
        assert warehouse_windows(stm) == set(expected_db(stream, WINDOW_S, LATENESS_S).execute("SELECT * FROM expected_windows").fetchall())
        sizes_sql = "SELECT DISTINCT window_seconds FROM {} ORDER BY 1"
        assert [r[0] for r in stm.execute(sizes_sql.format("aspect_window")).fetchall()] == list(WINDOW_S)
        # finality, per table and size: equal up to the driver's last watermark; beyond it only the end of input closed them
        g_last = driver.boundaries[-1].watermark_ms
        for table in ("engagement_window", "aspect_window"):
            final_sql = f"""SELECT window_seconds, epoch_ms(window_end) + {LATENESS_S * 1000} <= {g_last} AS by_watermark, is_final,
                                   pane_timing = 'FINAL', count(*)
                            FROM {table} GROUP BY ALL ORDER BY ALL"""
            emb_final, stm_final = emb.execute(final_sql).fetchall(), stm.execute(final_sql).fetchall()
            for size in WINDOW_S:
                e = [r[1:] for r in emb_final if r[0] == size]
                s_ = [r[1:] for r in stm_final if r[0] == size]
                # driver: final (and FINAL) exactly when the watermark passed window_end + L
                assert e and all(by_wm == final == timing for by_wm, final, timing, _n in e), (table, size, e)
                # Beam: those, and the rest at the end of input; the same rows on each side of G_last
                assert all(final and timing for _by_wm, final, timing, _n in s_), (table, size, s_)
                assert {r[0]: r[3] for r in e} == {r[0]: r[3] for r in s_}, (table, size)
        open_rows = emb.execute(f"SELECT count(*) FROM engagement_window WHERE epoch_ms(window_end) + {LATENESS_S * 1000} > {g_last}")
        assert open_rows.fetchall()[0][0] > 0, "the split must be exercised: windows still open in the driver at the end"
        # crisis episodes: the driver's (after each commit) and the sidecar's (one pass), the same
        crisis = "computed_at"
        assert _rows(stm, "crisis_episodes", crisis) == _rows(emb, "crisis_episodes", crisis)
        assert [r[0] for r in _rows(emb, "crisis_episodes", crisis)].count("nuvola") >= 1
        assert stm.execute("SELECT count(*) FROM analytics_changes").fetchall() == [(0,)]  # the pass used every mark
        # every BI view over them (share of voice, sentiment, care, crises, aspects...)
        for view in _views(emb):
            assert _same(_rows(stm, view, None), _rows(emb, view, None)), view
        # care: the streaming timers' care_response equals the driver's up to G_last, overdue
        # alerts included; beyond it the same requests and answers (arithmetic in the docstring)
        settled = _care(stm, g_last, True)
        assert settled == _care(emb, g_last, True)
        # (beyond is empty on this stream: brand replies hours after the last requests carry the
        # driver's last watermark past every deadline; the end-of-input case is held by
        # test_care_timers.py and the PostgreSQL sink test)
        beyond_stm, beyond_emb = _care(stm, g_last, False), _care(emb, g_last, False)
        assert [r[:-1] for r in beyond_stm] == [r[:-1] for r in beyond_emb] and all(r[-1] is None for r in beyond_emb)
        late_or_never = [r[:-1] for r in beyond_stm if r[4] in ("complaint", "question") and (r[7] is None or r[7] > r[8])]
        assert [r[:-1] for r in beyond_stm if r[-1] is not None] == late_or_never
        # ... and equals the embedded BI view v_care_requests, row for row
        view = emb.execute(
            "SELECT event_id, brand, platform, event_type, intent, asked_at, first_answer_at, response_seconds, sla_seconds, care_version, "
            "overdue, answered_within_sla FROM v_care_requests ORDER BY ALL"
        ).fetchall()
        assert [r[:10] for r in view] == stm.execute(f"SELECT {CARE_COLUMNS} FROM care_response ORDER BY ALL").fetchall()
        by_key = {(r[0], r[1]): r for r in view}
        for r in settled:  # settled: asked + SLA < due <= G_last <= the newest event, so the view has decided too
            assert by_key[(r[0], r[1])][10] == (r[-1] is not None and r[6] is None), r
            assert by_key[(r[0], r[1])][11] == (r[-1] is None) or r[4] not in ("complaint", "question"), r
        overdue_answered_late = [r for r in settled if r[-1] is not None and r[6] is not None]
        overdue_never = [r for r in settled if r[-1] is not None and r[6] is None]
        within = [r for r in settled if r[-1] is None and r[6] is not None]
        assert len(overdue_answered_late) >= 300 and len(overdue_never) >= 300 and len(within) >= 300, (
            len(overdue_answered_late),
            len(overdue_never),
            len(within),
        )
        # the pane index only moves forward and the final re-emission is the highest; revision = pane index + 1 on both paths
        for con in (stm, emb):
            for table in ("engagement_window", "aspect_window"):
                check = f"SELECT bool_and(revision = pane_index + 1), bool_and(pane_timing IN ('EARLY', 'ON_TIME', 'LATE', 'FINAL')) FROM {table}"
                assert con.execute(check).fetchall() == [(True, True)]
        assert stm.execute("SELECT min(revision) >= 2 FROM engagement_window").fetchall() == [(True,)]
        # the embedded driver's timings say where the watermark stood: every batch's watermark was at most
        # G_last, so a window ending after G_last was only ever changed EARLY; finality is one more pane
        open_timings = emb.execute(f"SELECT DISTINCT pane_timing FROM engagement_window WHERE epoch_ms(window_end) > {g_last}").fetchall()
        assert open_timings == [("EARLY",)]
    finally:
        emb.close()
        stm.close()
    # the dead-letter topics carry the same envelopes
    assert _dlq(broker.bootstrap_servers, sjob.dlq_topic) == _dlq(broker.bootstrap_servers, job.dlq_topic)
