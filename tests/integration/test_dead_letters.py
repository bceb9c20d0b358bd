"""Dead letters that lose nothing: every kind of bad record, against the real broker and CLI.

Each bad input below ends as exactly one dead letter with its reason, step and original bytes,
in the warehouse and on the dead-letter topic; a fix followed by ``ascolto dlq replay
--only-fixed`` brings the fixed ones back as accepted events.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
import sys

import duckdb
import fastavro
import pytest
from kafka import KafkaConsumer, TopicPartition

from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.io.broker import create_topics
from pipelines.io.dead_letters import DeadLetterCodec
from pipelines.io.kafka import KafkaSettings, publish
from pipelines.transforms.enrich import MAX_TEXT_CHARS
from pipelines.wire import EventCodec, _parse
from schemas import SCHEMA_DIR

pytestmark = pytest.mark.integration
CODEC = EventCodec()
EVENTS = [dict(r.event) for r in generate_stream(GeneratorConfig(seed=31, events=300)) if r.kind == "event"]


def _with(**change) -> dict:
    ev = copy.deepcopy(EVENTS[0])
    ev.update(change)
    ev["event_id"] = change.get("event_id", f"x:bad-{len(change)}-{sorted(change)}")
    return ev


def _variant_bytes(mutate, event: dict) -> bytes:
    """Writes ``event`` with a mutated copy of schema v2 under v2's id: a producer gone wrong."""
    definition = copy.deepcopy(CODEC.writer.definition)
    mutate(definition)
    buf = io.BytesIO()
    buf.write(b"\x00" + CODEC.writer.schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(buf, _parse(definition), event)
    return buf.getvalue()


def _follower_count_as_string(d):
    author = next(f for f in d["fields"] if f["name"] == "author")["type"]
    next(f for f in author["fields"] if f["name"] == "follower_count")["type"] = "string"


def _platform_with_extra_symbol(d):
    next(f for f in d["fields"] if f["name"] == "platform")["type"]["symbols"].append("mastodon")


def _bad_inputs() -> list[tuple[str, str, bytes]]:
    good = CODEC.encode(EVENTS[1])
    unpublished = CODEC.encode(EVENTS[-1])  # an event published only under the unknown id
    marker = CODEC.encode(_with(text="ZZZZ"))
    ingest = EVENTS[0]["ingest_time"]
    author = dict(EVENTS[0]["author"], follower_count="lots")
    return [
        ("empty_value", "decode", b""),
        ("bad_magic_byte", "decode", b'{"event_id": "json-1", "text": "plain JSON"}'),
        ("unknown_schema_id", "decode", b"\x00" + (4242).to_bytes(4, "big") + unpublished[5:]),
        ("malformed_avro", "decode", good[: len(good) // 2]),
        ("trailing_bytes", "decode", good + b"\x01\x02\x03"),
        ("malformed_avro", "decode", _variant_bytes(_follower_count_as_string, _with(author=author))),  # wrong type for a field
        ("malformed_avro", "decode", _variant_bytes(_platform_with_extra_symbol, _with(platform="mastodon"))),  # enum symbol not in schema
        ("invalid_utf8", "decode", marker.replace(b"ZZZZ", b"\xff\xfe\xfd\xfc")),
        ("too_large", "decode", CODEC.encode(_with(text="x" * (1 << 20)))),
        ("invalid_event_time", "decode", CODEC.encode(_with(event_time=ingest + 3 * 86_400_000))),
        ("invalid_event_time", "decode", CODEC.encode(_with(event_time=1_000_000))),
        ("impossible_event_type", "decode", CODEC.encode(_with(platform="youtube", event_type="direct_message"))),
        ("missing_event_id", "decode", CODEC.encode(_with(event_id=""))),
        ("enrichment_failed", "enrich", CODEC.encode(_with(text="spam " * (MAX_TEXT_CHARS // 4)))),
    ]


def _run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def test_every_bad_input_is_one_dead_letter_with_its_reason_and_bytes_and_replay_brings_back_the_fixed(broker, tmp_path):
    topic = "dlq.events"
    create_topics(broker.bootstrap_servers, {topic: 1})
    bad = _bad_inputs()
    records = [(e["event_id"].encode(), CODEC.encode(e)) for e in EVENTS[1:60]]
    n_good = len(records)
    for i, (_, _, value) in enumerate(bad):
        records.insert(3 + 4 * i, (f"bad-{i}".encode(), value))
    coords = publish(KafkaSettings(broker.bootstrap_servers), topic, records, want_metadata=True)
    expected = {
        coords[records.index((f"bad-{i}".encode(), value))][1]: (reason, step, value) for i, (reason, step, value) in enumerate(bad)
    }
    warehouse = tmp_path / "w.duckdb"
    run = [
        "run",
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        topic,
        "--warehouse",
        str(warehouse),
        "--metrics-port",
        "0",
        "--stop-when-idle",
    ]
    _run(*run)

    con = duckdb.connect(str(warehouse), read_only=True)
    got = {o: (r, s, v) for o, r, s, v in con.execute("SELECT kafka_offset, reason, step, record_value FROM dead_letters").fetchall()}
    assert got == expected
    consumed, accepted = con.execute("SELECT sum(consumed), sum(accepted) FROM batches").fetchall()[0]
    assert (consumed, accepted) == (len(records), n_good)
    con.close()

    # The same dead letters, in the envelope, on the dead-letter topic.
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False)
    tp = TopicPartition(f"{topic}.dlq", 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    envelopes = []
    for _ in range(50):
        for batch in consumer.poll(timeout_ms=200).values():
            envelopes += [DeadLetterCodec().decode(r.value) for r in batch]
        if len(envelopes) >= len(bad):
            break
    consumer.close()
    assert {e["offset"]: (e["reason"], e["step"], e["value"]) for e in envelopes} == expected

    # A fix: schema 4242 gets registered. Replay only what now decodes; the rest stays.
    fixed_registry = tmp_path / "registry"
    shutil.copytree(SCHEMA_DIR, fixed_registry, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    index = json.loads((fixed_registry / "registry.json").read_text())
    index["schemas"].append({"id": 4242, "subject": "social.events-value", "version": 3, "path": "social_event/v2.avsc"})
    (fixed_registry / "registry.json").write_text(json.dumps(index))
    replay = _run(
        "dlq",
        "replay",
        "--only-fixed",
        "--schema-registry",
        str(fixed_registry),
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        topic,
        "--warehouse",
        str(warehouse),
    )
    assert f"selected {len(bad)} dead letters; re-published 1 to {topic}; {len(bad) - 1} still fail" in replay.stdout
    again = _run(
        "dlq",
        "replay",
        "--only-fixed",
        "--schema-registry",
        str(fixed_registry),
        "--bootstrap-servers",
        broker.bootstrap_servers,
        "--topic",
        topic,
        "--warehouse",
        str(warehouse),
    )
    assert "re-published 0" in again.stdout  # a replayed dead letter is not replayed twice

    _run(*run, "--schema-registry", str(fixed_registry))
    con = duckdb.connect(str(warehouse), read_only=True)
    consumed, accepted = con.execute("SELECT sum(consumed), sum(accepted) FROM batches").fetchall()[0]
    replayed = con.execute("SELECT reason, replayed_to FROM dead_letters WHERE replayed_at IS NOT NULL").fetchall()
    con.close()
    assert (consumed, accepted) == (len(records) + 1, n_good + 1)
    assert replayed == [("unknown_schema_id", topic)]

    listing = _run("dlq", "list", "--records", "5", "--warehouse", str(warehouse))
    assert "unknown_schema_id" in listing.stdout and "enrichment_failed" in listing.stdout
    offset = next(o for o, (r, _, _) in expected.items() if r == "invalid_utf8")
    shown = _run("dlq", "show", "--topic", topic, "--partition", "0", "--offset", str(offset), "--warehouse", str(warehouse))
    assert "invalid_utf8" in shown.stdout and "still fails today" in shown.stdout
