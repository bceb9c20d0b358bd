"""Shared fixtures: the real embedded broker, one topic per test, seeded streams."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import pytest

from pipelines.generator import GeneratedRecord, GeneratorConfig, generate_stream
from pipelines.io.broker import EmbeddedBroker, create_topics
from pipelines.io.kafka import KafkaSettings, publish

logging.getLogger("kafka").setLevel(logging.CRITICAL)
_topic_ids = itertools.count(1)


@pytest.fixture(scope="session")
def broker():
    with EmbeddedBroker() as b:
        yield b


@dataclass
class PublishedStream:
    topic: str
    partitions: int
    records: list[GeneratedRecord]
    coordinates: list[tuple[int, int]]  # (partition, offset) of each record, in publish order


@pytest.fixture
def publish_stream(broker):
    """Publishes a seeded generated stream to a fresh topic; returns what landed where."""

    def _publish(config: GeneratorConfig, partitions: int = 3) -> PublishedStream:
        topic = f"events.t{next(_topic_ids)}"
        create_topics(broker.bootstrap_servers, {topic: partitions})
        records = list(generate_stream(config))
        coords = publish(KafkaSettings(broker.bootstrap_servers), topic, [(r.key, r.value) for r in records], want_metadata=True)
        return PublishedStream(topic, partitions, records, coords)

    return _publish


def _pg_bin(name: str) -> str:
    import glob
    import shutil as _shutil

    found = _shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"PostgreSQL's {name} is missing: run 'make system-deps' (Debian package postgresql) or set PG_DSN")
    return found


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server: PG_DSN when set, else a throwaway cluster run as the postgres user."""
    import os
    import shutil as _shutil
    import subprocess

    from pipelines.io.broker import free_port

    if os.environ.get("PG_DSN"):
        yield os.environ["PG_DSN"]
        return
    import tempfile
    from pathlib import Path

    root = Path(tempfile.mkdtemp(prefix="ascolto-pg-"))  # not under pytest's tmp: the postgres user must reach it
    data = root / "data"
    data.mkdir()
    _shutil.chown(root, "postgres")
    _shutil.chown(data, "postgres")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*run_as, _pg_bin("initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"], check=True, capture_output=True)
    port = free_port()
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"], check=True, capture_output=True
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        _shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_server):
    """A fresh database on the server, per test."""
    import psycopg

    name = f"ascolto_t{next(_topic_ids)}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    return pg_server.rsplit("/", 1)[0] + f"/{name}"
