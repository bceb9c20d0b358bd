"""The real ``ascolto`` entry point: user mistakes end in one clear line, the demo works."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.io.broker import free_port

pytestmark = pytest.mark.integration


def ascolto(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ASCOLTO_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=timeout, env=full_env)


@pytest.mark.parametrize(
    "args, message",
    [
        (["run"], "no Kafka broker given: pass --bootstrap-servers"),
        (["run", "--bootstrap-servers", "localhost"], "is not HOST:PORT"),
        (["run", "--bootstrap-servers", "127.0.0.1:9", "--window-seconds", "7"], "must be positive and divide a day"),
        (["run", "--bootstrap-servers", "127.0.0.1:9", "--window-seconds", "300,720"], "720 is not a multiple of 300; nest the sizes"),
        (
            ["run", "--bootstrap-servers", "127.0.0.1:9", "--dedup-retention-seconds", "60"],
            "must be at least the largest window + allowed lateness",
        ),
        (["run", "--bootstrap-servers", "127.0.0.1:9", "--runner", "FlinkRunner"], "--runner FlinkRunner"),
        (
            ["run", "--bootstrap-servers", "127.0.0.1:9", "--warehouse", "postgresql://ascolto@127.0.0.1:9/none"],
            "cannot connect to the PostgreSQL warehouse",
        ),
        (["run", "--bootstrap-servers", "127.0.0.1:9", "--metrics-port", "0"], "no Kafka broker answers at 127.0.0.1:9"),
        (["produce", "--bootstrap-servers", "127.0.0.1:9", "--events", "0"], "--events must be at least 1"),
        (["produce"], "no Kafka broker given"),
        (["summary", "--warehouse", "/nonexistent/w.duckdb"], "no warehouse at /nonexistent/w.duckdb"),
    ],
)
def test_user_mistakes_end_with_one_line_and_exit_code_2(args, message, tmp_path):
    done = ascolto(*args, "--warehouse", str(tmp_path / "w.duckdb")) if args[0] == "run" and "--warehouse" not in args else ascolto(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_unknown_flag_is_refused_by_the_parser_with_usage():
    done = ascolto("run", "--windw-seconds", "60")
    assert done.returncode == 2 and "unrecognized arguments: --windw-seconds" in done.stderr and "Traceback" not in done.stderr


def test_environment_supplies_deployment_settings():
    done = ascolto("run", env={"ASCOLTO_BOOTSTRAP_SERVERS": "127.0.0.1:9", "ASCOLTO_METRICS_PORT": "0"})
    assert done.returncode == 2 and "no Kafka broker answers at 127.0.0.1:9" in done.stderr


def test_demo_runs_the_whole_path_and_prints_the_summary(tmp_path):
    warehouse = tmp_path / "demo.duckdb"
    done = ascolto("demo", "--events", "3000", "--warehouse", str(warehouse), "--metrics-port", str(free_port()), timeout=300)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in (
        "Nuvola Hosting",
        "share of voice",
        "Pipeline accounting",
        "Dead letters by reason",
        str(warehouse.resolve()),
        "/metrics",
    ):
        assert expected in out, expected
    summary = ascolto("summary", "--warehouse", str(warehouse))
    assert summary.returncode == 0 and "Nuvola Hosting" in summary.stdout
