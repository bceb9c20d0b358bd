"""The ``ascolto`` command: the edge where flags and environment become typed configuration.

Subcommands: ``demo``, ``produce``, ``run``, ``broker``, ``summary``, ``dlq``, ``nlp train|eval``,
``explain``, ``enrich``, ``query``, ``report``. User mistakes (bad
flags, unreachable broker, unusable warehouse) end with one ``ascolto: error: ...`` line and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


class _QuietBeamImports(logging.Filter):
    """Apache Beam warns on import that optional GCP libraries are absent; we do not use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_QuietBeamImports())  # before anything imports apache_beam

from pipelines.catalog import CatalogError  # noqa: E402
from pipelines.config import (  # noqa: E402
    DEFAULT_TOPIC,
    DEFAULT_WAREHOUSE,
    ConfigError,
    JobConfig,
    env_defaults,
    parse_window_sizes,
    registry_spec,
)
from pipelines.io.broker import BrokerError  # noqa: E402
from pipelines.io.kafka import KafkaUnavailable  # noqa: E402
from pipelines.io.warehouse import WarehouseError  # noqa: E402
from pipelines.nlp.datasets import DataError  # noqa: E402
from pipelines.nlp.scorer import ScorerError  # noqa: E402

USER_ERRORS = (ConfigError, KafkaUnavailable, WarehouseError, BrokerError, CatalogError, DataError, ScorerError)
log = logging.getLogger("ascolto")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("ascolto").setLevel(logging.INFO)
    if not verbose:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
        logging.getLogger("apache_beam").setLevel(logging.ERROR)


def _job_args(p: argparse.ArgumentParser) -> None:
    d = JobConfig(bootstrap_servers="")
    p.add_argument("--bootstrap-servers", help="Kafka bootstrap servers HOST:PORT[,...] (env ASCOLTO_BOOTSTRAP_SERVERS)")
    p.add_argument("--topic", help=f"input topic (env ASCOLTO_TOPIC; default {DEFAULT_TOPIC})")
    p.add_argument("--warehouse", help=f"DuckDB warehouse file (env ASCOLTO_WAREHOUSE; default {DEFAULT_WAREHOUSE})")
    p.add_argument(
        "--window-seconds",
        help="event-time window sizes in seconds, comma-separated, each a multiple of the smaller ones "
        f"(default {','.join(map(str, d.window_seconds))})",
    )
    p.add_argument(
        "--allowed-lateness-seconds",
        type=int,
        default=d.allowed_lateness_seconds,
        help="how long after a window ends its late events still count (default %(default)s)",
    )
    p.add_argument(
        "--dedup-retention-seconds",
        type=int,
        default=d.dedup_retention_seconds,
        help="how long accepted event ids are remembered for dedup (default %(default)s)",
    )
    p.add_argument(
        "--max-batch-records", type=int, default=d.max_batch_records, help="records per micro-batch at most (default %(default)s)"
    )
    p.add_argument("--chunk-records", type=int, default=d.chunk_records, help="records per element inside a batch (default %(default)s)")
    p.add_argument(
        "--metrics-port", type=int, help=f"Prometheus /metrics port, 0 for none (env ASCOLTO_METRICS_PORT; default {d.metrics_port})"
    )
    p.add_argument(
        "--metrics-addr",
        help=f"address the metrics endpoint binds, 0.0.0.0 in a container (env ASCOLTO_METRICS_ADDR; default {d.metrics_addr})",
    )
    p.add_argument(
        "--group-id", default=d.group_id, help="consumer group that mirrors committed offsets, for lag tools (default %(default)s)"
    )
    p.add_argument(
        "--schema-registry",
        help="where writer schemas are resolved: a directory with registry.json, or a Confluent "
        "Schema Registry https:// URL (env ASCOLTO_SCHEMA_REGISTRY; default: the packaged schemas/)",
    )
    p.add_argument("--schema-registry-user", help="basic-auth user (password from env ASCOLTO_SCHEMA_REGISTRY_PASSWORD)")
    p.add_argument("--schema-registry-ca", help="CA bundle that signs the registry's TLS certificate")
    p.add_argument("--schema-registry-cert", help="client certificate for mutual TLS")
    p.add_argument("--schema-registry-key", help="client key for mutual TLS")
    p.add_argument(
        "--max-value-bytes", type=int, default=d.max_value_bytes, help="larger records become dead letters (default %(default)s)"
    )
    p.add_argument("--dead-letter-topic", help="topic that receives dead letters (default: <topic>.dlq)")
    p.add_argument("--no-dead-letter-topic", action="store_true", help="keep dead letters in the warehouse only")
    p.add_argument(
        "--runner",
        default=d.runner,
        help="FnApiRunner: the embedded micro-batch driver (default); FlinkRunner, DataflowRunner, PortableRunner: the streaming job",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=d.workers,
        help="processes that run each micro-batch's partitions in parallel; 2 on a 2-core machine (default %(default)s)",
    )
    p.add_argument(
        "--scorer",
        help="text classifiers: 'default' (the shipped models, brand profile), 'general', or "
        "'package.module:Factory' of your own Scorer (env ASCOLTO_SCORER; README 'Enrichment')",
    )
    p.add_argument(
        "--kafka-client",
        choices=("kafka-python", "confluent"),
        default=d.kafka_client,
        help="library that reads Kafka: kafka-python, or confluent (librdkafka, about 4x faster; pip install 'ascolto[fast]')",
    )


