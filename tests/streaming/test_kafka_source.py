"""The splittable Kafka reader against the real embedded broker, called the way a runner calls
it: one restriction per partition, claimed record by record, a checkpoint (deferred remainder)
after every chunk, the watermark estimator at the partition's max valid event time."""

from __future__ import annotations

import pytest
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.io.watermark_estimators import ManualWatermarkEstimator
from apache_beam.runners.sdf_utils import RestrictionTrackerView, ThreadsafeRestrictionTracker
from apache_beam.utils.timestamp import Timestamp

from pipelines.generator import GeneratorConfig
from pipelines.io.kafka import KafkaSettings
from pipelines.registry import RegistrySpec
from pipelines.streaming.source import END_OF_TIME_OFFSET, KafkaPartition, ListPartitionsFn, PartitionRestrictionProvider, ReadPartitionFn
from pipelines.transforms.decode import DecodeError, decode_record
from pipelines.wire import EventCodec

pytestmark = pytest.mark.integration


def _read_until_idle(fn: ReadPartitionFn, element: KafkaPartition, watermark: ManualWatermarkEstimator):
    """Resumes the restriction after every checkpoint, as a runner does, until the log ends."""
    restriction = PartitionRestrictionProvider().initial_restriction(element)
    chunks, stamps = [], []
    while True:
        tracker = ThreadsafeRestrictionTracker(OffsetRestrictionTracker(restriction))
        out = list(fn.process(element, tracker=RestrictionTrackerView(tracker), watermark=watermark))
        residual, delay = tracker.deferred_status()
        chunks += [tv.value for tv in out]
        stamps += [tv.timestamp for tv in out]
        restriction = residual
        if not out:
            return chunks, stamps, restriction, delay


def test_each_partition_is_read_in_offset_order_with_its_event_time_watermark(publish_stream, broker):
    stream = publish_stream(GeneratorConfig(seed=3, events=1_500), partitions=2)
    settings = KafkaSettings(broker.bootstrap_servers)
    partitions = list(ListPartitionsFn(settings, stream.topic, "ascolto-test").process(b""))
    assert partitions == [KafkaPartition(stream.topic, 0, 0), KafkaPartition(stream.topic, 1, 0)]
    codec = EventCodec(RegistrySpec().open())
    fn = ReadPartitionFn(settings, RegistrySpec(), 1 << 20, chunk_records=400)
    fn.setup()
    try:
        for element in partitions:
            watermark = ManualWatermarkEstimator(None)
            chunks, stamps, rest, delay = _read_until_idle(fn, element, watermark)
            assert stamps == sorted(stamps)  # each chunk at the running max before it: never behind the watermark
            offsets = [r.offset for c in chunks for r in c.records]
            published = sorted(o for p, o in stream.coordinates if p == element.partition)
            assert offsets == published and max(len(c.records) for c in chunks) == 400
            # the rest of the log is still this restriction's, resumed after about a second of idleness (the delay counts from the deferral)
            assert rest == OffsetRange(published[-1] + 1, END_OF_TIME_OFFSET) and 0.5 < delay.micros / 1e6 <= 1.0
            times = []
            for c in chunks:
                for r in c.records:
                    try:
                        times.append(decode_record(codec, r)["event_time"])
                    except DecodeError:
                        pass  # dead letters and impossible event times never move the watermark
            assert watermark.current_watermark() == Timestamp(micros=max(times) * 1000)
    finally:
        fn.teardown()
