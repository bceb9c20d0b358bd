"""deploy/compose/docker-compose.yml agrees with the code and the other deploy files.

Docker is not run here (CI machines have none): the compose file is parsed with PyYAML and
checked against what would otherwise only fail at `docker compose up`:
- every image is pinned to a tag (never `latest`), the Dockerfile's base image too;
- every host path mounted exists in the repository, every named volume is declared;
- the commands of the services built from our Dockerfile parse with the real CLI parser
  (pipelines.cli.build_parser), and their ASCOLTO_* variables are ones pipelines/config.py
  reads, giving a configuration that validates;
- Prometheus scrapes the pipeline service on its metrics port, the pipeline reaches Kafka
  on an advertised listener, and Grafana's provisioned datasources name the compose services.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from pipelines import __version__, cli
from pipelines.config import env_defaults

REPO = Path(__file__).resolve().parents[2]
COMPOSE_DIR = REPO / "deploy" / "compose"
COMPOSE = COMPOSE_DIR / "docker-compose.yml"
DOCKERFILE = COMPOSE_DIR / "Dockerfile"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = REPO / "deploy" / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "datasources.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"

# name[:tag][@digest]; the tag is required here.
IMAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._/-]*(?::\d+/[a-z0-9._/-]+)?)(?::(?P<tag>\w[\w.-]{0,127}))?(?:@sha256:[0-9a-f]{64})?$")
# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whether written as a mapping or a list."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _defaulted(value: str) -> str:
    """``value`` with ${VAR:-default} replaced by its default, as compose does with VAR unset."""
    return INTERPOLATION.sub(lambda m: m["arg"] if m["op"] in (":-", "-") else "", value)


def _command(service: dict) -> list[str]:
    command = service.get("command")
    return shlex.split(command) if isinstance(command, str) else list(command or [])


def _is_ascolto(service: dict) -> bool:
    """Built from our Dockerfile: its entrypoint is the `ascolto` command."""
    build = service.get("build")
    if not build:
        return False
    context = COMPOSE_DIR / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return (context / dockerfile).resolve() == DOCKERFILE.resolve()


def _ascolto_services() -> dict[str, dict]:
    return {name: s for name, s in _services().items() if _is_ascolto(s)}


def _ascolto_params():
    return [pytest.param(name, id=name) for name in _ascolto_services()]


def _pipeline_service() -> tuple[str, dict]:
    """The service that runs the pipeline (`ascolto run`)."""
    (found,) = [(name, s) for name, s in _ascolto_services().items() if _command(s)[:1] == ["run"]]
    return found


def _mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of each volume entry, short or long syntax."""
    out = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            out.append((source, rest.partition(":")[0]))
        else:
            out.append((volume.get("source", ""), volume["target"]))
    return out


def _is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def _parse(argv: list[str]):
    """The real CLI parser's reading of ``argv``; a test failure instead of argparse's exit."""
    try:
        return cli.build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"`ascolto {' '.join(argv)}` is refused by the CLI parser (exit {exc.code}); see its usage above", pytrace=False)


@pytest.fixture
def clean_env(monkeypatch):
    """No ASCOLTO_* from the machine running the tests; returns a function that sets some."""
    import os

    for key in [k for k in os.environ if k.startswith("ASCOLTO_")]:
        monkeypatch.delenv(key)

    def _set(env: dict[str, str]) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)

    return _set


# --- images ------------------------------------------------------------------------------


