"""What the dedup-v1 views cost on a large warehouse (README, "dedup-v1").

Builds fact_events from the seeded generator's events (the text sketches computed as the
enrichment does; brands from the generator's truth, text labels left 'unknown': the views do not
read them), into a DuckDB file and, with ``--pg``, a PostgreSQL database; then times each view,
median of ``--runs``:

    .venv/bin/python -m tests.benchmarks.bench_dedup --events 100000 [--pg DSN]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa

from pipelines.catalog import load_catalog
from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.io.batch import events_to_arrow
from pipelines.io.warehouse import DuckDBWarehouse
from pipelines.model import METRIC_VERSION
from pipelines.text_sketch import set_sketches
from schemas import SCHEMA_DIR

QUERIES = {
    "v_event_dedup_flags": "SELECT kind, count(*) FROM v_event_dedup_flags GROUP BY kind",
    "v_duplicates_by_kind": "SELECT * FROM v_duplicates_by_kind",
    "v_coordinated_campaigns": "SELECT count(*) FROM v_coordinated_campaigns",
    "v_share_of_voice_hourly": "SELECT count(*) FROM v_share_of_voice_hourly",
    "v_net_sentiment_by_brand": "SELECT count(*) FROM v_net_sentiment_by_brand",
}


def facts(n: int) -> pa.Table:
    events = []
    seen = set()
    for r in generate_stream(GeneratorConfig(seed=9, events=n, events_per_minute=50, copy_paste_bursts=3)):
        if r.event is None or r.kind == "duplicate" or r.event["event_id"] in seen:
            continue
        seen.add(r.event["event_id"])
        e = dict(r.event, brands=list(r.truth.brands), lang=r.truth.lang, engagement_points=1, reach=0, kafka_topic="t")
        e.update(kafka_partition=0, kafka_offset=len(events), kafka_timestamp=e["ingest_time"], sentiment="unknown", sentiment_score=0.0)
        e.update(emotion="unknown", intent="unknown", is_offensive=None, aspects=[], nlp_version="", influence=0.0, crisis_risk=0.0)
        events.append(e)
    set_sketches(events)
    return events_to_arrow(events)


def timed(run, runs: int) -> float:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pg", help="PostgreSQL DSN of a database this benchmark may overwrite")
    args = ap.parse_args(argv)
    table = facts(args.events)
    brands = [(b.id, b.name, b.sector, b.role) for b in load_catalog().brands]
    print(f"{table.num_rows:,} events in fact_events")
    path = Path(tempfile.mkdtemp()) / "dedup.duckdb"
    wh = DuckDBWarehouse(str(path))
    wh.sync_brands(load_catalog())
    wh.con.register("f", table)
    wh.con.execute(f"INSERT INTO fact_events BY NAME SELECT *, '{METRIC_VERSION}' AS metric_version, 1 AS batch_id FROM f")
    con: duckdb.DuckDBPyConnection = wh.con
    con.execute("SET memory_limit = '4GB'")  # a plan that explodes fails here instead of the machine's other jobs
    for name, sql in QUERIES.items():
        print(f"DuckDB      {name:<26} {timed(lambda sql=sql: con.execute(sql).fetchall(), args.runs):7.3f} s")
    print("DuckDB flags:", con.execute(QUERIES["v_event_dedup_flags"]).fetchall())
    wh.close()
    if args.pg:
        import psycopg

        from pipelines.io.postgres import _FACT_COLUMNS, _csv

        pg = psycopg.connect(args.pg, autocommit=True)
        pg.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        pg.execute((SCHEMA_DIR / "warehouse" / "postgres.sql").read_text())
        with pg.cursor() as cur:
            cur.executemany("INSERT INTO brand_dim VALUES (%s, %s, %s, %s)", brands)
        cols = [n for n, _ in _FACT_COLUMNS]
        pg.execute("ALTER TABLE fact_events ALTER COLUMN metric_version SET DEFAULT 'x', ALTER COLUMN batch_id SET DEFAULT 1")
        with pg.cursor().copy(f"COPY fact_events ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(_csv(table.select(cols)))
        pg.execute("ANALYZE fact_events")
        for name, sql in QUERIES.items():
            print(f"PostgreSQL  {name:<26} {timed(lambda sql=sql: pg.execute(sql).fetchall(), args.runs):7.3f} s")
        print("PostgreSQL flags:", pg.execute(QUERIES["v_event_dedup_flags"]).fetchall())
    return 0


if __name__ == "__main__":
    sys.exit(main())
