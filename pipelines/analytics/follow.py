"""``ascolto analytics [--follow]``: crisis episodes and the business gauges of a warehouse that the
streaming runners write (Flink, Dataflow, any Beam runner), where no commit of ours runs them.

A pass (``analytics_pass``): read the streaming sink's change marks (``analytics_changes``),
bring ``crisis_episodes`` up to date with crisis-v1 from the earliest new event time of each
brand (``analytics.business.refresh_business_state``, the function the embedded driver calls
after each commit), set the crisis and care gauges, then delete exactly the marks used. A pass
that fails deletes nothing and is counted (``ascolto_batch_failures_total{stage="analytics"}``);
the next one redoes it. Without ``--follow``: one pass, then exit (cron, or after a DuckDB job:
DuckDB admits one process per file). With ``--follow``: a pass every ``--interval-seconds``,
until SIGTERM or Ctrl-C, one log line per pass, ``/metrics`` on ``--metrics-port``.

One sidecar per warehouse: on PostgreSQL each holds a session advisory lock
(``SIDECAR_LOCK``), so a second one (a rolling update, a duplicate deployment) waits instead of
racing the first with older reads.

Runner-agnostic on purpose: it needs the warehouse only, so the same sidecar serves Flink
(a second container in the job's pod), Dataflow (a small always-on service) and the embedded
driver's PostgreSQL warehouse (where it is not needed: the driver does this after commits).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
from dataclasses import dataclass

from pipelines.analytics.business import forget_changes, pending_changes, refresh_business_state
from pipelines.analytics.query_cli import warehouse_location
from pipelines.config import ConfigError
from pipelines.io.metrics import AnalyticsMetrics

log = logging.getLogger("ascolto.analytics")
DEFAULT_METRICS_PORT = 9465
SIDECAR_LOCK = 0x6173636F6C746F  # pg_advisory_lock key: "ascolto"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--warehouse", help="DuckDB file or postgresql:// DSN that the streaming job writes (env ASCOLTO_WAREHOUSE)")
    p.add_argument("--follow", action="store_true", help="keep running: a pass every --interval-seconds until SIGTERM")
    p.add_argument("--interval-seconds", type=float, default=60.0, help="seconds between passes with --follow (default %(default)s)")
    p.add_argument("--max-passes", type=int, help="with --follow: exit after this many passes")
    p.add_argument(
        "--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="Prometheus port with --follow, 0 for none (default %(default)s)"
    )
    p.add_argument("--metrics-addr", default="127.0.0.1", help="address /metrics binds, 0.0.0.0 in a container (default %(default)s)")


@dataclass
class PassReport:
    changes: int  # marks consumed
    brands_recomputed: list[str]
    episodes_written: int
    active: set[str]
    full: bool
    seconds: float


def analytics_pass(con, dialect, catalog, metrics: AnalyticsMetrics) -> PassReport:
    t0 = time.perf_counter()
    ids, changed = pending_changes(con, dialect)
    state = refresh_business_state(con, dialect, catalog, metrics, refresh_care=True, changed=changed)
    forget_changes(con, dialect, ids)
    seconds = time.perf_counter() - t0
    metrics.runs.inc()
    metrics.changes.inc(len(ids))
    metrics.last_run.set(time.time())
    metrics.run_duration.set(seconds)
    c = state.crisis
    return PassReport(len(ids), c.brands_recomputed, c.episodes_written, c.active, c.full, seconds)


def run(args: argparse.Namespace) -> int:
    from pipelines.catalog import load_catalog
    from pipelines.io.warehouse import is_postgres, open_warehouse

    if args.interval_seconds <= 0:
        raise ConfigError("--interval-seconds must be positive")
    if args.max_passes is not None and args.max_passes < 1:
        raise ConfigError("--max-passes must be at least 1")
    location = warehouse_location(args.warehouse)
    catalog = load_catalog()
    warehouse = open_warehouse(location)  # a WarehouseError is one line (cli)
    metrics = AnalyticsMetrics()
    stop = threading.Event()
    if args.follow:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        if args.metrics_port:
            metrics.serve(args.metrics_port, args.metrics_addr)
            log.info("analytics metrics at http://%s:%d/metrics", args.metrics_addr, args.metrics_port)
    if is_postgres(location):
        if not warehouse.con.execute("SELECT pg_try_advisory_lock(%s)", [SIDECAR_LOCK]).fetchall()[0][0]:
            log.info("another 'ascolto analytics' holds this warehouse: waiting for it to stop")
            warehouse.con.execute("SELECT pg_advisory_lock(%s)", [SIDECAR_LOCK])
    warehouse.sync_brands(catalog)  # brand_dim, which the care and share-of-voice views join
    passes, failed = 0, 0
    try:
        while True:
            try:
                r = analytics_pass(warehouse.con, warehouse.dialect, catalog, metrics)
                log.info(
                    "analytics pass %d: %d change marks, crisis-v1 %s for %s, %d episodes written, active: %s (%.2f s)",
                    passes + 1,
                    r.changes,
                    "full run" if r.full else "incremental",
                    ", ".join(r.brands_recomputed) or "no brand",
                    r.episodes_written,
                    ", ".join(sorted(r.active)) or "none",
                    r.seconds,
                )
            except Exception as exc:  # noqa: BLE001 - any database error: retried at the next pass
                failed += 1
                metrics.failures.labels("analytics").inc()
                log.warning("analytics pass failed (retried at the next pass): %s", exc)
                if not args.follow:
                    raise
            passes += 1
            if not args.follow or (args.max_passes is not None and passes >= args.max_passes):
                break
            if stop.wait(args.interval_seconds):
                break
    finally:
        warehouse.close()
    print(f"analytics: {passes} pass(es) on {location}, {failed} failed")
    return 0
