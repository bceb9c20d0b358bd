"""A real Prometheus scrapes a real pipeline run, evaluates the real rules, and agrees with the
warehouse.

Started here: the embedded broker (fixture), a seeded stream on a fresh topic, ``ascolto run``
through the real CLI without ``--stop-when-idle`` (its /metrics stays up), and Debian's
``prometheus`` server scraping it every second with deploy/prometheus/rules/ascolto.rules.yml
loaded. Checked through Prometheus' HTTP API:

(a) every metric name a rule or a dashboard panel reads has a series in Prometheus, and every
    rule evaluated healthy after the final scrape (so the recording rules have series too);
(b) the final scraped counters (stable over several scrapes) equal the warehouse's own
    accounting: consumed, accepted, late, duplicates by kind, dead letters by reason, and
    mentions per brand;
(c) the final crisis and care gauges equal what the warehouse says at the end of the run:
    open episodes of ``crisis_episodes`` (1/0 and peak severity, every catalog brand) and
    ``v_care_sla_by_brand`` (overdue, sla_share). The stream is sparse in event time (8 events
    a minute: over 6 h) because the crisis detector needs 3 h of history before it evaluates;
    then the generator's outage burst, two thirds of the way in, opens an episode that an
    hour of calm closes before the end: the test checks that an ended episode reads 0 (an
    open one at the end of a seeded stream is ``tests/analytics``' business).

The prometheus binary comes from Debian's ``prometheus`` package; the test fails, not skips,
without it, because CI installs it (``make system-deps``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import duckdb
import pytest
import yaml

from pipelines.catalog import load_catalog
from pipelines.generator import GeneratorConfig
from pipelines.io.broker import free_port
from pipelines.model import MENTION_TYPES
from tests.conftest import PublishedStream
from tests.deploy.promql_names import iter_panels, resolve_names

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules" / "ascolto.rules.yml"
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))

SCRAPE_INTERVAL_S = 1
# The final values must be the same in this many consecutive scrapes (stable for 2 scrapes
# after the one that first showed them): a scrape never lands inside a half-recorded batch.
STABLE_SAMPLES = 3
DEADLINE_S = 120
# The counters compared with the warehouse, fetched in one range query so that every series
# comes with its raw samples and scrape timestamps.
COMPARED = (
    "ascolto_events_consumed_total",
    "ascolto_events_accepted_total",
    "ascolto_events_late_total",
    "ascolto_events_duplicate_total",
    "ascolto_dead_letters_total",
    "ascolto_brand_mentions_total",
    "ascolto_brand_customer_mentions_total",
    "ascolto_brand_crisis_active",
    "ascolto_brand_crisis_severity_ratio",
    "ascolto_care_requests_overdue",
    "ascolto_care_sla_share_ratio",
    "ascolto_events_flagged",
)

T = TypeVar("T")


def _poll(what: str, probe: Callable[[], T | None], deadline_s: float = DEADLINE_S, on_timeout: Callable[[], str] = str) -> T:
    """``probe()``'s first truthy result, polled until a deadline; a failure names ``what``."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {deadline_s:.0f} s waiting for {what}\n{on_timeout()}", pytrace=False)


