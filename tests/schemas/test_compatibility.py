"""Schemas are versioned contracts: every version reads every other (FULL_TRANSITIVE)."""

import copy
import io
import json

import fastavro
import pytest

from pipelines.registry import FileSchemaRegistry, RegisteredSchema
from pipelines.schema_check import check_registry, check_versions
from pipelines.wire import _without_logical_types
from schemas import SCHEMA_DIR

REGISTRY = FileSchemaRegistry()
V1 = REGISTRY.versions("social.events-value")[0]
V2 = REGISTRY.versions("social.events-value")[1]


def test_every_subject_in_the_repository_evolves_compatibly():
    assert check_registry(REGISTRY) == []


def test_registry_ids_are_unique_and_every_schema_file_is_registered():
    index = json.loads((SCHEMA_DIR / "registry.json").read_text())
    ids = [e["id"] for e in index["schemas"]]
    assert len(ids) == len(set(ids))
    registered = {e["path"] for e in index["schemas"]}
    on_disk = {str(p.relative_to(SCHEMA_DIR)) for p in SCHEMA_DIR.glob("*/*.avsc")}
    assert on_disk == registered


def _roundtrip(event: dict, writer: dict, reader: dict) -> dict:
    w, r = fastavro.parse_schema(_without_logical_types(writer)), fastavro.parse_schema(_without_logical_types(reader))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, w, event)
    buf.seek(0)
    return fastavro.schemaless_reader(buf, w, r)


EVENT = {
    "event_id": "x:1", "platform": "x", "event_type": "post", "reaction_kind": None, "review_rating": None,
    "author": {"id": "u1", "handle": "@a", "follower_count": 10, "is_brand_account": False}, "text": "ciao @NuvolaCare",
    "thread_id": "x:1", "parent_id": None, "channel_owner": None, "device": "mobile", "event_time": 1_795_000_000_000,
    "ingest_time": 1_795_000_001_000,
}  # fmt: skip


def test_v1_data_reads_with_the_v2_reader_and_gets_the_defaults():
    out = _roundtrip(EVENT, V1.definition, V2.definition)
    assert out == {**EVENT, "lang_hint": None, "campaign_id": None}


def test_v2_data_reads_with_the_v1_reader_which_ignores_the_new_fields():
    out = _roundtrip({**EVENT, "lang_hint": "it", "campaign_id": "cmp-1"}, V2.definition, V1.definition)
    assert out == EVENT


def _variant(change) -> RegisteredSchema:
    definition = copy.deepcopy(V2.definition)
    change(definition)
    return RegisteredSchema(99, V2.subject, 3, definition)


def _drop_field(name):
    return lambda d: d.__setitem__("fields", [f for f in d["fields"] if f["name"] != name])


def _retype(name, new_type):
    def change(d):
        next(f for f in d["fields"] if f["name"] == name)["type"] = new_type

    return change


def _add_required(d):
    d["fields"].append({"name": "region", "type": "string"})


def _drop_enum_symbol(d):
    enum = next(f for f in d["fields"] if f["name"] == "event_type")["type"]
    enum["symbols"] = [s for s in enum["symbols"] if s != "view"]


@pytest.mark.parametrize(
    "change, why",
    [
        (_drop_field("platform"), "removing a required field"),
        (_retype("text", "string"), "making an optional field required"),
        (_retype("event_time", "int"), "narrowing a type"),
        (_add_required, "adding a field without a default"),
        (_drop_enum_symbol, "removing an enum symbol of an enum without default"),
    ],
)
def test_an_incompatible_change_is_refused(change, why):
    problems = check_versions([V1, V2, _variant(change)])
    assert problems, f"{why} was accepted"
    assert all("v3" in p for p in problems)


def test_adding_an_optional_field_with_a_default_is_accepted():
    ok = _variant(lambda d: d["fields"].append({"name": "region", "type": ["null", "string"], "default": None}))
    assert check_versions([V1, V2, ok]) == []
