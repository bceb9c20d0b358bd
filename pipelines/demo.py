"""``ascolto demo``: the whole path on this machine, with nothing to set up.

Starts the embedded broker, publishes a seeded stream from a background thread while the
pipeline consumes it in micro-batches (progress bars for both), then prints the summary,
where the warehouse file is and where the metrics endpoint was. The broker stops on exit,
whatever way the demo ends.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from pipelines.analytics.report import render_report
from pipelines.catalog import load_catalog
from pipelines.cli import _validate_producer_args, job_config
from pipelines.config import ConfigError
from pipelines.driver import EmbeddedDriver, RunTotals
from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.io.batch import DUCKDB
from pipelines.io.broker import EmbeddedBroker, create_topics
from pipelines.io.kafka import KafkaSettings, publish
from pipelines.io.metrics import PipelineMetrics
from pipelines.io.warehouse import open_warehouse
from pipelines.summary import collect_summary, render_summary


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def cmd_demo(args: argparse.Namespace) -> int:
    _validate_producer_args(args)
    console = Console() if Console().is_terminal else Console(width=132)
    t_start = time.perf_counter()
    warehouse_path = Path(args.warehouse)
    for p in (warehouse_path, Path(f"{warehouse_path}.wal")):
        p.unlink(missing_ok=True)
    metrics_port = args.metrics_port
    if metrics_port and not _port_free(metrics_port):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            new_port = s.getsockname()[1]
        console.print(f"[yellow]port {metrics_port} is taken; metrics on {new_port} instead[/yellow]")
        metrics_port = new_port
    gen_config = GeneratorConfig(seed=args.seed, events=args.events, events_per_minute=args.events_per_minute)
    records = list(generate_stream(gen_config))
    with EmbeddedBroker() as broker:
        console.print(f"Embedded Kafka-compatible broker (Tansu) on [bold]{broker.bootstrap_servers}[/bold]")
        job = job_config(
            args,
            bootstrap_servers=broker.bootstrap_servers,
            warehouse=str(warehouse_path),
            metrics_port=metrics_port,
            max_batch_records=args.max_batch_records,
        )
        create_topics(broker.bootstrap_servers, {job.topic: args.partitions})
        metrics = PipelineMetrics()
        if metrics_port:
            metrics.serve(metrics_port)
        published = [0]
        failure: list[BaseException] = []

        def produce() -> None:
            def bump(n: int) -> None:
                published[0] += n

            try:
                publish(
                    KafkaSettings(broker.bootstrap_servers),
                    job.topic,
                    ((r.key, r.value) for r in records),
                    rate_per_s=args.rate,
                    on_progress=bump,
                )
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                failure.append(exc)

        producer = threading.Thread(target=produce, name="demo-producer", daemon=True)
        warehouse = open_warehouse(job.warehouse)
        driver = EmbeddedDriver(job, load_catalog(), warehouse, metrics)
        totals = RunTotals()
        columns = (
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[rate]}"),
        )
        try:
            with Progress(*columns, console=console) as progress:
                pub_task = progress.add_task("published to Kafka", total=len(records), rate="")
                com_task = progress.add_task("committed to warehouse", total=len(records), rate="")
                producer.start()
                t0 = time.perf_counter()
                while True:
                    report = driver.run_batch()
                    progress.update(pub_task, completed=published[0])
                    if report.consumed:
                        totals.add(report)
                        progress.update(
                            com_task, completed=totals.consumed, rate=f"{totals.consumed / (time.perf_counter() - t0):,.0f} records/s"
                        )
                    if failure:
                        raise failure[0]
                    if not producer.is_alive() and not report.consumed and not any(report.lag.values()):
                        break
                    if not report.consumed:
                        time.sleep(0.2)
                progress.update(pub_task, completed=published[0])
            summary = collect_summary(warehouse.con, driver.catalog)
            report_path = warehouse_path.with_name(warehouse_path.stem + "-report.html")
            report_path.write_text(
                render_report(warehouse.con, DUCKDB, "Ascolto demo: what people said", str(warehouse_path)), encoding="utf-8"
            )
        finally:
            driver.close()
            warehouse.close()
        if totals.consumed != len(records):
            raise ConfigError(f"the demo published {len(records):,} records but committed {totals.consumed:,}")
        render_summary(summary, console)
        elapsed = time.perf_counter() - t_start
        console.print(
            f"\nWarehouse: [bold]{warehouse_path.resolve()}[/bold] (DuckDB: 'ascolto summary --warehouse {warehouse_path}', "
            "or any DuckDB client: SELECT * FROM v_mentions_by_brand_platform)"
        )
        console.print(f"Report:    [bold]{report_path.resolve()}[/bold] (charts: share of voice, net sentiment, care SLA, crises)")
        if metrics_port:
            state = "serving until Ctrl-C" if args.keep_serving else "was live during the run"
            console.print(f"Metrics:   [bold]http://127.0.0.1:{metrics_port}/metrics[/bold] ({state})")
        console.print(f"Processed {totals.consumed:,} records in {totals.batches} micro-batches; demo took {elapsed:.1f} s.")
        if args.keep_serving and metrics_port:
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                pass
    return 0
