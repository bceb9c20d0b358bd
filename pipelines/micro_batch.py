"""One micro-batch of the engagement graph on the local runner, and its outputs read back.

``run_micro_batch`` runs ``engagement.build_engagement`` with the FnApiRunner over one offset
range plan and stages every output in a directory (Arrow for events and the deltas of each window
table, pickle for the small outputs); ``read_outputs`` loads one or several such directories (one
per worker process) into a single ``BatchOutputs``, summing window deltas that share a key
(several workers may touch the same window; DuckDB's upsert needs unique keys).
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.engagement import EngagementOutputs, build_engagement
from pipelines.io.batch import BatchOutputs, events_to_arrow
from pipelines.io.staging import WriteArrowToStaging, WriteToStaging, read_staged, read_staged_arrow
from pipelines.io.windows import ASPECTS, ENGAGEMENT, aspect_rows_to_arrow, engagement_rows_to_arrow, is_aspect_row, sum_by_key
from pipelines.transforms.dedup import SeenIdsSource
from pipelines.transforms.read import OffsetRangePlan


def run_micro_batch(
    job: JobConfig, catalog: Catalog, plan: OffsetRangePlan, watermarks: dict[tuple[str, int], int], history: SeenIdsSource, staging: Path
) -> None:
    options = PipelineOptions([f"--runner={job.runner}"])
    with beam.Pipeline(options=options) as p:
        outputs = build_engagement(p | "PlanOffsetRanges" >> beam.Create([plan]), job, catalog, watermarks, history)
        for name in EngagementOutputs._fields:
            pcoll = getattr(outputs, name)
            if name == "events":
                pcoll | "Stage_events" >> WriteArrowToStaging(staging, name, events_to_arrow)
            elif name == "window_rows":
                tables = pcoll | "SplitWindowTables" >> beam.Partition(lambda row, _n: int(is_aspect_row(row)), 2)
                tables[0] | "Stage_window_rows" >> WriteArrowToStaging(staging, name, engagement_rows_to_arrow, batched=False)
                tables[1] | "Stage_aspect_rows" >> WriteArrowToStaging(staging, "aspect_rows", aspect_rows_to_arrow, batched=False)
            else:
                pcoll | f"Stage_{name}" >> WriteToStaging(staging, name)


def read_outputs(stagings: list[Path]) -> BatchOutputs:
    def lists(name: str) -> list:
        return [x for s in stagings for x in read_staged(s, name)]

    def table(name: str, empty: pa.Table) -> pa.Table:
        return pa.concat_tables([read_staged_arrow(s, name, empty) for s in stagings])

    windows = table("window_rows", engagement_rows_to_arrow([]))
    aspects = table("aspect_rows", aspect_rows_to_arrow([]))
    several = len(stagings) > 1
    return BatchOutputs(
        ranges=lists("ranges"),
        watermarks=lists("watermarks"),
        windows=sum_by_key(ENGAGEMENT, windows) if several else windows,
        aspect_windows=sum_by_key(ASPECTS, aspects) if several else aspects,
        facts=table("events", events_to_arrow([])),
        duplicates=lists("duplicates"),
        late=lists("late"),
        dead_letters=lists("dead_letters"),
    )
