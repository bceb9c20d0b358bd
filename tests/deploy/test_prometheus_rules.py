"""The Prometheus config, rules and dashboards agree with promtool and with the metrics the
pipeline exports.

- promtool accepts the config and the rules, and the rules pass their unit tests
  (deploy/prometheus/tests). promtool comes from Debian's `prometheus` package; these tests
  fail, not skip, without it, because CI installs it.
- Every metric name that a rule or a dashboard panel reads is declared in
  pipelines.io.metrics.PipelineMetrics (or is Prometheus's own `up`).
- Every alert carries severity, summary, description and runbook, and has a firing and a
  non-firing case in the promtool tests.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.io.metrics import PipelineMetrics

# Sibling helper module: pytest puts this directory (no __init__.py) on sys.path.
from promql_names import (  # isort: skip
    PromQLSyntaxError,
    exported_series_names,
    iter_panels,
    referenced_names,
    resolve_names,
    unknown_names,
)

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "rules" / "ascolto.rules.yml"
RULE_TESTS = PROMETHEUS_DIR / "tests" / "ascolto.rules.test.yml"
DASHBOARDS = sorted((REPO / "deploy" / "grafana" / "dashboards").glob("*.json"))
README = REPO / "README.md"

SEVERITIES = {"critical", "warning"}


# --- helpers ----------------------------------------------------------------------------


def _promtool() -> str:
    """promtool's path; a test failure (not a skip) without it: CI installs it."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not on PATH. Install it (Debian/Ubuntu: `apt-get install -y prometheus`; "
            "or a release binary from https://prometheus.io/download/) and run again: the "
            "alert rules are only tested through it.",
            pytrace=False,
        )
    return path


def _run(*args: str) -> None:
    proc = subprocess.run([_promtool(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"`promtool {' '.join(args)}` failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"


def _rule_groups() -> list[dict]:
    return yaml.safe_load(RULES.read_text())["groups"]


def _rules() -> list[dict]:
    return [rule for group in _rule_groups() for rule in group["rules"]]


def _alerts() -> list[dict]:
    return [rule for rule in _rules() if "alert" in rule]


def _recording_rules() -> dict[str, str]:
    return {rule["record"]: rule["expr"] for rule in _rules() if "record" in rule}


def _dashboard_exprs() -> list:
    """One pytest.param(where, expr) per Prometheus query of every dashboard panel."""
    found = []
    for path in DASHBOARDS:
        for panel in iter_panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                if "expr" in target:
                    where = f"{path.name}: {panel.get('title')} {target.get('refId')}"
                    found.append(pytest.param(where, target["expr"], id=where))
    return found


@pytest.fixture(scope="module")
def exported() -> set[str]:
    return exported_series_names(PipelineMetrics().registry)


# --- promtool ----------------------------------------------------------------------------


def test_prometheus_config_is_valid():
    _run("check", "config", str(CONFIG.relative_to(REPO)))


def test_rules_are_valid():
    _run("check", "rules", str(RULES.relative_to(REPO)))


def test_rules_pass_their_promtool_unit_tests():
    _run("test", "rules", str(RULE_TESTS.relative_to(REPO)))


def test_config_loads_the_rules_file():
    config = yaml.safe_load(CONFIG.read_text())
    assert [(CONFIG.parent / f).resolve() for f in config["rule_files"]] == [RULES.resolve()]
    assert "ascolto" in {job["job_name"] for job in config["scrape_configs"]}


# --- metric names ------------------------------------------------------------------------


def test_pipeline_exports_the_series_names_the_checker_expects(exported):
    # Guards the checker itself: counters as _total, histograms as _bucket/_sum/_count.
    assert "ascolto_events_consumed_total" in exported
    assert "ascolto_events_consumed" not in exported
    assert {
        "ascolto_batch_duration_seconds_bucket",
        "ascolto_batch_duration_seconds_sum",
        "ascolto_batch_duration_seconds_count",
    } <= exported
    assert "ascolto_consumer_lag_records" in exported


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.get("alert") or r.get("record"))
def test_rule_reads_only_exported_metrics(rule, exported):
    unknown = unknown_names(rule["expr"], exported, _recording_rules())
    assert not unknown, (
        f"{rule.get('alert') or rule.get('record')} reads {unknown}, which pipelines/io/metrics.py "
        f"does not export (and no recording rule defines)"
    )


@pytest.mark.parametrize(("where", "expr"), _dashboard_exprs())
def test_dashboard_query_reads_only_exported_metrics(where, expr, exported):
    unknown = unknown_names(expr, exported, _recording_rules())
    assert not unknown, f"{where} reads {unknown}, which neither the pipeline nor a recording rule exports"


def test_dashboards_have_queries_to_check():
    assert DASHBOARDS, "no dashboard JSON under deploy/grafana/dashboards"
    assert len(_dashboard_exprs()) >= 10


def test_checker_reports_a_misspelt_metric_name(exported):
    expr = 'sum(rate(ascolto_events_consumd_total{job="ascolto"}[5m])) / sum(rate(ascolto_events_consumed_total[5m]))'
    assert unknown_names(expr, exported, {}) == ["ascolto_events_consumd_total"]


def test_checker_reports_an_unknown_name_behind_a_recording_rule(exported):
    rules = {"ascolto:made_up:rate5m": "sum(rate(ascolto_made_up_total[5m]))"}
    assert unknown_names("ascolto:made_up:rate5m > 0", exported, rules) == ["ascolto_made_up_total"]
    assert unknown_names("ascolto:undefined:rate5m > 0", exported, rules) == ["ascolto:undefined:rate5m"]


def test_checker_reports_a_counter_queried_without_total(exported):
    assert unknown_names("rate(ascolto_dead_letters[5m])", exported, {}) == ["ascolto_dead_letters"]


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        # functions, aggregations with grouping before or after, label names in by/on lists
        ("sum by (job, reason) (rate(a_total[5m]))", {"a_total"}),
        ("sum(rate(a_total[5m])) without (instance)", {"a_total"}),
        ("a / ignoring (reason) group_left (kind) b", {"a", "b"}),
        ("(time() - a > 600) and on (job, instance) (sum by (job, instance) (b) > 0)", {"a", "b"}),
        ("SUM(a) BY (b) AND c unless d or e", {"a", "c", "d", "e"}),
        # label matchers, strings, __name__ matchers
        ('a{job="x", reason=~"b|c", kind!="d"}', {"a"}),
        ('{__name__="a", job="x"}', {"a"}),
        ('label_replace(up, "dst", "$1", "instance", "(not_a_metric):.*")', {"up"}),
        # ranges, subqueries, modifiers, numbers, comments
        ("max_over_time(deriv(a[15m])[1h:1m]) offset 5m", {"a"}),
        ("rate(a[5m] @ start()) > bool 1e3", {"a"}),
        ("a > -Inf # b is only in a comment", {"a"}),
        ("histogram_quantile(0.95, sum by (le) (rate(a_bucket[$__rate_interval])))", {"a_bucket"}),
        ("rate(a[${interval}]) * on (job) group_left b", {"a", "b"}),
        ('topk(5, a) / count_values("v", b)', {"a", "b"}),
        ("level:a:rate5m", {"level:a:rate5m"}),
    ],
)
def test_checker_finds_metric_names(expr, names):
    assert referenced_names(expr) == names


