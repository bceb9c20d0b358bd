"""A seeded stream with a crisis, run once through the real pipeline into each warehouse.

The stream (seed 5, 3,500 events at 9 per minute: 6 h 29 min of event time) has what real
streams have (duplicates, cross-posts, out-of-order and late events, malformed records, care
replies) and the generator's crisis: from 66% of the way in, 8 minutes at three times the rate,
70% of it about Nuvola and 85% of that complaints. Warm-up arithmetic: the burst starts 4 h 17
min after the first event, past the detector's 1 h window + 3 h minimum baseline.

The pipeline runs in this process through the real CLI entry point (``ascolto run``), once into
a DuckDB file and once into a database on the PostgreSQL server of ``tests/conftest.py``; the
tests only read what it produced.
"""

from __future__ import annotations

import itertools
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.io.broker import create_topics
from pipelines.io.kafka import KafkaSettings, publish
from tests.analytics.expected import Event, accepted_events
from tests.conftest import PublishedStream

CONFIG = GeneratorConfig(seed=5, events=3500, events_per_minute=9)
WINDOW_S, LATENESS_S = (60, 3600), 300
_ids = itertools.count(1)


def burst_start_ms(config: GeneratorConfig) -> int:
    """Where the generator puts the crisis (pipelines/generator/stream.py, written again here)."""
    return config.start_ms + int(config.events * (60_000.0 / config.events_per_minute) * 0.66)


@dataclass
class Produced:
    stream: PublishedStream
    location: str  # DuckDB file or PostgreSQL DSN


def _run_pipeline(broker, stream: PublishedStream, location: str) -> None:
    from pipelines.cli import main

    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        rc = main(
            [
                "run",
                "--bootstrap-servers",
                broker.bootstrap_servers,
                "--topic",
                stream.topic,
                "--warehouse",
                location,
                "--metrics-port",
                "0",
                "--max-batch-records",
                "1500",
                "--chunk-records",
                "500",
                "--window-seconds",
                ",".join(map(str, WINDOW_S)),
                "--allowed-lateness-seconds",
                str(LATENESS_S),
                "--no-dead-letter-topic",
                "--stop-when-idle",
            ]
        )
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert rc == 0


@pytest.fixture(scope="session")
def crisis_stream(broker) -> PublishedStream:
    topic = f"analytics.t{next(_ids)}"
    create_topics(broker.bootstrap_servers, {topic: 3})
    records = list(generate_stream(CONFIG))
    coords = publish(KafkaSettings(broker.bootstrap_servers), topic, [(r.key, r.value) for r in records], want_metadata=True)
    return PublishedStream(topic, 3, records, coords)


@pytest.fixture(scope="session")
def duckdb_produced(broker, crisis_stream, tmp_path_factory) -> Produced:
    path = str(Path(tmp_path_factory.mktemp("analytics")) / "w.duckdb")
    _run_pipeline(broker, crisis_stream, path)
    return Produced(crisis_stream, path)


@pytest.fixture(scope="session")
def postgres_produced(broker, crisis_stream, pg_server) -> Produced:
    import psycopg

    name = f"ascolto_analytics{next(_ids)}"
    with psycopg.connect(pg_server, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name}")
        con.execute(f"CREATE DATABASE {name}")
    dsn = pg_server.rsplit("/", 1)[0] + f"/{name}"
    _run_pipeline(broker, crisis_stream, dsn)
    return Produced(crisis_stream, dsn)


@pytest.fixture(scope="session", params=["duckdb", "postgres"])
def produced(request) -> Produced:
    return request.getfixturevalue(f"{request.param}_produced")


def fetch(location: str, sql: str) -> list[tuple]:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as con:
            return con.execute(sql).fetchall()
    import duckdb

    con = duckdb.connect(location, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def ms(t: datetime) -> int:
    return int(t.replace(tzinfo=UTC).timestamp() * 1000)


def r9(v) -> float | None:
    return None if v is None else round(float(v), 9)


@pytest.fixture(scope="session")
def events_by_location():
    cache: dict[str, list[Event]] = {}

    def get(produced) -> list[Event]:
        if produced.location not in cache:
            labels = {
                r[0]: r[1:]
                for r in fetch(
                    produced.location, "SELECT event_id, sentiment, sentiment_score, intent, aspects, is_offensive, lang FROM fact_events"
                )
            }
            cache[produced.location] = accepted_events(produced.stream, labels, WINDOW_S, LATENESS_S)
        return cache[produced.location]

    return get
