"""Submitting the streaming job: ``ascolto run --runner FlinkRunner|DataflowRunner|PortableRunner``.

The options are the standard Beam ones (``runners.BEAM_VALUE_OPTIONS``) plus ours
(``runners.ASCOLTO_STREAMING_OPTIONS``), already checked by ``JobConfig.validate``. The job is
submitted and left running on the cluster (a streaming job has no end); its metrics are the
runner's (Flink web UI / metrics reporters, Dataflow job metrics), namespace ``ascolto``.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, SetupOptions, StandardOptions

from pipelines.catalog import Catalog
from pipelines.config import JobConfig
from pipelines.streaming.graph import StreamingSettings, build_streaming
from pipelines.streaming.runners import ASCOLTO_STREAMING_OPTIONS

log = logging.getLogger("ascolto.streaming")


def split_args(beam_args: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """Beam's own flags, and ours (which Beam must not see)."""
    beam_flags, ours = [], {}
    for a in beam_args:
        name, _, value = a.removeprefix("--").partition("=")
        if name in ASCOLTO_STREAMING_OPTIONS:
            ours[name] = value
        else:
            beam_flags.append(a)
    return beam_flags, ours


def streaming_settings(ours: dict[str, str]) -> StreamingSettings:
    d = StreamingSettings()
    return StreamingSettings(
        early_firing_seconds=int(ours.get("early_firing_seconds", d.early_firing_seconds)),
        dedup_key_buckets=int(ours.get("dedup_key_buckets", d.dedup_key_buckets)),
        kafka_reader=ours.get("kafka_reader", d.kafka_reader),
        expansion_service=ours.get("expansion_service") or None,
    )


def streaming_options(job: JobConfig) -> tuple[PipelineOptions, StreamingSettings]:
    beam_flags, ours = split_args(job.beam_args)
    options = PipelineOptions([f"--runner={job.runner}", *beam_flags])
    options.view_as(StandardOptions).streaming = True
    options.view_as(SetupOptions).save_main_session = False  # everything the workers need is in the package
    return options, streaming_settings(ours)


def build_streaming_pipeline(job: JobConfig, catalog: Catalog) -> beam.Pipeline:
    options, settings = streaming_options(job)
    p = beam.Pipeline(options=options)
    build_streaming(p, job, catalog, settings)
    return p


def run_streaming_job(job: JobConfig, catalog: Catalog) -> int:
    result = build_streaming_pipeline(job, catalog).run()
    job_id = getattr(result, "job_id", lambda: None)()
    print(f"submitted the streaming job to {job.runner}{f' as {job_id}' if job_id else ''}: {job.topic} -> {job.warehouse}")
    return 0