def job_config(args: argparse.Namespace, **overrides: object) -> JobConfig:
    values: dict[str, object] = {"bootstrap_servers": ""}
    values.update(env_defaults())
    for name in (
        "bootstrap_servers",
        "topic",
        "warehouse",
        "window_seconds",
        "allowed_lateness_seconds",
        "dedup_retention_seconds",
        "max_batch_records",
        "chunk_records",
        "metrics_port",
        "metrics_addr",
        "group_id",
        "runner",
        "kafka_client",
        "workers",
        "max_value_bytes",
        "scorer",
    ):
        v = getattr(args, name, None)
        if v is not None:
            values[name] = parse_window_sizes(v) if name == "window_seconds" else v
    location = getattr(args, "schema_registry", None) or values.pop("schema_registry", None)
    values.pop("schema_registry", None)
    values["schema_registry"] = registry_spec(
        location,
        getattr(args, "schema_registry_user", None),
        getattr(args, "schema_registry_ca", None),
        getattr(args, "schema_registry_cert", None),
        getattr(args, "schema_registry_key", None),
    )
    if getattr(args, "dead_letter_topic", None):
        values["dead_letter_topic"] = args.dead_letter_topic
    if getattr(args, "no_dead_letter_topic", False):
        values["dead_letter_topic"] = ""
    values.update(overrides)
    return JobConfig(**values).validate()  # type: ignore[arg-type]


