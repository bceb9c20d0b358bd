"""The Confluent Schema Registry client over real HTTP.

No Schema Registry can be installed on these machines (it is a JVM service from Confluent's
own repositories), so the server here is a small stand-in that speaks the documented REST
subset the client uses (``/schemas/ids``, ``/subjects/.../versions``, ``/compatibility``),
with basic auth; it judges compatibility with the same checker as ``make test``.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.registry import ConfluentSchemaRegistry, FileSchemaRegistry, RegistryAuth, SchemaRegistryUnavailable
from pipelines.schema_check import incompatibilities
from pipelines.wire import DecodeError, EventCodec

pytestmark = pytest.mark.integration
LOCAL = FileSchemaRegistry()
V1, V2 = LOCAL.versions("social.events-value")


class _Registry(BaseHTTPRequestHandler):
    schemas: dict[int, dict] = {}
    subjects: dict[str, list[int]] = {}
    hits: list[str] = []

    def log_message(self, *args):
        pass

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        want = "Basic " + base64.b64encode(b"ascolto:s3cret").decode()
        if self.headers.get("Authorization") != want:
            self._reply(401, {"error_code": 401, "message": "Unauthorized"})
            return False
        return True

    def do_GET(self):
        self.hits.append(self.path)
        if not self._authorized():
            return
        if m := re.fullmatch(r"/schemas/ids/(\d+)", self.path):
            sid = int(m[1])
            return (
                self._reply(200, {"schema": json.dumps(self.schemas[sid])})
                if sid in self.schemas
                else self._reply(404, {"error_code": 40403})
            )
        if m := re.fullmatch(r"/subjects/([^/]+)/versions/latest", self.path):
            ids = self.subjects.get(m[1])
            if not ids:
                return self._reply(404, {"error_code": 40401})
            return self._reply(200, {"subject": m[1], "version": len(ids), "id": ids[-1], "schema": json.dumps(self.schemas[ids[-1]])})
        self._reply(404, {"error_code": 404})

    def do_POST(self):
        self.hits.append(self.path)
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        schema = json.loads(body["schema"])
        if m := re.fullmatch(r"/subjects/([^/]+)/versions", self.path):
            ids = self.subjects.setdefault(m[1], [])
            for sid in ids:
                if incompatibilities(schema, self.schemas[sid]) or incompatibilities(self.schemas[sid], schema):
                    return self._reply(409, {"error_code": 409, "message": "Schema being registered is incompatible"})
            sid = max(self.schemas, default=0) + 1
            self.schemas[sid] = schema
            ids.append(sid)
            return self._reply(200, {"id": sid})
        if m := re.fullmatch(r"/compatibility/subjects/([^/]+)/versions/latest", self.path):
            latest = self.schemas[self.subjects[m[1]][-1]]
            ok = not incompatibilities(schema, latest) and not incompatibilities(latest, schema)
            return self._reply(200, {"is_compatible": ok})
        self._reply(404, {"error_code": 404})


@pytest.fixture
def registry_url():
    _Registry.schemas, _Registry.subjects, _Registry.hits = {}, {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_register_look_up_check_compatibility_and_decode_through_the_registry(registry_url):
    client = ConfluentSchemaRegistry(registry_url, RegistryAuth("ascolto", "s3cret"))
    id1 = client.register("social.events-value", V1.definition)
    id2 = client.register("social.events-value", V2.definition)
    assert (id1, id2) == (1, 2)
    assert client.latest("social.events-value").version == 2
    assert client.is_compatible("social.events-value", V2.definition)
    broken = dict(V2.definition, fields=[f for f in V2.definition["fields"] if f["name"] != "platform"])
    assert not client.is_compatible("social.events-value", broken)
    with pytest.raises(ValueError, match="rejected the schema"):
        client.register("social.events-value", broken)

    # Records written by a v1 producer decode through the remote registry, resolved to v2.
    remote = EventCodec(ConfluentSchemaRegistry(registry_url, RegistryAuth("ascolto", "s3cret")))
    legacy = EventCodec(LOCAL, writer_version=1)  # ids 1 and 2 coincide with the remote ones here
    event = {"event_id": "x:1", "platform": "x", "event_type": "post", "reaction_kind": None, "review_rating": None,
             "author": {"id": "u", "handle": "@u", "follower_count": 3, "is_brand_account": False}, "text": "ciao",
             "thread_id": None, "parent_id": None, "channel_owner": None, "device": "mobile", "event_time": 1_795_000_000_000,
             "ingest_time": 1_795_000_000_500}  # fmt: skip
    before = len(_Registry.hits)
    for _ in range(3):
        assert remote.decode(legacy.encode(event)) == {**event, "lang_hint": None, "campaign_id": None}
    assert len(_Registry.hits) - before == 1, "a schema id is fetched once, then cached"
    with pytest.raises(DecodeError) as err:
        remote.decode(b"\x00" + (77).to_bytes(4, "big") + b"\x02")
    assert err.value.reason.value == "unknown_schema_id"


def test_wrong_credentials_and_an_unreachable_registry_are_errors_not_dead_letters(registry_url):
    with pytest.raises(SchemaRegistryUnavailable, match="refused the credentials"):
        ConfluentSchemaRegistry(registry_url, RegistryAuth("ascolto", "wrong")).by_id(1)
    with pytest.raises(SchemaRegistryUnavailable, match="unreachable"):
        ConfluentSchemaRegistry("http://127.0.0.1:9", RegistryAuth(timeout_s=1)).by_id(1)
    with pytest.raises(ValueError, match="must look like"):
        ConfluentSchemaRegistry("registry.local:8081")
