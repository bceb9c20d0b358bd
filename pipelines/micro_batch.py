"""One micro-batch of the engagement graph on the local runner, and its outputs read back.

``run_micro_batch`` runs ``engagement.build_engagement`` with the FnApiRunner over one offset
range plan and stages every output in a directory (Arrow for events and window deltas, pickle
for the small outputs); ``read_outputs`` loads one or several such directories (one per worker
process) into a single ``BatchOutputs``, summing window deltas that share a key (several
workers may touch the same window; DuckDB's upsert needs unique keys).
"""

from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow as pa
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.engagement import EngagementOutputs, build_engagement
from pipelines.io.batch import WINDOW_KEY_COLUMNS, BatchOutputs, events_to_arrow, window_rows_to_arrow
from pipelines.io.staging import WriteArrowToStaging, WriteToStaging, read_staged, read_staged_arrow
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
                pcoll | "Stage_window_rows" >> WriteArrowToStaging(staging, name, window_rows_to_arrow, batched=False)
            else:
                pcoll | f"Stage_{name}" >> WriteToStaging(staging, name)


def _sum_by_key(windows: pa.Table) -> pa.Table:
    if windows.num_rows == 0:
        return windows
    summed = windows.group_by(list(WINDOW_KEY_COLUMNS)).aggregate([(c, "sum") for c in ("events", "points", "reach", "impressions")])
    return summed.rename_columns([c.removesuffix("_sum") for c in summed.column_names]).select(windows.column_names)


def read_outputs(stagings: list[Path]) -> BatchOutputs:
    def lists(name: str) -> list:
        return [x for s in stagings for x in read_staged(s, name)]

    def table(name: str, empty: pa.Table) -> pa.Table:
        return pa.concat_tables([read_staged_arrow(s, name, empty) for s in stagings])

    windows = table("window_rows", window_rows_to_arrow([]))
    return BatchOutputs(
        ranges=lists("ranges"),
        watermarks=lists("watermarks"),
        windows=_sum_by_key(windows) if len(stagings) > 1 else windows,
        facts=table("events", events_to_arrow([])),
        duplicates=lists("duplicates"),
        late=lists("late"),
        dead_letters=lists("dead_letters"),
    )