def test_checker_resolves_recording_rules_recursively():
    rules = {"l:b:sum": "sum(l:a:rate5m)", "l:a:rate5m": "rate(a_total[5m]) + on () group_left c"}
    assert resolve_names("l:b:sum > 1", rules) == {"a_total", "c"}


@pytest.mark.parametrize("expr", ["sum(a", "a)", 'a{job="x"', "a[5m", "a ~ b"])
def test_checker_refuses_what_it_cannot_read(expr):
    with pytest.raises(PromQLSyntaxError):
        referenced_names(expr)


# --- alert hygiene -----------------------------------------------------------------------


def _severities(label: str) -> set[str]:
    """What a severity label can expand to: itself, or the literal branches of a template such
    as ``{{ if ge $value 10.0 }}critical{{ else }}warning{{ end }}`` (the promtool cases check
    which branch is taken)."""
    return {text.strip() for text in re.split(r"\{\{.*?\}\}", label) if text.strip()}


@pytest.mark.parametrize(
    ("label", "expanded"),
    [
        ("warning", {"warning"}),
        ("{{ if ge $value 10.0 }}critical{{ else }}warning{{ end }}", {"critical", "warning"}),
        ("{{ if ge $value 10.0 }}page{{ else }}warning{{ end }}", {"page", "warning"}),
        ("{{ $labels.severity }}", set()),
    ],
)
def test_severity_templates_expand_to_their_literal_branches(label, expanded):
    assert _severities(label) == expanded


@pytest.mark.parametrize("alert", _alerts(), ids=lambda r: r["alert"])
def test_alert_has_severity_summary_description_and_runbook(alert):
    name = alert["alert"]
    severities = _severities(str(alert.get("labels", {}).get("severity", "")))
    assert severities and severities <= SEVERITIES, f"{name}: severity must be one of {SEVERITIES} (or a template choosing among them)"
    annotations = alert.get("annotations", {})
    assert annotations.get("summary", "").strip(), f"{name}: no summary"
    assert annotations.get("description", "").strip(), f"{name}: no description"
    assert annotations.get("runbook") == f"README.md#alert-{name.lower()}", f"{name}: runbook anchor"


def test_every_alert_has_a_firing_and_a_quiet_promtool_case():
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test.get("alert_rule_test", [])]
    for alert in _alerts():
        name = alert["alert"]
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"{name}: no promtool case where it fires"
        assert any(not case.get("exp_alerts") for case in mine), f"{name}: no promtool case where it stays quiet"


def test_every_recording_rule_has_a_promtool_case():
    tested = set().union(
        *(
            referenced_names(case["expr"])
            for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
            for case in test.get("promql_expr_test", [])
        )
    )
    untested = sorted(set(_recording_rules()) - tested)
    assert not untested, f"recording rules without a promql_expr_test: {untested}"


def test_alert_and_record_names_are_unique():
    names = [rule.get("alert") or rule["record"] for rule in _rules()]
    assert len(names) == len(set(names))


def _github_anchor(heading: str) -> str:
    anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return anchor.replace(" ", "-")


def test_runbook_anchors_exist_in_readme():
    assert README.exists(), "README.md is missing: its 'Alert: <AlertName>' headings are the runbooks"
    anchors = {_github_anchor(line.lstrip("#")) for line in README.read_text().splitlines() if line.startswith("#")}
    missing = [a["annotations"]["runbook"] for a in _alerts() if a["annotations"]["runbook"].partition("#")[2] not in anchors]
    assert not missing, f"README.md has no heading for {missing} (add '### Alert: <AlertName>' sections)"