def _tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return f"--- last lines of {path.name} ---\n" + "\n".join(text.splitlines()[-lines:])


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = 30) -> int:
    """Stops the process we started (by its pid), killing it if it ignores ``sig``."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


# --- Prometheus' HTTP API ----------------------------------------------------------------


@dataclass
class PrometheusServer:
    url: str
    log: Path

    def api(self, endpoint: str, **params: str) -> dict | list:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/v1/{endpoint}?{query}", timeout=5) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> dict:
        return self.api("query", query=expr)

    def series_count(self, name: str) -> int:
        return len(self.api("series", **{"match[]": name}))

    def rules(self) -> list[dict]:
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]


@dataclass
class PipelineRun:
    proc: subprocess.Popen
    warehouse: Path
    metrics_port: int
    log: Path


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus_binary() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.fail(
            "the prometheus server is not on PATH. Install it (Debian/Ubuntu: `apt-get install -y prometheus`, "
            "or `make system-deps`) and run again: the scrape test needs a real server.",
            pytrace=False,
        )
    return path


@pytest.fixture
def stream(publish_stream) -> PublishedStream:
    # 3,000 events over 6 h 15 min of event time (the generator's outage at about 4 h 8 min).
    return publish_stream(GeneratorConfig(seed=41, events=3000, events_per_minute=8))


@pytest.fixture
def pipeline(broker, stream, tmp_path) -> Iterator[PipelineRun]:
    """``ascolto run`` on the stream's topic, serving /metrics until the test stops it."""
    warehouse, port, log = tmp_path / "w.duckdb", free_port(), tmp_path / "ascolto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASCOLTO_")}
    args = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "run",
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        stream.topic,
        "--warehouse",
        str(warehouse),
        "--metrics-port",
        str(port),
        "--max-batch-records",
        "2000",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=REPO)
    try:
        yield PipelineRun(proc, warehouse, port, log)
    finally:
        _stop(proc)


