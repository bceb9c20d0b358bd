"""`make bench`: events/s end to end and per stage, on a seeded stream, as a table.

    python tests/benchmarks/bench_pipeline.py [--events 200000] [--batch 100000]

End to end = records read from the embedded broker, decoded, classified, deduplicated,
enriched, scored, aggregated and committed to a fresh DuckDB warehouse, counted from the
first micro-batch to the last commit. Stages are timed on the same records, one core, no
Beam, to show where the time goes. Peers' figures are the ones ARCHITECTURE.md records for
this machine kind (not re-measured here).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelines.catalog import load_catalog  # noqa: E402
from pipelines.config import JobConfig  # noqa: E402
from pipelines.driver import EmbeddedDriver  # noqa: E402
from pipelines.generator import GeneratorConfig, generate_stream  # noqa: E402
from pipelines.io.batch import events_to_arrow  # noqa: E402
from pipelines.io.broker import EmbeddedBroker, create_topics  # noqa: E402
from pipelines.io.kafka import KafkaSettings, RangeReader, publish  # noqa: E402
from pipelines.model import KafkaRecord, RecordChunk  # noqa: E402
from pipelines.nlp.scorer import default_scorer  # noqa: E402
from pipelines.transforms.aggregate import pre_aggregate  # noqa: E402
from pipelines.transforms.decode import decode_record  # noqa: E402
from pipelines.transforms.dedup import first_copies  # noqa: E402
from pipelines.transforms.enrich import BrandAttributor, enrich, score_texts, scorer_version  # noqa: E402
from pipelines.transforms.lateness import classify  # noqa: E402
from pipelines.transforms.score import score  # noqa: E402
from pipelines.wire import DecodeError, EventCodec  # noqa: E402

PEERS = [  # ARCHITECTURE.md, same machine kind, 500k JSON events, windowed count per (brand, platform)
    ("plain kafka-python loop, pure-Python aggregation", 34_000),
    ("Quix Streams 3.28", 32_000),
    ("Apache Beam 2.77 FnApiRunner, windowed count from a local file", 47_000),
    ("bytewax 0.21", 124_000),
]


def stage_table(records: list[KafkaRecord], bootstrap: str, topic: str, partitions: int) -> list[tuple[str, int, float]]:
    rows = []

    def timed(name: str, n: int, fn):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        rows.append((name, n, dt))
        return out

    per_part = len(records) // partitions + 1
    ranges = {p: (0, per_part) for p in range(partitions)}
    for client in ("kafka-python", "confluent"):
        reader = RangeReader(KafkaSettings(bootstrap, client=client))
        timed(
            f"read ({client})",
            len(records),
            lambda r=reader: sum(len(c.records) for c in r.read(topic, ranges, 2000) if isinstance(c, RecordChunk)),
        )
        reader.close()
    codec = EventCodec()

    def decode_all():
        out = []
        for r in records:
            try:
                out.append(decode_record(codec, r))
            except DecodeError:
                pass
        return out

    events = timed("decode (Avro, validate)", len(records), decode_all)
    on_time = timed("classify lateness", len(events), lambda: classify(events, -1, 60_000, 300_000)[0])
    unique = timed("deduplicate", len(on_time), lambda: first_copies(on_time, set())[0])
    attributor = BrandAttributor(load_catalog())
    timed("enrich: language, brands", len(unique), lambda: enrich(unique, attributor))
    scorer = default_scorer()
    scorer.score(["warm-up"], ["it"]), scorer.score(["warm-up"], ["en"])  # model loading is not throughput
    version = scorer_version(scorer)
    timed("enrich: text classifiers (per event)", len(unique), lambda: score_texts(unique, scorer, version))
    timed("score (engagement-v1)", len(unique), lambda: score(unique))
    timed("pre-aggregate windows (60 s and 3600 s, both tables)", len(unique), lambda: pre_aggregate(unique, (60, 3600)))
    timed("facts to Arrow", len(unique), lambda: events_to_arrow(unique))
    return rows


def rss_mb() -> float:
    """Current resident memory of this process (not the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def end_to_end(bootstrap: str, topic: str, tmp: Path, batch: int, client: str, workers: int):
    from pipelines.io.warehouse import DuckDBWarehouse

    job = JobConfig(
        bootstrap_servers=bootstrap,
        topic=topic,
        warehouse=str(tmp / f"bench-{client}-{workers}.duckdb"),
        metrics_port=0,
        max_batch_records=batch,
        kafka_client=client,
        workers=workers,
    ).validate()
    warehouse = DuckDBWarehouse(job.warehouse)
    driver = EmbeddedDriver(job, load_catalog(), warehouse)
    batches, memory = [], []

    def on_batch(r):
        if r.consumed:
            batches.append(r)
            memory.append(rss_mb())

    t0 = time.perf_counter()
    totals = driver.run(stop_when_idle=True, on_batch=on_batch)
    e2e_s = time.perf_counter() - t0
    driver.close()
    warehouse.close()
    return totals, batches, e2e_s, memory


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=100_000, help="--max-batch-records of the end-to-end run")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    console = Console(width=120)

    t0 = time.perf_counter()
    stream = [(r.key, r.value) for r in generate_stream(GeneratorConfig(seed=args.seed, events=args.events, events_per_minute=2000))]
    gen_s = time.perf_counter() - t0
    console.print(f"generated {len(stream):,} records (seed {args.seed}) in {gen_s:.1f} s")
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        topic = "bench.events"
        create_topics(broker.bootstrap_servers, {topic: args.partitions})
        t0 = time.perf_counter()
        publish(KafkaSettings(broker.bootstrap_servers), topic, stream)
        pub_s = time.perf_counter() - t0
        console.print(f"published in {pub_s:.1f} s ({len(stream) / pub_s:,.0f} records/s, kafka-python producer)")

        sample = [KafkaRecord(topic, 0, i, 0, k, v) for i, (k, v) in enumerate(stream[:50_000])]
        stages = stage_table(sample, broker.bootstrap_servers, topic, args.partitions)

        runs = {
            (client, workers): end_to_end(broker.bootstrap_servers, topic, Path(tmp), args.batch, client, workers)
            for workers in (1, 2)
            for client in ("kafka-python", "confluent")
        }
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    t = Table(title=f"Ascolto end to end: {len(stream):,} records in micro-batches of up to {args.batch:,}")
    t.add_column("measure")
    t.add_column("records/s", justify="right")
    t.add_column("µs/record", justify="right")
    for (client, workers), (totals, batches, e2e_s, _memory) in runs.items():
        busy_s = sum(b.seconds for b in batches)
        pipe_s = sum(b.pipeline_seconds for b in batches)
        commit_s = sum(b.commit_seconds for b in batches)
        t.add_row(
            f"[bold]end to end, --workers {workers} --kafka-client {client}[/bold] ({len(batches)} batches)",
            f"[bold]{totals.consumed / e2e_s:,.0f}[/bold]",
            f"{e2e_s / totals.consumed * 1e6:.1f}",
        )
        t.add_row("  micro-batches only (read to commit)", f"{totals.consumed / busy_s:,.0f}", f"{busy_s / totals.consumed * 1e6:.1f}")
        t.add_row("  of which Beam pipeline (read .. aggregate, staging)", "", f"{pipe_s / totals.consumed * 1e6:.1f}")
        t.add_row("  of which warehouse commit", "", f"{commit_s / totals.consumed * 1e6:.1f}")
    for name, n, dt in stages:
        t.add_row(f"stage: {name}", f"{n / dt:,.0f}", f"{dt / n * 1e6:.2f}")
    console.print(t)
    p = Table(title="Peers on this machine kind (ARCHITECTURE.md, not re-measured in this run)")
    p.add_column("system")
    p.add_column("events/s", justify="right")
    for name, rate in PEERS:
        p.add_row(name, f"~{rate:,}")
    console.print(p)
    totals, _, _, memory = runs[("kafka-python", 1)]
    console.print(
        f"accepted {totals.accepted:,}, duplicates {totals.duplicates:,}, late {totals.late:,}, dead letters "
        f"{totals.dead_letters:,}; peak RSS {peak_mb:,.0f} MB (whole benchmark process, stream kept in memory)"
    )
    console.print("driver RSS after each micro-batch (--workers 1, kafka-python), MB: " + ", ".join(f"{m:,.0f}" for m in memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
