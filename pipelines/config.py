"""Job configuration: one frozen, validated object built at the edge (cli.py) and passed down.

Environment variables give deployment defaults (ASCOLTO_BOOTSTRAP_SERVERS, ASCOLTO_TOPIC,
ASCOLTO_WAREHOUSE, ASCOLTO_METRICS_PORT, ASCOLTO_METRICS_ADDR); flags override them. Validation happens before
anything starts and says what to change.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path

from pipelines.registry import RegistryAuth, RegistrySpec

DEFAULT_TOPIC = "social.events"
DEFAULT_WAREHOUSE = "var/ascolto.duckdb"
DEFAULT_METRICS_PORT = 9464
LOCAL_RUNNERS = ("FnApiRunner",)


class ConfigError(ValueError):
    """A flag or setting that cannot work; the message says what to do."""


@dataclass(frozen=True)
class JobConfig:
    bootstrap_servers: str
    topic: str = DEFAULT_TOPIC
    warehouse: str = DEFAULT_WAREHOUSE
    window_seconds: tuple[int, ...] = (60, 3600)  # every size is aggregated; ascending, nested (parse_window_sizes)
    allowed_lateness_seconds: int = 300
    dedup_retention_seconds: int = 24 * 3600
    max_batch_records: int = 100_000
    chunk_records: int = 2_000
    metrics_port: int = DEFAULT_METRICS_PORT  # 0: no endpoint
    metrics_addr: str = "127.0.0.1"  # 0.0.0.0 in a container
    group_id: str = "ascolto"
    idle_sleep_seconds: float = 1.0
    runner: str = "FnApiRunner"
    kafka_client: str = "kafka-python"  # or "confluent" (librdkafka; pip install 'ascolto[fast]')
    dead_letter_topic: str | None = None  # None: "<topic>.dlq"; "": no dead-letter topic (warehouse only)
    schema_registry: RegistrySpec = RegistrySpec()
    max_value_bytes: int = 1 << 20  # larger records are dead letters (too_large)
    workers: int = 1  # processes that run a micro-batch's partitions in parallel
    beam_args: tuple[str, ...] = ()  # Beam options of the streaming runners (--flink_master=..., --project=...)
    scorer: str | None = None  # text classifiers: None = the shipped models; see pipelines.nlp.scorer.load_scorer

    @property
    def smallest_window_seconds(self) -> int:
        """Lateness is judged against the smallest window (``transforms/lateness.py``)."""
        return self.window_seconds[0]

    @property
    def dlq_topic(self) -> str:
        return f"{self.topic}.dlq" if self.dead_letter_topic is None else self.dead_letter_topic

    def validate(self) -> JobConfig:
        if not self.bootstrap_servers:
            raise ConfigError("no Kafka broker given: pass --bootstrap-servers HOST:PORT or set ASCOLTO_BOOTSTRAP_SERVERS")
        for hp in self.bootstrap_servers.split(","):
            host, _, port = hp.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"--bootstrap-servers: {hp!r} is not HOST:PORT")
        if not self.topic:
            raise ConfigError("--topic must not be empty")
        if self.dlq_topic == self.topic:
            raise ConfigError("--dead-letter-topic must differ from --topic, or dead letters would be read again as input")
        check_window_sizes(self.window_seconds)
        if self.allowed_lateness_seconds < 0:
            raise ConfigError("--allowed-lateness-seconds must be 0 or more")
        largest = self.window_seconds[-1]
        if self.dedup_retention_seconds < largest + self.allowed_lateness_seconds:
            raise ConfigError(
                f"--dedup-retention-seconds {self.dedup_retention_seconds} must be at least the largest window + allowed lateness "
                f"({largest + self.allowed_lateness_seconds}), or an expired id could be counted twice"
            )
        if self.max_batch_records < 1:
            raise ConfigError("--max-batch-records must be at least 1")
        if not 1 <= self.chunk_records <= self.max_batch_records:
            raise ConfigError("--chunk-records must be between 1 and --max-batch-records")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"--metrics-port {self.metrics_port}: use 0 (no endpoint) or a port up to 65535")
        try:
            ipaddress.ip_address(self.metrics_addr)
        except ValueError:
            raise ConfigError(f"--metrics-addr {self.metrics_addr!r} is not an IP address (127.0.0.1, 0.0.0.0, ...)") from None
        try:
            self.schema_registry.validate()
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if not 1 <= self.workers <= (os.cpu_count() or 1) * 2:
            raise ConfigError(f"--workers {self.workers}: use 1 to {(os.cpu_count() or 1) * 2} (this machine has {os.cpu_count()} cores)")
        from pipelines.nlp.scorer import ScorerError, load_scorer
        from pipelines.transforms.enrich import check_scorer

        try:
            check_scorer(load_scorer(self.scorer))
        except ScorerError as exc:
            raise ConfigError(f"--scorer {self.scorer or 'default'}: {exc}") from None
        if self.max_value_bytes < 64:
            raise ConfigError("--max-value-bytes must be at least 64")
        if self.kafka_client not in ("kafka-python", "confluent"):
            raise ConfigError(f"--kafka-client {self.kafka_client!r}: use kafka-python (default) or confluent")
        if self.kafka_client == "confluent":
            try:
                import confluent_kafka  # noqa: F401
            except ImportError:
                raise ConfigError("--kafka-client confluent needs the confluent-kafka package: pip install 'ascolto[fast]'") from None
        from pipelines.streaming.runners import check_runner  # FnApiRunner: the driver; Flink, Dataflow: the streaming job

        check_runner(self.runner, self.beam_args, self.warehouse)
        if not self.warehouse.startswith(("postgresql://", "postgres://")):
            parent = Path(self.warehouse).expanduser().resolve().parent
            if parent.exists() and not os.access(parent, os.W_OK):
                raise ConfigError(f"--warehouse {self.warehouse}: directory {parent} is not writable")
        return self


MAX_WINDOW_SIZES = 4


def parse_window_sizes(text: str) -> tuple[int, ...]:
    """``--window-seconds 60,3600`` -> (60, 3600): sizes in seconds, ascending, checked."""
    try:
        sizes = tuple(sorted({int(part) for part in text.split(",") if part.strip()}))
    except ValueError:
        raise ConfigError(f"--window-seconds {text!r}: give window sizes in seconds separated by commas, e.g. 60,3600") from None
    return check_window_sizes(sizes, text)


def check_window_sizes(sizes: tuple[int, ...], text: str | None = None) -> tuple[int, ...]:
    """Each size positive and a divisor of a day, ascending, each a multiple of the smaller ones:
    then an event on time for the smallest window is on time for every window that contains it
    (its end is a later or equal multiple of the smallest size), which the lateness rule needs."""
    shown = text if text is not None else ",".join(map(str, sizes))
    if not sizes:
        raise ConfigError("--window-seconds: give at least one window size in seconds, e.g. 60,3600")
    if len(sizes) > MAX_WINDOW_SIZES:
        raise ConfigError(f"--window-seconds {shown}: at most {MAX_WINDOW_SIZES} window sizes (each adds rows to every batch)")
    if list(sizes) != sorted(set(sizes)):
        raise ConfigError(f"--window-seconds {shown}: list each size once, ascending, e.g. 60,3600")
    for s in sizes:
        if s <= 0 or 86400 % s:
            raise ConfigError(f"--window-seconds {shown}: {s} must be positive and divide a day (60, 300, 3600...)")
    for smaller, larger in zip(sizes, sizes[1:]):
        if larger % smaller:
            raise ConfigError(f"--window-seconds {shown}: {larger} is not a multiple of {smaller}; nest the sizes, e.g. 60,3600")
    return sizes


def registry_spec(
    location: str | None, user: str | None = None, ca_file: str | None = None, cert_file: str | None = None, key_file: str | None = None
) -> RegistrySpec:
    """The registry settings; the password only ever comes from ASCOLTO_SCHEMA_REGISTRY_PASSWORD."""
    password = os.environ.get("ASCOLTO_SCHEMA_REGISTRY_PASSWORD")
    return RegistrySpec(location or None, RegistryAuth(user, password, ca_file, cert_file, key_file))


def env_defaults() -> dict[str, object]:
    """Deployment settings from the environment (read once, at the edge)."""
    out: dict[str, object] = {}
    names = {f.name for f in fields(JobConfig)}
    for key, env in (
        ("bootstrap_servers", "ASCOLTO_BOOTSTRAP_SERVERS"),
        ("topic", "ASCOLTO_TOPIC"),
        ("warehouse", "ASCOLTO_WAREHOUSE"),
        ("metrics_port", "ASCOLTO_METRICS_PORT"),
        ("metrics_addr", "ASCOLTO_METRICS_ADDR"),
        ("scorer", "ASCOLTO_SCORER"),
    ):
        if key in names and os.environ.get(env):
            out[key] = os.environ[env]
    if os.environ.get("ASCOLTO_SCHEMA_REGISTRY"):
        out["schema_registry"] = os.environ["ASCOLTO_SCHEMA_REGISTRY"]
    if "metrics_port" in out:
        try:
            out["metrics_port"] = int(str(out["metrics_port"]))
        except ValueError:
            raise ConfigError(f"ASCOLTO_METRICS_PORT={out['metrics_port']!r} is not a port number") from None
    return out
