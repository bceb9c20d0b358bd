"""``ascolto run`` picks the embedded driver or the streaming job from ``--runner`` and refuses,
in one ``ascolto: error: ...`` line naming the option to fix, what cannot work: no Flink
cluster, no Dataflow client, missing options, the DirectRunner. The commands of README
"Scaling out" are run here verbatim (no cluster answers on these machines)."""

from __future__ import annotations

import http.server
import json
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.io.broker import free_port

REPO = Path(__file__).resolve().parents[2]
PG = "postgresql://ascolto@127.0.0.1:9/ascolto"


def ascolto(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=120, cwd=REPO)


def readme_commands() -> list[list[str]]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Scaling out\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [shlex.split(line) for b in blocks for line in b.splitlines() if line.startswith("ascolto run")]


def in_process(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same entry point without a new interpreter (Beam's import costs seconds)."""
    code = cli.main(list(args))
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("ascolto: error: ")
    return done.stderr


@pytest.mark.parametrize(
    "args, names",
    [
        (["--runner", "FlinkRunner"], "--flink_master"),
        (["--runner", "FlinkRunner", "--flink_master", "localhost"], "--flink_master 'localhost' is not HOST:PORT"),
        (["--runner", "DataflowRunner", "--region", "europe-west1", "--temp_location", "gs://b/t"], "--project"),
        (["--runner", "DataflowRunner", "--project", "p", "--region", "r", "--temp_location", "/tmp/x"], "--temp_location"),
        (["--runner", "DataflowRunner", "--project", "p", "--region", "r", "--temp_location", "gs://b/t"], "--setup_file"),
        (["--runner", "PortableRunner"], "--job_endpoint"),
        (["--runner", "DirectRunner"], "--runner DirectRunner"),
        (["--runner", "SparkRunner"], "--runner SparkRunner"),
        (["--flink_master", "localhost:8081"], "--flink_master is an option of the streaming runners"),
        (["--streaming"], "--streaming needs a streaming runner"),
        (["--runner", "PortableRunner", "--job_endpoint", "127.0.0.1:9", "--kafka_reader", "scala"], "--kafka_reader"),
    ],
)
def test_runner_mistakes_end_with_one_line_naming_the_option(args, names, capsys):
    assert names in one_line_error(in_process(capsys, "run", "--bootstrap-servers", "127.0.0.1:9", "--warehouse", PG, *args))


def test_flink_runner_without_a_cluster_names_flink_master():
    port = free_port()  # nothing listens there
    err = one_line_error(
        ascolto("run", "--runner", "FlinkRunner", "--flink_master", f"127.0.0.1:{port}", "--bootstrap-servers", "127.0.0.1:9")
    )
    assert f"--flink_master 127.0.0.1:{port}: no Flink JobManager answers" in err and "Connection refused" in err


class _FlinkOverview(http.server.BaseHTTPRequestHandler):
    """Answers like a Flink JobManager's REST endpoint (GET /v1/overview), nothing else."""

    def do_GET(self):
        body = json.dumps({"taskmanagers": 2, "slots-total": 6, "flink-version": "1.19.1"}).encode()
        self.send_response(200 if self.path == "/v1/overview" else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_answering_flink_master_passes_and_the_next_requirement_is_named(capsys):
    server = http.server.HTTPServer(("127.0.0.1", 0), _FlinkOverview)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        master = f"127.0.0.1:{server.server_address[1]}"
        err = one_line_error(
            in_process(
                capsys,
                "run",
                "--runner",
                "FlinkRunner",
                "--flink_master",
                master,
                "--bootstrap-servers",
                "127.0.0.1:9",
                "--warehouse",
                "w.duckdb",
            )
        )
    finally:
        server.shutdown()
    assert "--flink_master" not in err
    # no Java on these machines: Beam's Flink job server is named; with Java, the DuckDB warehouse would be
    assert "Java" in err or "--warehouse w.duckdb" in err


def test_a_misspelt_beam_option_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "--runner", "FlinkRunner", "--flink-master", "localhost:8081"])
    assert exit_.value.code == 2 and "unrecognized arguments: --flink-master" in capsys.readouterr().err


def test_readme_scaling_out_commands_parse_and_fail_here_on_the_missing_cluster(capsys):
    commands = readme_commands()
    runners = [c[c.index("--runner") + 1] for c in commands]
    assert runners == ["FlinkRunner", "DataflowRunner"]
    parser = cli.build_parser()
    for command in commands:
        args = parser.parse_args(command[1:])
        assert args.command == "run" and args.warehouse.startswith("postgresql://")
        err = one_line_error(ascolto(*command[1:]) if args.runner == "FlinkRunner" else in_process(capsys, *command[1:]))
        # no cluster, cloud project or Google client here: each stops at its first missing piece
        assert (
            ("--flink_master ascolto-flink-rest:8081" in err)
            if args.runner == "FlinkRunner"
            else ("apache-beam[gcp]" in err or "dataflow.googleapis.com" in err)
        )
