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
