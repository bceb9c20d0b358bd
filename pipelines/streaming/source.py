"""The unbounded Kafka read: a splittable DoFn over kafka-python, or Beam's Java ReadFromKafka.

``ReadKafkaUnbounded`` (``reader="sdf"``, the default, no Java needed):

    Impulse -> ListPartitions (at run time: no I/O while the graph is built)
            -> ReadPartitions: splittable DoFn, one restriction per partition,
               OffsetRange(start, 2**63-1) claimed record by record (checkpointable between
               records: the runner stores the remaining range with the job's checkpoint)

Each output is a ``RecordChunk`` (up to ``chunk_records`` records of one partition, offset
order) timestamped at the partition's running maximum event time before it. The watermark estimator
(``ManualWatermarkEstimator``, its state checkpointed with the restriction) is set to that
maximum: per partition exactly the embedded driver's watermark (max event time decoded so far,
invalid and undecodable records ignored), so Beam's watermark, the minimum over partitions, is
the driver's global watermark. An idle partition holds the watermark back, as in the driver.

``reader="java"``: Beam's cross-language ``ReadFromKafka`` (needs a Java expansion service:
``--expansion_service HOST:PORT``, or Java on the submitting machine). Records become one-record
chunks; the watermark follows Kafka's CreateTime (``create_time_policy``), not event time:
lateness is still classified from the log, only the moment windows become final differs.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import MIN_TIMESTAMP, Duration, Timestamp

from pipelines.io.kafka import KafkaSettings, topic_partitions
from pipelines.model import KafkaRecord, RecordChunk
from pipelines.registry import RegistrySpec
from pipelines.transforms.decode import decode_record
from pipelines.wire import DecodeError, EventCodec

END_OF_TIME_OFFSET = 2**63 - 1
POLL_TIMEOUT_MS = 500
IDLE_RESUME_SECONDS = 1.0


class KafkaPartition(NamedTuple):
    topic: str
    partition: int
    start_offset: int


class PartitionRestrictionProvider(RestrictionProvider):
    def initial_restriction(self, element: KafkaPartition) -> OffsetRange:
        return OffsetRange(element.start_offset, END_OF_TIME_OFFSET)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element, restriction: OffsetRange) -> int:
        return 1  # unknown backlog; one unit of work per partition

    def truncate(self, element, restriction):
        return None  # on drain: stop reading, what was read is processed


class ListPartitionsFn(beam.DoFn):
    """The topic's partitions, starting where the consumer group left off (else the earliest)."""

    def __init__(self, settings: KafkaSettings, topic: str, group_id: str):
        self._settings = settings
        self._topic = topic
        self._group_id = group_id

    def process(self, _impulse):
        from kafka import TopicPartition

        consumer = self._settings.consumer(group_id=self._group_id)
        try:
            for p in topic_partitions(consumer, self._topic):
                committed = consumer.committed(TopicPartition(self._topic, p))
                yield KafkaPartition(self._topic, p, committed or 0)
        finally:
            consumer.close()


def max_event_time_ms(codec: EventCodec, records: list[KafkaRecord]) -> int | None:
    """The largest valid event time among the records (what the lateness stage will see)."""
    best = None
    for r in records:
        try:
            t = decode_record(codec, r)["event_time"]
        except DecodeError:
            continue
        if best is None or t > best:
            best = t
    return best


class ReadPartitionFn(beam.DoFn):
    def __init__(self, settings: KafkaSettings, registry: RegistrySpec, max_value_bytes: int, chunk_records: int):
        self._settings = settings
        self._registry = registry
        self._max_value_bytes = max_value_bytes
        self._chunk_records = chunk_records
        self._consumer = None
        self._codec: EventCodec | None = None

    def setup(self):
        self._consumer = self._settings.consumer()
        self._codec = EventCodec(self._registry.open(), max_value_bytes=self._max_value_bytes)

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: KafkaPartition,
        tracker=beam.DoFn.RestrictionParam(PartitionRestrictionProvider()),
        watermark=beam.DoFn.WatermarkEstimatorParam(ManualWatermarkEstimator.default_provider()),
    ):
        from kafka import TopicPartition

        tp = TopicPartition(element.topic, element.partition)
        start = tracker.current_restriction().start
        self._consumer.assign([tp])
        self._consumer.seek(tp, start)
        polled = self._consumer.poll(timeout_ms=POLL_TIMEOUT_MS, max_records=self._chunk_records).get(tp, [])
        chunk: list[KafkaRecord] = []
        for r in polled:
            if r.offset < start:
                continue
            if not tracker.try_claim(r.offset):
                break  # the runner split or checkpointed: the rest is another restriction's
            chunk.append(KafkaRecord(element.topic, element.partition, r.offset, r.timestamp, r.key, r.value))
        if chunk:
            current = watermark.current_watermark()
            t = max_event_time_ms(self._codec, chunk)
            ts = current if t is None or (current is not None and Timestamp(micros=t * 1000) <= current) else Timestamp(micros=t * 1000)
            if ts is not None and ts > MIN_TIMESTAMP:
                watermark.set_watermark(ts)
            # stamped at the watermark before the chunk: an event of it that is on time holds the
            # downstream watermark below every timer its arrival can still affect (care timers)
            yield beam.window.TimestampedValue(RecordChunk(element.topic, element.partition, chunk), current or MIN_TIMESTAMP)
            tracker.defer_remainder()
        else:
            tracker.defer_remainder(Duration(seconds=IDLE_RESUME_SECONDS))

    def teardown(self):
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None


def _java_record_to_chunk(r) -> RecordChunk:
    return RecordChunk(r.topic, r.partition, [KafkaRecord(r.topic, r.partition, r.offset, r.timestamp, r.key, r.value)])


class ReadKafkaUnbounded(beam.PTransform):
    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group_id: str,
        registry: RegistrySpec,
        max_value_bytes: int,
        chunk_records: int,
        reader: str = "sdf",
        expansion_service: str | None = None,
    ):
        super().__init__()
        self._settings = settings
        self._topic = topic
        self._group_id = group_id
        self._registry = registry
        self._max_value_bytes = max_value_bytes
        self._chunk_records = chunk_records
        self._reader = reader
        self._expansion_service = expansion_service

    def expand(self, pbegin):
        if self._reader == "java":
            from apache_beam.io.kafka import ReadFromKafka

            return (
                pbegin
                | "ReadFromKafka"
                >> ReadFromKafka(
                    consumer_config={
                        "bootstrap.servers": self._settings.bootstrap_servers,
                        "group.id": self._group_id,
                        "auto.offset.reset": "earliest",
                    },
                    topics=[self._topic],
                    with_metadata=True,
                    timestamp_policy=ReadFromKafka.create_time_policy,
                    commit_offset_in_finalize=True,
                    expansion_service=self._expansion_service,
                )
                | "ToRecordChunks" >> beam.Map(_java_record_to_chunk)
            )
        return (
            pbegin
            | "Impulse" >> beam.Impulse()
            | "ListPartitions" >> beam.ParDo(ListPartitionsFn(self._settings, self._topic, self._group_id))
            | "SpreadPartitions" >> beam.Reshuffle()
            | "ReadPartitions" >> beam.ParDo(ReadPartitionFn(self._settings, self._registry, self._max_value_bytes, self._chunk_records))
        )
