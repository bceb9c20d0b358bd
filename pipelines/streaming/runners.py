"""Runner selection for ``ascolto run``: the embedded driver, or the streaming job on a cluster.

``--runner FnApiRunner`` (the default) runs the embedded micro-batch driver. ``FlinkRunner``,
``DataflowRunner`` and ``PortableRunner`` submit the streaming pipeline (``graph.py``) with the
standard Beam options, which ``add_runner_arguments`` declares on the ``run`` command so that a
typo is refused by argparse instead of silently ignored. ``check_runner`` validates them before
anything starts, and checks that the cluster answers: one ``ascolto: error: ...`` line that
names the option to fix, never a traceback after a 30-second hang.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import urllib.error
import urllib.request

EMBEDDED_RUNNERS = ("FnApiRunner",)
STREAMING_RUNNERS = ("FlinkRunner", "DataflowRunner", "PortableRunner")
DATAFLOW_ENDPOINT = ("dataflow.googleapis.com", 443)
CHECK_TIMEOUT_S = 3.0

# Beam's own option names (dest == flag without the dashes), passed through unchanged.
BEAM_VALUE_OPTIONS = {
    "flink_master": "Flink JobManager REST address HOST:PORT (FlinkRunner)",
    "parallelism": "default parallelism of the Flink job; at most the topic's partitions are read in parallel",
    "checkpointing_interval": "Flink checkpoint interval in milliseconds (state, offsets and watermarks)",
    "flink_job_server_jar": "Beam's Flink job server jar, when it is not downloaded (FlinkRunner)",
    "job_endpoint": "Beam job service HOST:PORT (PortableRunner)",
    "environment_type": "SDK harness: DOCKER, PROCESS, EXTERNAL (a worker pool) or LOOPBACK",
    "environment_config": "SDK harness address or image, by environment type",
    "sdk_container_image": "worker image with ascolto installed (deploy/flink/Dockerfile)",
    "project": "Google Cloud project (DataflowRunner)",
    "region": "Google Cloud region, e.g. europe-west1 (DataflowRunner)",
    "temp_location": "gs:// path for temporary files (DataflowRunner)",
    "staging_location": "gs:// path for staged packages (DataflowRunner)",
    "setup_file": "setup.py that ships the ascolto package to the workers",
    "job_name": "name of the streaming job (stable across updates)",
    "max_num_workers": "upper bound of Dataflow autoscaling",
    "service_account_email": "worker service account (DataflowRunner)",
    "subnetwork": "worker subnetwork (DataflowRunner)",
}
ASCOLTO_STREAMING_OPTIONS = {
    "early_firing_seconds": ("processing time between early panes of an open window (default 30)", int),
    "dedup_key_buckets": ("keys of the dedup state (default 256)", int),
    "kafka_reader": ("sdf (kafka-python splittable DoFn, default) or java (Beam's ReadFromKafka)", str),
    "expansion_service": ("Java expansion service HOST:PORT for --kafka_reader java", str),
}


def add_runner_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("streaming runners (--runner FlinkRunner, DataflowRunner or PortableRunner; README 'Scaling out')")
    g.add_argument("--streaming", action="store_true", help="run in Beam's streaming mode (implied by the streaming runners)")
    for name, help_ in BEAM_VALUE_OPTIONS.items():
        g.add_argument(f"--{name}", help=help_)
    for name, (help_, type_) in ASCOLTO_STREAMING_OPTIONS.items():
        g.add_argument(f"--{name}", type=type_, help=help_)


def beam_args_from(args: argparse.Namespace) -> tuple[str, ...]:
    """The Beam and streaming options given on the command line, as Beam flags."""
    out = []
    for name in (*BEAM_VALUE_OPTIONS, *ASCOLTO_STREAMING_OPTIONS):
        v = getattr(args, name, None)
        if v is not None:
            out.append(f"--{name}={v}")
    if getattr(args, "streaming", False):
        out.append("--streaming")
    return tuple(out)


def _values(beam_args: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for a in beam_args:
        name, _, value = a.removeprefix("--").partition("=")
        out[name] = value if value else "true"
    return out


def is_streaming_runner(runner: str) -> bool:
    return runner in STREAMING_RUNNERS


def _error(message: str) -> Exception:
    from pipelines.config import ConfigError

    return ConfigError(message)


def _host_port(flag: str, value: str) -> tuple[str, int]:
    hp = value.removeprefix("http://").removeprefix("https://").rstrip("/")
    host, _, port = hp.rpartition(":")
    if not host or not port.isdigit():
        raise _error(f"--{flag} {value!r} is not HOST:PORT")
    return host, int(port)


def _tcp_reachable(host: str, port: int) -> str | None:
    """None when something listens there, else why not."""
    try:
        socket.create_connection((host, port), timeout=CHECK_TIMEOUT_S).close()
        return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def check_flink_master(value: str | None) -> None:
    if not value:
        raise _error("--runner FlinkRunner needs --flink_master HOST:PORT of the JobManager's REST endpoint (deploy/flink/)")
    host, port = _host_port("flink_master", value)
    url = f"http://{host}:{port}/v1/overview"
    try:
        with urllib.request.urlopen(url, timeout=CHECK_TIMEOUT_S) as r:
            overview = json.loads(r.read().decode() or "{}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        reason = getattr(reason, "strerror", None) or str(reason)
        raise _error(
            f"--flink_master {value}: no Flink JobManager answers at {url} ({reason}); start the cluster or fix --flink_master"
        ) from None
    except ValueError:
        raise _error(f"--flink_master {value}: {url} is not a Flink REST endpoint (no JSON overview); fix --flink_master") from None
    if "flink-version" not in overview:
        raise _error(f"--flink_master {value}: {url} is not a Flink REST endpoint (no flink-version); fix --flink_master")


def check_runner(runner: str, beam_args: tuple[str, ...], warehouse: str) -> None:
    """Refuses, with what to change, a runner and options that cannot work."""
    values = _values(beam_args)
    if runner in EMBEDDED_RUNNERS:
        given = sorted(set(values) - {"streaming"})
        if "streaming" in values:
            raise _error(
                f"--streaming needs a streaming runner: --runner {' or '.join(STREAMING_RUNNERS)} (FnApiRunner runs micro-batches)"
            )
        if given:
            raise _error(f"--{given[0]} is an option of the streaming runners; add --runner FlinkRunner, DataflowRunner or PortableRunner")
        return
    if runner == "DirectRunner":
        raise _error(
            "--runner DirectRunner cannot run the unbounded Kafka read (its watermark stays at -infinity, no window "
            "would ever close); use FnApiRunner here, or FlinkRunner/DataflowRunner on a cluster"
        )
    if runner not in STREAMING_RUNNERS:
        raise _error(f"--runner {runner}: use {', '.join(EMBEDDED_RUNNERS + STREAMING_RUNNERS)}")
    if values.get("kafka_reader", "sdf") not in ("sdf", "java"):
        raise _error(f"--kafka_reader {values['kafka_reader']!r}: use sdf or java")
    if runner == "FlinkRunner":
        check_flink_master(values.get("flink_master"))
        if not shutil.which("java") and not values.get("flink_job_server_jar"):
            raise _error(
                "--runner FlinkRunner submits through Beam's Flink job server, a Java program: install Java 11+ "
                "(deploy/flink/Dockerfile has it), or use --runner PortableRunner --job_endpoint HOST:PORT"
            )
    elif runner == "PortableRunner":
        if not values.get("job_endpoint"):
            raise _error("--runner PortableRunner needs --job_endpoint HOST:PORT of a Beam job service")
        why = _tcp_reachable(*_host_port("job_endpoint", values["job_endpoint"]))
        if why:
            raise _error(f"--job_endpoint {values['job_endpoint']}: no Beam job service answers ({why}); start it or fix --job_endpoint")
    elif runner == "DataflowRunner":
        for flag in ("project", "region", "temp_location"):
            if not values.get(flag):
                raise _error(f"--runner DataflowRunner needs --{flag} (README 'Scaling out')")
        if not values["temp_location"].startswith("gs://"):
            raise _error(f"--temp_location {values['temp_location']}: Dataflow needs a gs:// path")
        if not values.get("setup_file") and not values.get("sdk_container_image"):
            raise _error(
                "--runner DataflowRunner needs --setup_file ./setup.py or --sdk_container_image: the workers need the ascolto package"
            )
        try:
            import apitools  # noqa: F401 - what Beam's Dataflow client needs
        except ImportError:
            raise _error("--runner DataflowRunner needs Beam's Google Cloud client: pip install 'apache-beam[gcp]==2.77.0'") from None
        why = _tcp_reachable(*DATAFLOW_ENDPOINT)
        if why:
            raise _error(f"--runner DataflowRunner: {DATAFLOW_ENDPOINT[0]} is not reachable ({why}); check the network or --region")
    if not warehouse.startswith(("postgresql://", "postgres://")):
        raise _error(f"--warehouse {warehouse}: the workers of a {runner} job cannot share a DuckDB file; pass postgresql://...")