def _producer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=7, help="random seed: the same seed gives the same stream (default %(default)s)")
    p.add_argument("--events", type=int, default=20_000, help="distinct events to generate (default %(default)s)")
    p.add_argument("--rate", type=float, default=0.0, help="records per second to publish, 0 for as fast as possible (default %(default)s)")
    p.add_argument(
        "--events-per-minute",
        type=float,
        default=50.0,
        help="event-time density of the stream; the default spreads 20,000 events over about 6.7 h, past the crisis "
        "detector's 3 h warm-up (default %(default)s)",
    )
    p.add_argument("--partitions", type=int, default=3, help="partitions when the topic is created (default %(default)s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ascolto", description="Social listening on Kafka, Apache Beam and a SQL warehouse.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the libraries say too")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="embedded broker + generated stream + pipeline + summary, all on this machine")
    _producer_args(demo)
    demo.add_argument("--warehouse", default="var/demo.duckdb", help="demo warehouse file, recreated each run (default %(default)s)")
    demo.add_argument("--metrics-port", type=int, default=9464, help="Prometheus port; a free one is used if taken (default %(default)s)")
    demo.add_argument("--max-batch-records", type=int, default=10_000, help="records per micro-batch (default %(default)s)")
    demo.add_argument("--workers", type=int, default=2, help="processes per micro-batch (default %(default)s)")
    demo.add_argument("--kafka-client", choices=("kafka-python", "confluent"), default="kafka-python", help="library that reads Kafka")
    demo.add_argument("--keep-serving", action="store_true", help="keep the metrics endpoint up after the summary, until Ctrl-C")

    produce = sub.add_parser("produce", help="publish a realistic seeded stream of social events")
    produce.add_argument("--bootstrap-servers", help="Kafka bootstrap servers (env ASCOLTO_BOOTSTRAP_SERVERS)")
    produce.add_argument("--topic", help=f"topic (env ASCOLTO_TOPIC; default {DEFAULT_TOPIC})")
    _producer_args(produce)

    run = sub.add_parser("run", help="run the pipeline on a topic into the warehouse")
    _job_args(run)
    from pipelines.streaming.runners import add_runner_arguments

    add_runner_arguments(run)
    run.add_argument("--stop-when-idle", action="store_true", help="exit once every partition is consumed (backfills, tests)")
    run.add_argument("--max-batches", type=int, help="exit after this many committed micro-batches")

    broker = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu) in the foreground")
    broker.add_argument("--port", type=int, default=19092, help="loopback port (default %(default)s)")
    broker.add_argument("--topic", default=DEFAULT_TOPIC, help="topic to create (default %(default)s)")
    broker.add_argument("--partitions", type=int, default=3, help="its partitions (default %(default)s)")

    dlq = sub.add_parser("dlq", help="inspect and replay dead letters")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    dlq_list = dlq_sub.add_parser("list", help="dead letters by reason, or the latest records with --records")
    dlq_list.add_argument("--reason", help="only this reason")
    dlq_list.add_argument("--records", type=int, default=0, help="also list the N latest records")
    dlq_show = dlq_sub.add_parser("show", help="one dead letter in full, with its original bytes")
    dlq_show.add_argument("--topic", help=f"its topic (default {DEFAULT_TOPIC})")
    dlq_show.add_argument("--partition", type=int, required=True)
    dlq_show.add_argument("--offset", type=int, required=True)
    dlq_replay = dlq_sub.add_parser("replay", help="re-publish dead letters to the input topic after a fix")
    dlq_replay.add_argument("--reason", help="only this reason (default: every reason)")
    group = dlq_replay.add_mutually_exclusive_group(required=True)
    group.add_argument("--only-fixed", action="store_true", help="only records that now decode and validate")
    group.add_argument("--all", action="store_true", help="every selected record, as it is")
    dlq_replay.add_argument("--again", action="store_true", help="include dead letters replayed before")
    dlq_replay.add_argument("--to-topic", help=f"target topic (default: --topic or {DEFAULT_TOPIC})")
    dlq_replay.add_argument("--bootstrap-servers", help="Kafka bootstrap servers (env ASCOLTO_BOOTSTRAP_SERVERS)")
    dlq_replay.add_argument("--topic", help=f"input topic (env ASCOLTO_TOPIC; default {DEFAULT_TOPIC})")
    dlq_replay.add_argument("--schema-registry", help="registry that --only-fixed decodes with (as for 'ascolto run')")
    for p_ in (dlq_list, dlq_show, dlq_replay):
        p_.add_argument("--warehouse", help=f"DuckDB warehouse file (env ASCOLTO_WAREHOUSE; default {DEFAULT_WAREHOUSE})")

    from pipelines.analytics import query_cli, report
    from pipelines.nlp.cli import add_commands as add_nlp_commands

    add_nlp_commands(sub)
    query = sub.add_parser("query", help="run SQL on the warehouse (DuckDB or PostgreSQL); a table, --csv or --json")
    query_cli.add_arguments(query)
    query.set_defaults(handler=query_cli.run)
    report_ = sub.add_parser("report", help="write a self-contained HTML report: share of voice, sentiment, care SLA, crises")
    report.add_arguments(report_)
    report_.set_defaults(handler=report.run)

    from pipelines.analytics import follow

    analytics = sub.add_parser(
        "analytics", help="crisis episodes and business gauges for a warehouse the streaming runners write (--follow: a sidecar)"
    )
    follow.add_arguments(analytics)
    analytics.set_defaults(handler=follow.run)

    summary = sub.add_parser("summary", help="print the summary of a warehouse")
    summary.add_argument("--warehouse", default=None, help=f"DuckDB warehouse file (env ASCOLTO_WAREHOUSE; default {DEFAULT_WAREHOUSE})")
    return parser


def _validate_producer_args(args: argparse.Namespace) -> None:
    if args.events < 1:
        raise ConfigError("--events must be at least 1")
    if args.rate < 0:
        raise ConfigError("--rate must be 0 (as fast as possible) or positive")
    if args.events_per_minute <= 0:
        raise ConfigError("--events-per-minute must be positive")
    if not 1 <= args.partitions <= 64:
        raise ConfigError("--partitions must be between 1 and 64")