def test_compose_runs_the_whole_stack():
    services = _services()
    images = {name: s.get("image", "") for name, s in services.items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert images["postgres"].startswith("postgres:")
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")
    assert _pipeline_service()[0] == "ascolto"


@pytest.mark.parametrize("name", list(_services()))
def test_every_image_is_pinned_to_a_tag(name):
    service = _services()[name]
    image = service.get("image")
    # A service that is only built gets `<project>-<service>:latest`: name and tag it.
    assert image, f"{name}: no image (a built service needs `image: name:tag` too)"
    assert not INTERPOLATION.search(image), f"{name}: image {image!r} depends on the environment"
    m = IMAGE.match(image)
    assert m and m["tag"], f"{name}: image {image!r} has no tag"
    assert m["tag"] != "latest", f"{name}: image {image!r} is not pinned"


def test_dockerfile_base_image_is_pinned():
    bases = re.findall(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", DOCKERFILE.read_text(), re.M)
    assert bases, "no FROM in the Dockerfile"
    for base in bases:
        m = IMAGE.match(base)
        assert m and m["tag"] and m["tag"] != "latest", f"Dockerfile: base image {base!r} is not pinned to a tag"
    assert bases[-1].startswith("python:3.11"), "the image runs on Python 3.11 (setup.py: python_requires, ruff: target py311)"


def test_dockerfile_installs_the_package_and_runs_the_cli():
    text = DOCKERFILE.read_text()
    assert re.search(r"^RUN\s+pip install \.", text, re.M), "install the package with `pip install .`"
    assert re.search(r'^ENTRYPOINT \["ascolto"\]', text, re.M), "the entrypoint is the `ascolto` console script"
    (cmd,) = re.findall(r"^CMD (\[.*\])", text, re.M)
    _parse(yaml.safe_load(cmd))


def test_pipeline_image_is_tagged_with_the_package_version():
    for name, service in _ascolto_services().items():
        assert service["image"] == f"ascolto:{__version__}", f"{name}: tag the image with pipelines.__version__"


# --- mounts and references ---------------------------------------------------------------


@pytest.mark.parametrize("name", list(_services()))
def test_every_mounted_host_path_exists_in_the_repository(name):
    service = _services()[name]
    declared = set(_compose().get("volumes") or {})
    for source, target in _mounts(service):
        if _is_bind(source):
            path = (COMPOSE_DIR / source).resolve()
            assert path.is_relative_to(REPO), f"{name}: {source} is outside the repository"
            assert path.exists(), f"{name}: mounts {source} ({path}), which does not exist"
        else:
            assert source in declared, f"{name}: named volume {source!r} (at {target}) is not declared under `volumes:`"
    build = service.get("build")
    if isinstance(build, dict):
        context = (COMPOSE_DIR / build.get("context", ".")).resolve()
        assert context.is_dir(), f"{name}: build context {context} does not exist"
        assert (context / build.get("dockerfile", "Dockerfile")).is_file(), f"{name}: no Dockerfile at {build.get('dockerfile')}"


def test_depends_on_names_existing_services():
    services = _services()
    for name, service in services.items():
        deps = service.get("depends_on") or []
        for dep in deps if isinstance(deps, list) else list(deps):
            assert dep in services, f"{name} depends on {dep!r}, which is not a service"


def test_grafana_mounts_the_provisioning_and_dashboards():
    mounts = {target: (COMPOSE_DIR / source).resolve() for source, target in _mounts(_services()["grafana"]) if _is_bind(source)}
    assert mounts.get("/etc/grafana/provisioning") == (GRAFANA / "provisioning").resolve()
    (provider_path,) = [p["options"]["path"] for p in yaml.safe_load(PROVIDERS.read_text())["providers"]]
    assert mounts.get(provider_path) == (GRAFANA / "dashboards").resolve(), f"mount deploy/grafana/dashboards at {provider_path}"


def test_grafana_gets_the_variables_its_provisioning_reads():
    env = _environment(_services()["grafana"])

    def strings(node):
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [node] if isinstance(node, str) else []

    # Grafana expands $VAR and ${VAR} in the provisioning file's values from its environment.
    wanted = {m for value in strings(yaml.safe_load(DATASOURCES.read_text())) for m in re.findall(r"\$\{?([A-Z][A-Z0-9_]*)\}?", value)}
    assert wanted and wanted <= set(env), f"grafana's environment lacks {sorted(wanted - set(env))}"
    # The warehouse password Grafana uses is the one PostgreSQL is started with.
    postgres = _environment(_services()["postgres"])
    assert _defaulted(postgres["POSTGRES_PASSWORD"]) == _defaulted(env["ASCOLTO_WAREHOUSE_PASSWORD"])


def test_prometheus_reads_the_mounted_config_and_rules():
    service = _services()["prometheus"]
    (config_flag,) = [arg for arg in _command(service) if arg.startswith("--config.file=")]
    config_path = Path(config_flag.partition("=")[2])
    mounts = {Path(target): (COMPOSE_DIR / source).resolve() for source, target in _mounts(service) if _is_bind(source)}
    assert config_path.parent in mounts, f"nothing is mounted at {config_path.parent}"
    assert mounts[config_path.parent] / config_path.name == PROMETHEUS_CONFIG.resolve()


def test_grafana_datasources_name_the_compose_services():
    services = _services()
    datasources = {ds["type"]: ds for ds in yaml.safe_load(DATASOURCES.read_text())["datasources"]}
    prometheus = re.fullmatch(r"https?://([\w-]+):(\d+)", datasources["prometheus"]["url"])
    assert prometheus and prometheus[1] in services, datasources["prometheus"]["url"]
    assert prometheus[1] == "prometheus" and prometheus[2] == "9090"  # Prometheus' own port
    postgres_host, _, postgres_port = datasources["postgres"]["url"].partition(":")
    assert postgres_host in services and postgres_port == "5432"
    env = _environment(services[postgres_host])
    assert env["POSTGRES_USER"] == datasources["postgres"]["user"]
    assert env["POSTGRES_DB"] == datasources["postgres"]["jsonData"]["database"]


# --- the ascolto services against the CLI and its configuration -----------------------------


@pytest.mark.parametrize("name", _ascolto_params())
def test_ascolto_command_is_accepted_by_the_cli(name):
    command = _command(_ascolto_services()[name])
    assert command, f"{name}: give the command explicitly (run, produce...)"
    args = _parse(command)
    assert args.command in ("run", "produce"), f"{name}: `ascolto {args.command}` is not a service"


@pytest.mark.parametrize("name", _ascolto_params())
def test_ascolto_environment_is_read_by_the_configuration(name, clean_env, monkeypatch):
    env = _environment(_ascolto_services()[name])
    assert env, f"{name}: no environment"
    for key, value in env.items():
        assert key.startswith("ASCOLTO_"), f"{name}: {key} is not an Ascolto setting (ASCOLTO_*)"
        monkeypatch.setenv(key, value)
        assert env_defaults(), f"{name}: pipelines/config.py does not read {key}"
        monkeypatch.delenv(key)


def test_dockerfile_environment_is_read_by_the_configuration(clean_env, monkeypatch):
    names = re.findall(r"\b(ASCOLTO_\w+)=", DOCKERFILE.read_text())
    assert names
    for key in names:
        monkeypatch.setenv(key, "9464" if key.endswith("PORT") else "0.0.0.0")
        assert env_defaults(), f"Dockerfile: pipelines/config.py does not read {key}"
        monkeypatch.delenv(key)


def test_pipeline_service_configuration_validates_and_is_reachable(clean_env):
    name, service = _pipeline_service()
    clean_env(_environment(service))
    job = cli.job_config(_parse(_command(service)))  # validates, like `ascolto run` does
    assert job.metrics_port > 0, "the pipeline must serve /metrics for Prometheus"
    assert job.metrics_addr == "0.0.0.0", "bind /metrics on every address: Prometheus scrapes from another container"
    assert job.warehouse.startswith("/data/")
    assert any(target == "/data" and not _is_bind(source) for source, target in _mounts(service)), "keep the warehouse on a volume"


def test_prometheus_scrapes_the_pipeline_service_on_its_metrics_port(clean_env):
    name, service = _pipeline_service()
    clean_env(_environment(service))
    job = cli.job_config(_parse(_command(service)))
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    (scrape,) = [s for s in config["scrape_configs"] if s["job_name"] == "ascolto"]
    targets = [t for static in scrape["static_configs"] for t in static["targets"]]
    assert targets == [f"{name}:{job.metrics_port}"]


@pytest.mark.parametrize("name", _ascolto_params())
def test_ascolto_services_reach_kafka_on_an_advertised_listener(name):
    services = _services()
    servers = _environment(services[name])["ASCOLTO_BOOTSTRAP_SERVERS"]
    advertised = _environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"]
    for server in servers.split(","):
        host, _, port = server.rpartition(":")
        assert host in services, f"{name}: {host} is not a compose service"
        assert re.search(rf"://{re.escape(host)}:{port}\b", advertised), f"{name}: Kafka does not advertise {server}"


def test_kafka_is_a_single_kraft_node():
    env = _environment(_services()["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in env)
    for key in ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[key] == "1", f"{key} must be 1 on a single node"


def test_demo_producer_runs_only_under_the_demo_profile():
    producers = {name: s for name, s in _ascolto_services().items() if _command(s)[:1] == ["produce"]}
    assert producers, "no `ascolto produce` service"
    for name, service in producers.items():
        assert service.get("profiles") == ["demo"], f"{name}: put the producer under the `demo` profile"
    assert not _pipeline_service()[1].get("profiles"), "the pipeline runs without a profile"
