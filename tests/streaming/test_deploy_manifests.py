"""deploy/flink and deploy/dataflow agree with the code: every manifest parses, every image is
pinned, and the entry points and options they name are ones the CLI really accepts. Neither
Kubernetes, Docker nor gcloud runs here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from pipelines import cli
from pipelines.streaming.runners import beam_args_from

REPO = Path(__file__).resolve().parents[2]
FLINK, DATAFLOW = REPO / "deploy" / "flink", REPO / "deploy" / "dataflow"
PINNED = re.compile(r"^[\w./-]+(:\d[\w.-]*|:[\w.-]*\d[\w.-]*)$")  # a tag with a version in it, never latest


def _images(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "image" and isinstance(v, str)] + [i for v in node.values() for i in _images(v)]
    if isinstance(node, list):
        return [i for v in node for i in _images(v)]
    return []


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def test_every_manifest_parses_and_pins_its_images():
    manifests = sorted(FLINK.glob("*.yaml"))
    assert {m.name for m in manifests} == {"flink-deployment.yaml", "submit-job.yaml", "analytics-sidecar.yaml"}
    images = [i for m in manifests for d in _docs(m) for i in _images(d)]
    assert len(images) >= 3
    for image in images:
        assert PINNED.match(image) and not image.endswith(":latest"), image
    for dockerfile in (FLINK / "Dockerfile", DATAFLOW / "Dockerfile"):
        (base,) = re.findall(r"^FROM (\S+)", dockerfile.read_text(), re.M)
        assert PINNED.match(base), base


def test_flink_versions_agree_across_the_operator_the_image_and_the_job_server():
    (deployment,) = _docs(FLINK / "flink-deployment.yaml")
    spec = deployment["spec"]
    assert deployment["kind"] == "FlinkDeployment" and spec["flinkVersion"] == "v1_19" and spec["image"].startswith("flink:1.19.")
    conf = spec["flinkConfiguration"]
    assert conf["execution.checkpointing.interval"] and conf["state.checkpoints.dir"] and int(conf["parallelism.default"]) > 1
    slots = int(conf["taskmanager.numberOfTaskSlots"]) * spec["taskManager"]["replicas"]
    assert slots == int(conf["parallelism.default"])
    (pool,) = spec["taskManager"]["podTemplate"]["spec"]["containers"]
    assert pool["args"] == ["--worker_pool"] and pool["ports"][0]["containerPort"] == 50000
    dockerfile = (FLINK / "Dockerfile").read_text()
    assert "apache/beam_python3.11_sdk:2.77.0" in dockerfile and "beam-runners-flink-1.19-job-server-2.77.0.jar" in dockerfile
    assert "apache-beam==2.77.0" in (REPO / "setup.py").read_text()
    tag = re.search(r"-t (ascolto-flink:\S+)", dockerfile).group(1)
    assert pool["image"] == tag


def test_the_submit_job_runs_a_command_the_cli_accepts():
    (job,) = _docs(FLINK / "submit-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["ascolto"]
    assert "ascolto=pipelines.cli:main" in (REPO / "setup.py").read_text()
    args = cli.build_parser().parse_args(container["args"])
    assert args.command == "run" and args.runner == "FlinkRunner"
    beam = dict(a.removeprefix("--").split("=", 1) for a in beam_args_from(args))
    assert beam["environment_type"] == "EXTERNAL" and beam["environment_config"] == "localhost:50000"
    assert beam["flink_job_server_jar"] in (FLINK / "Dockerfile").read_text()
    (deployment,) = _docs(FLINK / "flink-deployment.yaml")
    assert int(beam["parallelism"]) == int(deployment["spec"]["flinkConfiguration"]["parallelism.default"])
    assert beam["flink_master"] == f"{deployment['metadata']['name']}-rest:8081"  # the operator's REST service
    env = {e["name"] for e in container["env"]}
    assert env == {"ASCOLTO_BOOTSTRAP_SERVERS", "ASCOLTO_WAREHOUSE"}


def test_the_flex_template_parameters_are_run_options_and_its_entry_point_exists():
    metadata = json.loads((DATAFLOW / "metadata.json").read_text())
    assert metadata["streaming"] is True
    parser = cli.build_parser()
    for param in metadata["parameters"]:
        args = parser.parse_args(["run", f"--{param['name']}=1"])  # refused with SystemExit if the CLI has no such option
        assert args.command == "run"
    dockerfile = (DATAFLOW / "Dockerfile").read_text()
    py_file = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=/template/(\S+)", dockerfile).group(1)
    assert (REPO / py_file).exists() and "from pipelines.cli import main" in (REPO / py_file).read_text()
    assert "apache-beam[gcp]==2.77.0" in dockerfile
    launch = DATAFLOW / "launch.sh"
    assert subprocess.run(["bash", "-n", str(launch)], capture_output=True).returncode == 0
    assert "metadata.json" in launch.read_text() and "flex-template run" in launch.read_text()


def _sidecar_container(path: Path) -> dict:
    docs = _docs(path)
    (container,) = docs[0]["spec"]["template"]["spec"]["containers"]
    return container


def test_the_analytics_sidecars_run_a_command_the_cli_accepts_on_the_metrics_port_they_expose():
    """Flink (a Deployment next to the cluster) and Dataflow (a Cloud Run service): one instance,
    ``ascolto analytics --follow`` against the job's warehouse, /metrics on the port they expose."""
    from pipelines.analytics import follow

    parser = cli.build_parser()
    for path in (FLINK / "analytics-sidecar.yaml", DATAFLOW / "analytics-sidecar.yaml"):
        container = _sidecar_container(path)
        assert container["command"] == ["ascolto"]
        args = parser.parse_args(container["args"])
        assert args.command == "analytics" and args.follow and args.handler is follow.run and args.metrics_addr == "0.0.0.0"
        assert container["ports"][0]["containerPort"] == args.metrics_port
        assert {e["name"] for e in container["env"]} == {"ASCOLTO_WAREHOUSE"}
    flink = _docs(FLINK / "analytics-sidecar.yaml")
    deployment, service = flink
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    assert _sidecar_container(FLINK / "analytics-sidecar.yaml")["image"] == re.search(
        r"-t (ascolto-flink:\S+)", (FLINK / "Dockerfile").read_text()
    ).group(1)
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    (run,) = _docs(DATAFLOW / "analytics-sidecar.yaml")
    scale = run["spec"]["template"]["metadata"]["annotations"]
    assert scale["autoscaling.knative.dev/minScale"] == scale["autoscaling.knative.dev/maxScale"] == "1"
    assert scale["run.googleapis.com/cpu-throttling"] == "false"  # passes run between requests
    launch = (DATAFLOW / "launch.sh").read_text()
    image = _sidecar_container(DATAFLOW / "analytics-sidecar.yaml")["image"]
    version = re.search(r"^VERSION=(\S+)", launch, re.M).group(1)
    assert f"image: {image}".replace(version, "${VERSION}") in launch  # the placeholder launch.sh replaces
    assert "gcloud run services replace" in launch and "analytics-sidecar.yaml" in launch