def cmd_produce(args: argparse.Namespace) -> int:
    from pipelines.generator import GeneratorConfig, generate_stream
    from pipelines.io.broker import create_topics
    from pipelines.io.kafka import KafkaSettings, publish

    _validate_producer_args(args)
    env = env_defaults()
    servers = args.bootstrap_servers or env.get("bootstrap_servers")
    if not servers:
        raise ConfigError("no Kafka broker given: pass --bootstrap-servers HOST:PORT or set ASCOLTO_BOOTSTRAP_SERVERS")
    topic = args.topic or str(env.get("topic") or DEFAULT_TOPIC)
    settings = KafkaSettings(str(servers))
    settings.check_reachable()
    create_topics(settings.bootstrap_servers, {topic: args.partitions})
    config = GeneratorConfig(seed=args.seed, events=args.events, events_per_minute=args.events_per_minute)
    sent = 0

    def progress(n: int) -> None:
        nonlocal sent
        sent += n
        if sent % 10_000 < n:
            log.info("published %s records", f"{sent:,}")

    publish(settings, topic, ((r.key, r.value) for r in generate_stream(config)), rate_per_s=args.rate, on_progress=progress)
    print(f"published {sent:,} records to {topic} on {settings.bootstrap_servers} (seed {args.seed})")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.catalog import load_catalog
    from pipelines.driver import EmbeddedDriver
    from pipelines.io.metrics import PipelineMetrics
    from pipelines.io.warehouse import open_warehouse
    from pipelines.streaming.runners import beam_args_from, is_streaming_runner

    job = job_config(args, beam_args=beam_args_from(args))
    if args.max_batches is not None and args.max_batches < 1:
        raise ConfigError("--max-batches must be at least 1")
    catalog = load_catalog()
    if is_streaming_runner(job.runner):
        from pipelines.streaming.job import run_streaming_job

        return run_streaming_job(job, catalog)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s: stopping after the current batch", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    warehouse = open_warehouse(job.warehouse)  # before the endpoint: a bad --warehouse fails first, alone
    metrics = PipelineMetrics()
    if job.metrics_port:
        try:
            metrics.serve(job.metrics_port, job.metrics_addr)
        except OSError as exc:
            raise ConfigError(f"--metrics-port {job.metrics_port}: cannot listen ({exc.strerror}); pick another port or 0") from None
        log.info("metrics at http://%s:%d/metrics", job.metrics_addr, job.metrics_port)
    driver = EmbeddedDriver(job, catalog, warehouse, metrics)

    def on_batch(r) -> None:
        if r.consumed:
            log.info(
                "batch %d: %s records in %.2f s (%s/s): %s accepted, %s duplicates, %s late, %s dead letters; lag %s",
                r.batch_id,
                f"{r.consumed:,}",
                r.seconds,
                f"{r.consumed / r.seconds:,.0f}",
                f"{r.accepted:,}",
                f"{r.duplicates:,}",
                f"{r.late:,}",
                f"{r.dead_letters:,}",
                f"{sum(r.lag.values()):,}",
            )

    try:
        totals = driver.run(stop_when_idle=args.stop_when_idle, max_batches=args.max_batches, should_stop=stop.is_set, on_batch=on_batch)
    finally:
        driver.close()
        warehouse.close()
    print(
        f"committed {totals.batches} batches, {totals.consumed:,} records ({totals.accepted:,} accepted, {totals.duplicates:,} "
        f"duplicates, {totals.late:,} late, {totals.dead_letters:,} dead letters) into {job.warehouse}"
    )
    return 0


def cmd_broker(args: argparse.Namespace) -> int:
    from pipelines.io.broker import EmbeddedBroker, create_topics

    if not 1 <= args.partitions <= 64:
        raise ConfigError("--partitions must be between 1 and 64")
    with EmbeddedBroker(port=args.port) as broker:
        create_topics(broker.bootstrap_servers, {args.topic: args.partitions})
        print(f"Tansu broker on {broker.bootstrap_servers}, topic {args.topic} ({args.partitions} partitions). Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        # Both set explicitly: a shell starts background jobs with SIGINT ignored, and Python then
        # installs no KeyboardInterrupt handler of its own.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.wait(0.5):
            pass
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from pipelines.catalog import load_catalog
    from pipelines.summary import collect_summary, render_summary

    con = open_existing_warehouse(args.warehouse, read_only=True)
    render_summary(collect_summary(con, load_catalog()), console())
    return 0


def console():
    from rich.console import Console

    return Console() if Console().is_terminal else Console(width=132)


def open_existing_warehouse(flag: str | None, read_only: bool):
    """The warehouse a flag, ASCOLTO_WAREHOUSE or the default names, which must exist."""
    import duckdb

    path = flag or str(env_defaults().get("warehouse") or DEFAULT_WAREHOUSE)
    if path.startswith(("postgresql://", "postgres://")):
        raise ConfigError("this command reads DuckDB warehouses; query the PostgreSQL warehouse with psql or your BI tool (views v_*)")
    if not Path(path).exists():
        raise ConfigError(f"no warehouse at {path}: run 'ascolto run' or 'ascolto demo' first, or pass --warehouse")
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        raise WarehouseError(f"cannot open {path}: {exc}. A running 'ascolto run' holds it; stop it first") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    commands = {"produce": cmd_produce, "run": cmd_run, "broker": cmd_broker, "summary": cmd_summary}
    if args.command == "dlq":
        from pipelines.dlq_cli import cmd_dlq

        commands["dlq"] = cmd_dlq
    if hasattr(args, "handler"):  # subcommands whose parser names their handler (nlp, explain, enrich, query, report, analytics)
        commands[args.command] = args.handler
    try:
        if args.command == "demo":
            from pipelines.demo import cmd_demo

            return cmd_demo(args)
        return commands[args.command](args)
    except USER_ERRORS as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ascolto: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
