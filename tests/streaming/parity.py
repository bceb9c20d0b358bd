"""Helpers of the parity test: run the embedded driver over a topic, recording its batch
boundaries, and turn those boundaries into a TestStream of the same records."""

from __future__ import annotations

from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.testing.test_stream import TestStream
from apache_beam.utils.timestamp import Timestamp

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.driver import EmbeddedDriver, RunTotals
from pipelines.io.kafka import KafkaSettings, RangeReader
from pipelines.io.metrics import PipelineMetrics
from pipelines.io.warehouse import DuckDBWarehouse
from pipelines.model import RecordChunk


@dataclass
class Boundary:
    """One committed micro-batch: the offsets it covered and the global watermark after it."""

    ranges: dict[int, tuple[int, int]]  # partition -> [start, end)
    watermark_ms: int | None  # min over partitions of their max event time; None until all have one


@dataclass
class DriverRun:
    totals: RunTotals
    metrics: PipelineMetrics
    boundaries: list[Boundary] = field(default_factory=list)


def run_driver(job: JobConfig, catalog: Catalog) -> DriverRun:
    warehouse = DuckDBWarehouse(job.warehouse)
    metrics = PipelineMetrics()
    driver = EmbeddedDriver(job, catalog, warehouse, metrics)
    boundaries: list[Boundary] = []
    position = {p: 0 for p in driver.partitions}

    def on_batch(report) -> None:
        if not report.consumed:
            return
        state = warehouse.source_state(job.topic)
        ranges = {p: (position[p], state[p].next_offset) for p in driver.partitions if p in state}
        position.update({p: end for p, (_start, end) in ranges.items()})
        boundaries.append(Boundary(ranges, report.watermark_ms))

    try:
        totals = driver.run(stop_when_idle=True, on_batch=on_batch)
    finally:
        driver.close()
        warehouse.close()
    return DriverRun(totals, metrics, boundaries)


def mirrored_test_stream(bootstrap_servers: str, topic: str, boundaries: list[Boundary], chunk_records: int) -> TestStream:
    """The driver's batches as TestStream steps: each batch's records (read again from Kafka,
    the same offsets), then the watermark advanced to the driver's global watermark after that
    batch. Element timestamps are the watermark before the batch (never behind it)."""
    stream = TestStream(coder=PickleCoder())
    reader = RangeReader(KafkaSettings(bootstrap_servers))
    current: int | None = None
    try:
        for b in boundaries:
            at = Timestamp(micros=current * 1000) if current is not None else Timestamp(0)
            chunks = [c for c in reader.read(topic, b.ranges, chunk_records) if isinstance(c, RecordChunk)]
            stream.add_elements([beam.window.TimestampedValue(c, at) for c in chunks])
            if b.watermark_ms is not None and (current is None or b.watermark_ms > current):
                # Driver: window final  <=>  window_end + L <= watermark. Beam: the finalizer's
                # timer at window_end - 1 us + L fires once the watermark passes it, i.e. at
                # watermark >= window_end + L: the same windows become final after this step.
                stream.advance_watermark_to(Timestamp(micros=b.watermark_ms * 1000))
                current = b.watermark_ms
    finally:
        reader.close()
    return stream
