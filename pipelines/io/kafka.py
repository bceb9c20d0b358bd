"""Kafka in and out with kafka-python: publishing, reading offset ranges, committing offsets.

Offsets are ours: auto-commit is off and the authoritative offsets live in the warehouse,
committed with the results. Offsets are also committed to the consumer group after each
warehouse commit, only so that the usual lag tools see them.

Lag is computed from ``consumer.highwater()`` after a fetch: Tansu's ``end_offsets()``
under-reports (see ARCHITECTURE.md).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipelines.model import KafkaRecord, ReadRange, RecordChunk


class KafkaUnavailable(RuntimeError):
    """The brokers cannot be reached or the topic does not exist."""


KAFKA_CLIENTS = ("kafka-python", "confluent")


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    client_id: str = "ascolto"
    request_timeout_ms: int = 30_000
    client: str = "kafka-python"  # reader library: kafka-python (default) or confluent (librdkafka, optional)

    def check_reachable(self, timeout_s: float = 3.0) -> None:
        """Fails fast with a clear message (kafka-python itself waits 30 s to say it cannot bootstrap)."""
        for hp in self.bootstrap_servers.split(","):
            host, _, port = hp.rpartition(":")
            try:
                socket.create_connection((host, int(port)), timeout=timeout_s).close()
                return
            except (OSError, ValueError):
                continue
        raise KafkaUnavailable(f"no Kafka broker answers at {self.bootstrap_servers}: start one or fix --bootstrap-servers")

    def consumer(self, group_id: str | None = None) -> KafkaConsumer:
        self.check_reachable()
        try:
            return KafkaConsumer(
                bootstrap_servers=self.bootstrap_servers.split(","),
                client_id=self.client_id,
                group_id=group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=50_000,
                fetch_max_bytes=64 * 1024 * 1024,
                max_partition_fetch_bytes=16 * 1024 * 1024,
                fetch_max_wait_ms=100,
                request_timeout_ms=self.request_timeout_ms,
            )
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot connect to Kafka at {self.bootstrap_servers}: {exc}") from None

    def producer(self) -> KafkaProducer:
        self.check_reachable()
        try:
            return KafkaProducer(
                bootstrap_servers=self.bootstrap_servers.split(","),
                client_id=self.client_id,
                acks="all",
                linger_ms=20,
                batch_size=256 * 1024,
                max_request_size=8 * 1024 * 1024,
            )
        except KafkaError as exc:
            raise KafkaUnavailable(f"cannot connect to Kafka at {self.bootstrap_servers}: {exc}") from None


def topic_partitions(consumer: KafkaConsumer, topic: str, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while True:
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        if time.monotonic() > deadline:
            raise KafkaUnavailable(f"topic {topic!r} does not exist on {consumer.config['bootstrap_servers']}: create it or check --topic")
        time.sleep(0.1)


def publish(
    settings: KafkaSettings,
    topic: str,
    records: Iterable[tuple[bytes | None, bytes | None]],
    rate_per_s: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
    want_metadata: bool = False,
) -> list[tuple[int, int]]:
    """Publishes (key, value) pairs in order; ``rate_per_s`` > 0 paces them.

    Returns (partition, offset) per record when ``want_metadata`` is set (tests use it to
    know where each record landed), otherwise an empty list.
    """
    producer = settings.producer()
    futures = []
    started = time.monotonic()
    n = 0
    try:
        for key, value in records:
            fut = producer.send(topic, key=key, value=value)
            if want_metadata:
                futures.append(fut)
            n += 1
            if n % 1000 == 0:
                if on_progress:
                    on_progress(1000)
                if rate_per_s > 0:
                    ahead = n / rate_per_s - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)
        producer.flush()
        if on_progress and n % 1000:
            on_progress(n % 1000)
        return [(f.get().partition, f.get().offset) for f in futures]
    except KafkaError as exc:
        raise KafkaUnavailable(f"publishing to {topic!r} failed: {exc}") from None
    finally:
        producer.close()


def read_offset_ranges(
    consumer: KafkaConsumer,
    topic: str,
    ranges: dict[int, tuple[int, int]],
    chunk_records: int = 2000,
    idle_timeout_ms: int = 300,
) -> Iterator[RecordChunk | ReadRange]:
    """Reads ``[start, limit)`` of each partition, stopping early where the log ends.

    Yields ``RecordChunk`` elements (records of one partition in offset order), then one
    ``ReadRange`` per partition with what was really read and the high watermark seen.
    """
    tps = {p: TopicPartition(topic, p) for p in ranges}
    consumer.assign(list(tps.values()))
    consumer.resume(*tps.values())  # a reused consumer keeps the pauses of its previous read
    position = {}
    for p, (start, _limit) in ranges.items():
        consumer.seek(tps[p], start)
        position[p] = start
    pending = {p for p, (start, limit) in ranges.items() if start < limit}
    buffers: dict[int, list[KafkaRecord]] = {p: [] for p in ranges}
    empty_polls = 0
    while pending:
        polled = consumer.poll(timeout_ms=idle_timeout_ms, max_records=50_000)
        got = 0
        for tp, batch in polled.items():
            p = tp.partition
            if p not in pending:
                continue
            limit = ranges[p][1]
            buf = buffers[p]
            for r in batch:
                if r.offset < position[p]:
                    continue
                if r.offset >= limit:
                    break
                buf.append(KafkaRecord(topic, p, r.offset, r.timestamp, r.key, r.value))
                position[p] = r.offset + 1
                got += 1
                if len(buf) >= chunk_records:
                    yield RecordChunk(topic, p, buf)
                    buf = buffers[p] = []
        for p in list(pending):
            hw = consumer.highwater(tps[p])
            if position[p] >= ranges[p][1] or (hw is not None and position[p] >= hw):
                pending.discard(p)
                consumer.pause(tps[p])
        empty_polls = empty_polls + 1 if got == 0 else 0
        if empty_polls >= 2:
            break  # nothing more arrives: the rest of the range is not written yet
    for p, buf in buffers.items():
        if buf:
            yield RecordChunk(topic, p, buf)
    for p, (start, _limit) in ranges.items():
        hw = consumer.highwater(tps[p])
        yield ReadRange(topic, p, start, position[p], hw if hw is not None else position[p])


class RangeReader:
    """Reads offset ranges with the configured client; one per DoFn instance (kept across bundles)."""

    def __init__(self, settings: KafkaSettings):
        self.settings = settings
        if settings.client == "confluent":
            settings.check_reachable()
            try:
                from confluent_kafka import Consumer
            except ImportError:
                raise KafkaUnavailable("--kafka-client confluent needs the confluent-kafka package: pip install 'ascolto[fast]'") from None
            self._consumer = Consumer(
                {
                    "bootstrap.servers": settings.bootstrap_servers,
                    "client.id": settings.client_id,
                    "group.id": f"{settings.client_id}-reader",  # never used to commit: offsets live in the warehouse
                    "enable.auto.commit": False,
                    "enable.auto.offset.store": False,
                    "enable.partition.eof": True,
                    "fetch.wait.max.ms": 50,
                }
            )
        else:
            self._consumer = settings.consumer()

    def read(self, topic: str, ranges: dict[int, tuple[int, int]], chunk_records: int) -> Iterator[RecordChunk | ReadRange]:
        if self.settings.client == "confluent":
            return read_offset_ranges_rdkafka(self._consumer, topic, ranges, chunk_records)
        return read_offset_ranges(self._consumer, topic, ranges, chunk_records)

    def close(self) -> None:
        self._consumer.close()


def read_offset_ranges_rdkafka(
    consumer, topic: str, ranges: dict[int, tuple[int, int]], chunk_records: int = 2000, idle_timeout_s: float = 0.3
) -> Iterator[RecordChunk | ReadRange]:
    """``read_offset_ranges`` with confluent-kafka (librdkafka): same contract, about 4x faster here."""
    from confluent_kafka import KafkaError as RdKafkaError
    from confluent_kafka import TopicPartition as RdTopicPartition

    consumer.assign([RdTopicPartition(topic, p, start) for p, (start, _limit) in ranges.items()])
    position = {p: start for p, (start, _limit) in ranges.items()}
    highwater: dict[int, int] = {}
    pending = {p for p, (start, limit) in ranges.items() if start < limit}
    buffers: dict[int, list[KafkaRecord]] = {p: [] for p in ranges}
    empty_polls = 0
    try:
        while pending:
            msgs = consumer.consume(num_messages=10_000, timeout=idle_timeout_s)
            got = 0
            for m in msgs:
                p = m.partition()
                err = m.error()
                if err is not None:
                    if err.code() == RdKafkaError._PARTITION_EOF:
                        highwater[p] = m.offset()
                        pending.discard(p)
                        continue
                    raise KafkaUnavailable(f"reading {topic}[{p}] failed: {err}")
                if p not in pending:
                    continue
                off = m.offset()
                if off < position[p]:
                    continue
                if off >= ranges[p][1]:
                    pending.discard(p)
                    continue
                buf = buffers[p]
                buf.append(KafkaRecord(topic, p, off, m.timestamp()[1], m.key(), m.value()))
                position[p] = off + 1
                got += 1
                if position[p] >= ranges[p][1]:
                    pending.discard(p)
                if len(buf) >= chunk_records:
                    yield RecordChunk(topic, p, buf)
                    buffers[p] = []
            empty_polls = empty_polls + 1 if got == 0 else 0
            if empty_polls >= 2 and not msgs:
                break
    finally:
        consumer.unassign()
    for p, buf in buffers.items():
        if buf:
            yield RecordChunk(topic, p, buf)
    for p, (start, _limit) in ranges.items():
        hw = highwater.get(p)
        if hw is None:
            _lo, hw = consumer.get_watermark_offsets(RdTopicPartition(topic, p), cached=True)
        yield ReadRange(topic, p, start, position[p], max(hw, position[p]) if hw is not None and hw >= 0 else position[p])


def probe_new_records(
    consumer: KafkaConsumer, topic: str, next_offsets: dict[int, int], timeout_ms: int = 300
) -> tuple[bool, dict[int, int]]:
    """Is anything past ``next_offsets``? A cheap fetch (no pipeline), and the lag it saw per partition.

    Needed because Tansu's ``end_offsets()`` under-reports (ARCHITECTURE.md): only a fetch tells.
    """
    tps = {p: TopicPartition(topic, p) for p in next_offsets}
    consumer.assign(list(tps.values()))
    for p, offset in next_offsets.items():
        consumer.seek(tps[p], offset)
    got = consumer.poll(timeout_ms=timeout_ms, max_records=1)
    lag = {}
    for p, offset in next_offsets.items():
        hw = consumer.highwater(tps[p])
        lag[p] = max(0, hw - offset) if hw is not None else 0
    return any(got.values()) or any(lag.values()), lag


def commit_group_offsets(consumer: KafkaConsumer, topic: str, next_offsets: dict[int, int]) -> None:
    """Mirrors the warehouse's committed offsets into the consumer group, for lag tools."""
    consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1) for p, o in next_offsets.items()})
