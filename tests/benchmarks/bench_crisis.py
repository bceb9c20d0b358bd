"""What crisis detection costs after a commit, on a warehouse of N events (not collected by pytest).

    .venv/bin/python -m tests.benchmarks.bench_crisis --events 100000 [--warehouse FILE] [--pg DSN]

Builds the warehouse with the real pipeline (embedded broker, seeded stream with its burst),
unless ``--warehouse`` names one already built, then measures on DuckDB (and on PostgreSQL with
``--pg``, the same facts copied there): a full recomputation, and the per-commit update when the
facts arrive in micro-batches of ``--batch`` events in ingest order (the driver's path).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.analytics.crisis import update_crisis_episodes
from pipelines.catalog import load_catalog
from pipelines.io.batch import DUCKDB, POSTGRES
from schemas import SCHEMA_DIR


def build(path: Path, events: int) -> None:
    from pipelines.generator import GeneratorConfig, generate_stream
    from pipelines.io.broker import EmbeddedBroker, create_topics
    from pipelines.io.kafka import KafkaSettings, publish

    with EmbeddedBroker() as b:
        create_topics(b.bootstrap_servers, {"bench": 3})
        records = generate_stream(GeneratorConfig(seed=3, events=events, events_per_minute=100))
        publish(KafkaSettings(b.bootstrap_servers), "bench", ((r.key, r.value) for r in records))
        args = ["run", "--bootstrap-servers", b.bootstrap_servers, "--topic", "bench", "--warehouse", str(path)]
        args += ["--metrics-port", "0", "--max-batch-records", "10000", "--no-dead-letter-topic", "--stop-when-idle"]
        subprocess.run([sys.executable, "-m", "pipelines.cli", *args], check=True)


def replay(con, dialect, insert_slice, slices: int) -> list[float]:
    """Inserts the facts slice by slice (one batch_id each), updating after each; seconds per update."""
    catalog = load_catalog()
    seconds = []
    for i in range(1, slices + 1):
        insert_slice(i)
        t0 = time.perf_counter()
        update_crisis_episodes(con, dialect, catalog=catalog)
        seconds.append(time.perf_counter() - t0)
    return seconds


def report(name: str, full_s: list[float], per_batch: list[float], episodes: int) -> None:
    print(
        f"{name}: full recomputation median {statistics.median(full_s) * 1000:.0f} ms (runs {', '.join(f'{s * 1000:.0f}' for s in full_s)}); "
        f"per-commit update median {statistics.median(per_batch) * 1000:.0f} ms, max {max(per_batch) * 1000:.0f} ms "
        f"over {len(per_batch)} batches; {episodes} episode(s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--warehouse", type=Path, default=Path("var/bench-crisis.duckdb"))
    ap.add_argument("--batch", type=int, default=10_000, help="facts per simulated commit")
    ap.add_argument("--pg", help="also measure on this PostgreSQL database (it is overwritten)")
    args = ap.parse_args()
    if not args.warehouse.exists():
        args.warehouse.parent.mkdir(parents=True, exist_ok=True)
        build(args.warehouse, args.events)
    src = duckdb.connect(str(args.warehouse))
    src.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())  # the views as they are now
    (n,) = src.execute("SELECT count(*) FROM fact_events").fetchall()[0]
    slices = max(1, round(n / args.batch))
    print(f"{n:,} facts in {args.warehouse}; {slices} simulated commits of about {n // slices:,}")
    full = []
    for _ in range(3):
        t0 = time.perf_counter()
        update_crisis_episodes(src, DUCKDB, full=True)
        full.append(time.perf_counter() - t0)
    (episodes,) = src.execute("SELECT count(*) FROM crisis_episodes").fetchall()[0]
    facts = src.sql(
        f"SELECT * REPLACE (slice AS batch_id) FROM (SELECT *, ntile({slices}) OVER (ORDER BY ingest_time, event_id) AS slice FROM fact_events)"
    ).to_arrow_table()
    brands = src.execute("SELECT * FROM brand_dim").fetchall()
    src.close()

    mem = duckdb.connect()
    mem.execute((SCHEMA_DIR / "warehouse" / "duckdb.sql").read_text())
    mem.executemany("INSERT INTO brand_dim VALUES (?, ?, ?, ?)", brands)
    cols = [r[0] for r in mem.execute("DESCRIBE fact_events").fetchall()]
    mem.register("facts", facts)
    per_batch = replay(
        mem, DUCKDB, lambda i: mem.execute(f"INSERT INTO fact_events SELECT {', '.join(cols)} FROM facts WHERE slice = {i}"), slices
    )
    report("DuckDB", full, per_batch, episodes)

    if args.pg:
        import psycopg

        from pipelines.io.postgres import _csv

        con = psycopg.connect(args.pg, autocommit=True)
        con.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        con.execute((SCHEMA_DIR / "warehouse" / "postgres.sql").read_text())
        with con.cursor() as cur:
            cur.executemany("INSERT INTO brand_dim VALUES (%s, %s, %s, %s)", brands)

        def insert_slice(i: int) -> None:
            part = facts.filter(facts["slice"].to_numpy() == i).select(cols)
            with con.cursor().copy(f"COPY fact_events ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)") as copy:
                copy.write(_csv(part))

        per_batch = replay(con, POSTGRES, insert_slice, slices)
        full = []
        for _ in range(3):
            t0 = time.perf_counter()
            update_crisis_episodes(con, POSTGRES, full=True)
            full.append(time.perf_counter() - t0)
        (episodes,) = con.execute("SELECT count(*) FROM crisis_episodes").fetchone()
        report("PostgreSQL", full, per_batch, episodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
