"""ReadKafkaOffsetRanges: bounded reads of Kafka offset ranges.

Input: ``OffsetRangePlan`` elements (a topic and, per partition, ``[start, limit)``).
Outputs:
- ``chunks``: ``RecordChunk`` (up to ``chunk_records`` consecutive records of one partition);
- ``ranges``: one ``ReadRange`` per partition: what was really read (the reader stops early
  where the log ends) and the high watermark seen, for lag.
Nothing is filtered here: every record read goes downstream with its coordinates.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipelines.io.kafka import KafkaSettings, read_offset_ranges
from pipelines.model import ReadRange

RANGES = "ranges"


class OffsetRangePlan(NamedTuple):
    topic: str
    ranges: dict[int, tuple[int, int]]  # partition -> (start, limit)


class ReadResult(NamedTuple):
    chunks: beam.PCollection
    ranges: beam.PCollection


class ReadOffsetRangesFn(beam.DoFn):
    def __init__(self, settings: KafkaSettings, chunk_records: int):
        self._settings = settings
        self._chunk_records = chunk_records
        self._consumer = None

    def setup(self):
        self._consumer = self._settings.consumer()

    def process(self, plan: OffsetRangePlan):
        for item in read_offset_ranges(self._consumer, plan.topic, plan.ranges, self._chunk_records):
            if isinstance(item, ReadRange):
                yield beam.pvalue.TaggedOutput(RANGES, item)
            else:
                yield item

    def teardown(self):
        if self._consumer is not None:
            self._consumer.close()


class ReadKafkaOffsetRanges(beam.PTransform):
    def __init__(self, settings: KafkaSettings, chunk_records: int = 2000):
        super().__init__()
        self._settings = settings
        self._chunk_records = chunk_records

    def expand(self, plans):
        out = plans | "ReadRanges" >> beam.ParDo(ReadOffsetRangesFn(self._settings, self._chunk_records)).with_outputs(
            RANGES, main="chunks"
        )
        return ReadResult(out.chunks, out[RANGES])