@pytest.fixture
def prometheus(prometheus_binary, pipeline, tmp_path) -> Iterator[PrometheusServer]:
    """A Prometheus server scraping the pipeline every second, with Ascolto's rules loaded."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s", "evaluation_interval": f"{SCRAPE_INTERVAL_S}s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [{"job_name": "ascolto", "static_configs": [{"targets": [f"127.0.0.1:{pipeline.metrics_port}"]}]}],
            }
        )
    )
    log = tmp_path / "prometheus.log"
    args = [
        prometheus_binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
    server = PrometheusServer(f"http://127.0.0.1:{port}", log)
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"prometheus exited with code {proc.returncode}\n{_tail(log)}"
            try:
                with urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as resp:
                    return resp.status == 200
            except OSError:
                return False

        _poll("prometheus to be ready", ready, 30, lambda: _tail(log))
        yield server
    finally:
        _stop(proc)


# --- helpers over the scraped data ---------------------------------------------------------


def _names_read_by_rules_and_dashboards() -> set[str]:
    rules = [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]
    recording = {rule["record"]: rule["expr"] for rule in rules if "record" in rule}
    exprs = [rule["expr"] for rule in rules]
    for path in DASHBOARDS:
        exprs += [t["expr"] for p in iter_panels(json.loads(path.read_text())) for t in p.get("targets", []) if "expr" in t]
    return set().union(*(resolve_names(expr, recording) for expr in exprs))


@dataclass
class FinalScrape:
    timestamp: float  # of the last scrape, Unix seconds
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float]  # (name, sorted labels) -> value

    def total(self, name: str) -> float:
        return sum(v for (n, _), v in self.values.items() if n == name)

    def by(self, name: str, label: str) -> dict[str, int]:
        """Non-zero values of ``name`` summed by ``label`` (pre-initialised zero series dropped)."""
        out: dict[str, float] = {}
        for (n, labels), v in self.values.items():
            if n == name:
                key = dict(labels)[label]
                out[key] = out.get(key, 0) + v
        return {k: int(v) for k, v in out.items() if v}

    def by2(self, name: str, first: str, second: str) -> dict[tuple[str, str], int]:
        """Values of ``name`` by two labels (zero series kept)."""
        return {(dict(labels)[first], dict(labels)[second]): int(v) for (n, labels), v in self.values.items() if n == name}

    def gauge(self, name: str, label: str) -> dict[str, float]:
        """Values of the gauge ``name`` by ``label``, zeros kept (one series per label value)."""
        found = [(dict(labels)[label], v) for (n, labels), v in self.values.items() if n == name]
        assert len({k for k, _ in found}) == len(found), f"{name}: more than one series per {label}"
        return dict(found)


def _final_scrape(prom: PrometheusServer, expected_consumed: int) -> FinalScrape | None:
    """The compared counters once consumed equals what was published and every series held its
    value over the last STABLE_SAMPLES scrapes; None until then."""
    names, seconds = "|".join(COMPARED), (STABLE_SAMPLES + 2) * SCRAPE_INTERVAL_S
    selector = f'{{job="ascolto", __name__=~"{names}"}}[{seconds}s]'
    data = prom.query(selector)
    assert data["resultType"] == "matrix", data
    values, last_scrapes = {}, set()
    for series in data["result"]:
        labels = {k: v for k, v in series["metric"].items() if k not in ("job", "instance")}
        name = labels.pop("__name__")
        samples = series["values"][-STABLE_SAMPLES:]
        if len(samples) < STABLE_SAMPLES or len({v for _, v in samples}) != 1:
            return None
        values[(name, tuple(sorted(labels.items())))] = float(samples[-1][1])
        last_scrapes.add(float(samples[-1][0]))
    scrape = FinalScrape(max(last_scrapes, default=0.0), values)
    if len(last_scrapes) != 1 or scrape.total("ascolto_events_consumed_total") != expected_consumed:
        return None
    return scrape


def _rules_evaluated_after(prom: PrometheusServer, since: float) -> list[dict] | None:
    """Every rule, once all of them have been evaluated healthy after ``since``; None until then."""
    rules = prom.rules()
    for rule in rules:
        assert rule["health"] != "err", f"rule {rule['name']} fails to evaluate: {rule.get('lastError')}"
        evaluated = rule.get("lastEvaluation", "")
        # Never evaluated: "0001-01-01T00:00:00Z". Python 3.11 reads the nanoseconds and the "Z".
        if rule["health"] != "ok" or datetime.fromisoformat(evaluated).timestamp() <= since:
            return None
    return rules


# --- the test ------------------------------------------------------------------------------


def test_prometheus_scrapes_rules_and_warehouse_agree(stream, pipeline, prometheus):
    published = len(stream.records)

    def final_scrape() -> FinalScrape | None:
        assert pipeline.proc.poll() is None, f"ascolto run exited with code {pipeline.proc.returncode}\n{_tail(pipeline.log)}"
        return _final_scrape(prometheus, published)

    scrape = _poll(
        f"Prometheus to show all {published:,} records consumed, stable over {STABLE_SAMPLES} scrapes",
        final_scrape,
        on_timeout=lambda: f"{_tail(pipeline.log)}\n{_tail(prometheus.log)}",
    )
    rules = _poll("every rule to evaluate after the final scrape", lambda: _rules_evaluated_after(prometheus, scrape.timestamp))

    # (a) Everything the rules and the dashboards read is really there, and so is what the
    # recording rules write.
    names = _names_read_by_rules_and_dashboards()
    assert "ascolto_brand_mentions_total" in names and "up" in names  # the brand and operations dashboards are read
    missing = sorted(name for name in names if not prometheus.series_count(name))
    assert not missing, f"rules or dashboards read {missing}, which Prometheus has no series for"
    recorded = [rule["name"] for rule in rules if rule["type"] == "recording"]
    assert recorded, "Prometheus loaded no recording rule"
    silent = sorted(name for name in recorded if not prometheus.series_count(name))
    assert not silent, f"recording rules evaluated without producing a series: {silent}"

    # Stop the pipeline: it finishes its batch (there is none left) and releases the warehouse.
    assert _stop(pipeline.proc) == 0, _tail(pipeline.log)

    # (b) The final scrape equals the warehouse's accounting.
    con = duckdb.connect(str(pipeline.warehouse), read_only=True)
    try:
        consumed, accepted, late, duplicates, dead_letters = con.execute(
            "SELECT sum(consumed), sum(accepted), sum(late), sum(duplicates), sum(dead_letters) FROM batches"
        ).fetchall()[0]
        duplicates_by_kind = dict(con.execute("SELECT kind, count(*) FROM duplicate_events GROUP BY kind").fetchall())
        dead_by_reason = dict(con.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason").fetchall())
        types = ", ".join(f"'{t}'" for t in sorted(MENTION_TYPES))
        mentions_by_brand = dict(
            con.execute(
                f"""SELECT brand, sum(events) FROM engagement_window WHERE event_type IN ({types})
                      AND window_seconds = (SELECT min(window_seconds) FROM engagement_window) GROUP BY brand"""
            ).fetchall()
        )
        episodes = con.execute(
            "SELECT brand, severity, ended_at IS NULL AS open FROM crisis_episodes WHERE detector_version = 'crisis-v1'"
        ).fetchall()
        care = {
            brand: (requests, overdue, share)
            for brand, requests, overdue, share in con.execute(
                "SELECT brand, requests, overdue, sla_share FROM v_care_sla_by_brand"
            ).fetchall()
        }
        flagged = dict(con.execute("SELECT kind, events FROM v_duplicates_by_kind WHERE action = 'flagged'").fetchall())
        customer_by_sentiment = {
            (b, s): n
            for b, s, n in con.execute(f"""
                SELECT brand, sentiment, count(*) FROM (
                  SELECT unnest(CASE WHEN len(brands) = 0 THEN ['unattributed'] ELSE brands END) AS brand, sentiment
                  FROM fact_events WHERE event_type IN ({types}) AND NOT author_is_brand_account)
                GROUP BY ALL""").fetchall()
        }
    finally:
        con.close()

    assert consumed == published
    assert scrape.total("ascolto_events_consumed_total") == consumed
    assert scrape.total("ascolto_events_accepted_total") == accepted
    assert scrape.total("ascolto_events_late_total") == late
    assert scrape.total("ascolto_events_duplicate_total") == duplicates == sum(duplicates_by_kind.values())
    assert scrape.by("ascolto_events_duplicate_total", "kind") == duplicates_by_kind
    assert scrape.total("ascolto_dead_letters_total") == dead_letters == sum(dead_by_reason.values())
    assert scrape.by("ascolto_dead_letters_total", "reason") == dead_by_reason
    assert scrape.by("ascolto_brand_mentions_total", "brand") == {b: int(n) for b, n in mentions_by_brand.items() if n}
    assert {
        k: v for k, v in scrape.by2("ascolto_brand_customer_mentions_total", "brand", "sentiment").items() if v
    } == customer_by_sentiment
    assert {s for _, s in customer_by_sentiment} >= {"negative", "positive"}
    # The stream is rich enough for these comparisons to mean something.
    assert late > 0 and duplicates > 0 and len(dead_by_reason) >= 2 and len(mentions_by_brand) >= 5

    # (c) The crisis and care gauges equal the warehouse at the end of the run. Every catalog
    # brand has both crisis gauges, every own brand the overdue one (0 until it has requests).
    catalog = load_catalog()
    open_severity: dict[str, float] = {}
    for brand, severity, is_open in episodes:
        if is_open:
            open_severity[brand] = max(open_severity.get(brand, 0.0), severity)
    assert scrape.gauge("ascolto_brand_crisis_active", "brand") == {b: float(b in open_severity) for b in catalog.brand_ids}
    assert scrape.gauge("ascolto_brand_crisis_severity_ratio", "brand") == pytest.approx(
        {b: open_severity.get(b, 0.0) for b in catalog.brand_ids}, rel=1e-12
    )
    own = [b.id for b in catalog.brands if b.role == "own"]
    overdue = {b: 0.0 for b in own} | {b: float(n) for b, (_, n, _) in care.items()}
    assert scrape.gauge("ascolto_care_requests_overdue", "brand") == overdue
    assert scrape.gauge("ascolto_care_sla_share_ratio", "brand") == pytest.approx(
        {b: share for b, (_, _, share) in care.items() if share is not None}, rel=1e-12
    )
    # dedup-v1's flags, refreshed with the care gauges: every kind of the closed set, as the view counts them.
    assert scrape.gauge("ascolto_events_flagged", "kind") == {k: float(n) for k, n in flagged.items()}
    assert set(flagged) == {"cross_post", "coordinated"} and flagged["cross_post"] > 0
    # Rich enough to mean something: the outage was detected and is over (its gauge reads 0),
    # and care has requests, misses and hits for at least two own brands.
    assert any(b == "nuvola" and not is_open for b, _, is_open in episodes), episodes
    assert set(care) <= set(own) and len(care) >= 2, care
    assert all(requests > 0 and missed > 0 and 0 < share < 1 for requests, missed, share in care.values()), care
