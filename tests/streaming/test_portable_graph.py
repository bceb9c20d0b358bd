"""Remote-runner readiness: the streaming job built with Flink and Dataflow options, translated
to Beam's portable form (what a runner receives), has what those runners need: unbounded
inputs, deterministic coders on every grouping key, a stable explicit label on every
transform, and no output that goes nowhere. Nothing here reaches a cluster."""

from __future__ import annotations

import re

import apache_beam as beam
import pytest
from apache_beam.portability.api import beam_runner_api_pb2 as pb

from pipelines.catalog import load_catalog
from pipelines.config import JobConfig
from pipelines.streaming.graph import build_streaming
from pipelines.streaming.job import streaming_options

RUNNERS = {
    "FlinkRunner": ("--flink_master=flink-jobmanager-rest:8081", "--parallelism=6", "--checkpointing_interval=60000"),
    "DataflowRunner": (
        "--project=acme-listening",
        "--region=europe-west1",
        "--temp_location=gs://acme-ascolto/tmp",
        "--setup_file=./setup.py",
    ),
}
DETERMINISTIC_KEY_CODERS = {
    "beam:coder:varint:v1",
    "beam:coder:string_utf8:v1",
    "beam:coder:bytes:v1",
    "beam:coder:bool:v1",
    "beam:coder:kv:v1",
}
# Leaves whose output is a sink's (an empty PCollection by design).
SINKS = ("WriteToWarehouse/CommitBundles", "PublishDeadLetters", "CountOutcomes/")
AUTO_LABEL = re.compile(r"<lambda|at 0x|\.py:\d+|_\d+$| \d+$")


@pytest.fixture(scope="module", params=sorted(RUNNERS))
def portable(request):
    job = JobConfig(
        bootstrap_servers="kafka-0.kafka:9092",
        warehouse="postgresql://ascolto@warehouse/ascolto",
        runner=request.param,
        beam_args=RUNNERS[request.param],
    )
    options, settings = streaming_options(job)
    p = beam.Pipeline(options=options)
    build_streaming(p, job, load_catalog(), settings)
    return p.to_runner_api().components


def _leaves(c) -> dict[str, pb.PTransform]:
    return {tid: t for tid, t in c.transforms.items() if not t.subtransforms and t.unique_name}


def _key_coder_urns(c, coder_id: str) -> set[str]:
    kv = c.coders[coder_id]
    assert kv.spec.urn == "beam:coder:kv:v1", f"a grouping input must be KV, got {kv.spec.urn}"
    todo, urns = [kv.component_coder_ids[0]], set()
    while todo:
        cc = c.coders[todo.pop()]
        urns.add(cc.spec.urn)
        todo.extend(cc.component_coder_ids)
    return urns


def test_everything_after_the_kafka_read_is_unbounded(portable):
    c = portable
    (read,) = [t for t in c.transforms.values() if t.unique_name == "ReadKafka/ReadPartitions"]
    downstream, frontier = set(), set(read.outputs.values())
    while frontier:
        downstream |= frontier
        frontier = {o for t in _leaves(c).values() if set(t.inputs.values()) & frontier for o in t.outputs.values()} - downstream
    assert len(downstream) > 30
    assert {c.pcollections[pc].is_bounded for pc in downstream} == {pb.IsBounded.UNBOUNDED}


def test_every_grouping_key_has_a_deterministic_coder(portable):
    c = portable
    grouped = []
    for t in _leaves(c).values():
        if t.spec.urn == "beam:transform:group_by_key:v1":
            (inp,) = t.inputs.values()
        elif t.spec.urn == "beam:transform:pardo:v1":
            payload = pb.ParDoPayload.FromString(t.spec.payload)
            if not (payload.state_specs or payload.timer_family_specs):
                continue
            (inp,) = [pc for tag, pc in t.inputs.items() if tag not in payload.side_inputs]
        else:
            continue
        urns = _key_coder_urns(c, c.pcollections[inp].coder_id)
        assert urns <= DETERMINISTIC_KEY_CODERS, f"{t.unique_name}: key coders {urns}"
        grouped.append(t.unique_name)
    # the state of lateness, dedup and windows is keyed, and so are the windows' groups
    for name in ("ClassifyInLogOrder", "KeepFirstCopies", "MergePerShard/GroupByKey", "FinalizePanes", "TrackPerRequest"):
        assert any(name in g for g in grouped), f"{name} is not a keyed step: {grouped}"


def test_every_transform_has_a_stable_explicit_label(portable):
    names = [
        t.unique_name for t in portable.transforms.values() if t.unique_name and not t.unique_name.startswith("ref_")
    ]  # ref_: the root
    assert [n for n in names if AUTO_LABEL.search(n)] == []
    top = {n.split("/")[0] for n in names}
    assert top == {
        "ReadKafka",
        "CountConsumed",
        "DecodeSocialEvents",
        "ClassifyLateness",
        "DeduplicateEvents",
        "EnrichEvents",
        "ScoreEngagement",
        "AggregateEngagement",
        "TrackCareRequests",
        "AllDeadLetters",
        "WriteToWarehouse",
        "CountOutcomes",
        "PublishDeadLetters",
    }


def test_every_output_is_consumed_or_is_a_sink(portable):
    c = portable
    consumed = {pc for t in c.transforms.values() for pc in t.inputs.values()}
    unwired = [f"{t.unique_name}[{tag}]" for t in _leaves(c).values() for tag, pc in t.outputs.items() if pc not in consumed]
    assert unwired and all(u.startswith(SINKS) for u in unwired), unwired
    # the tagged outputs of the stateful and validating steps all go somewhere
    for t in _leaves(c).values():
        if len(t.outputs) > 1:
            assert all(pc in consumed for pc in t.outputs.values()), t.unique_name
