"""Schema registries: resolve the writer schema of a record by the id in its wire format.

- ``FileSchemaRegistry``: the embedded default, ``schemas/registry.json`` (ids -> ``.avsc`` files
  reviewed in the repository).
- ``ConfluentSchemaRegistry``: a client for the Confluent Schema Registry REST API (look up by
  id, latest version of a subject, register, compatibility check), with basic auth and TLS
  options, for real deployments. Schemas are cached by id: a registry is asked once per id.

An id that a registry does not know returns ``None`` (the record becomes a dead letter); a
registry that cannot be reached raises ``SchemaRegistryUnavailable`` (the batch fails and is
retried: records are never dead-lettered because of an outage).
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from schemas import SCHEMA_DIR


class SchemaRegistryUnavailable(RuntimeError):
    """The registry could not be reached or answered with a server error."""


@dataclass(frozen=True)
class RegisteredSchema:
    schema_id: int
    subject: str
    version: int
    definition: dict  # the schema as written (.avsc JSON)


class SchemaRegistry(Protocol):
    def by_id(self, schema_id: int) -> RegisteredSchema | None: ...
    def latest(self, subject: str) -> RegisteredSchema: ...


class FileSchemaRegistry:
    """``schemas/registry.json`` maps schema ids to ``.avsc`` files; ids are never reused."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR):
        index = json.loads((schema_dir / "registry.json").read_text())
        self._by_id: dict[int, RegisteredSchema] = {}
        for entry in index["schemas"]:
            definition = json.loads((schema_dir / entry["path"]).read_text())
            self._by_id[entry["id"]] = RegisteredSchema(entry["id"], entry["subject"], entry["version"], definition)

    def by_id(self, schema_id: int) -> RegisteredSchema | None:
        return self._by_id.get(schema_id)

    def latest(self, subject: str) -> RegisteredSchema:
        candidates = [s for s in self._by_id.values() if s.subject == subject]
        if not candidates:
            raise KeyError(f"no schema registered for subject {subject!r}")
        return max(candidates, key=lambda s: s.version)

    def versions(self, subject: str) -> list[RegisteredSchema]:
        return sorted((s for s in self._by_id.values() if s.subject == subject), key=lambda s: s.version)

    def subjects(self) -> list[str]:
        return sorted({s.subject for s in self._by_id.values()})


@dataclass(frozen=True)
class RegistryAuth:
    """Basic auth and TLS for a Confluent-compatible registry."""

    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # verify the server with this CA bundle
    cert_file: str | None = None  # client certificate (mutual TLS)
    key_file: str | None = None
    timeout_s: float = 10.0


class ConfluentSchemaRegistry:
    """Client for the Confluent Schema Registry REST API (``/schemas/ids``, ``/subjects``, ``/compatibility``)."""

    CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

    def __init__(self, url: str, auth: RegistryAuth | None = None):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"schema registry URL {url!r} must look like https://host:8081")
        self.url = url.rstrip("/")
        self.auth = auth or RegistryAuth()
        self._cache: dict[int, RegisteredSchema | None] = {}
        self._ssl = None
        if parsed.scheme == "https":
            self._ssl = ssl.create_default_context(cafile=self.auth.ca_file)
            if self.auth.cert_file:
                self._ssl.load_cert_chain(self.auth.cert_file, self.auth.key_file)

    def _request(self, method: str, path: str, body: dict | None = None) -> dict | None:
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode() if body is not None else None)
        req.add_header("Accept", self.CONTENT_TYPE)
        if body is not None:
            req.add_header("Content-Type", self.CONTENT_TYPE)
        if self.auth.username is not None:
            token = base64.b64encode(f"{self.auth.username}:{self.auth.password or ''}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=self.auth.timeout_s, context=self._ssl) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            detail = exc.read()[:300].decode(errors="replace")
            if exc.code in (401, 403):
                raise SchemaRegistryUnavailable(f"schema registry {self.url} refused the credentials ({exc.code}): {detail}") from None
            if exc.code == 409 or exc.code == 422:
                raise ValueError(f"schema registry {self.url} rejected the schema ({exc.code}): {detail}") from None
            raise SchemaRegistryUnavailable(f"schema registry {self.url} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SchemaRegistryUnavailable(f"schema registry {self.url} is unreachable: {exc}") from None

    def by_id(self, schema_id: int) -> RegisteredSchema | None:
        if schema_id not in self._cache:
            doc = self._request("GET", f"/schemas/ids/{schema_id}")
            if doc is not None and doc.get("schemaType", "AVRO") != "AVRO":
                doc = None  # JSON Schema and Protobuf ids are not events we can decode
            self._cache[schema_id] = RegisteredSchema(schema_id, "", 0, json.loads(doc["schema"])) if doc else None
        return self._cache[schema_id]

    def latest(self, subject: str) -> RegisteredSchema:
        doc = self._request("GET", f"/subjects/{urllib.parse.quote(subject, safe='')}/versions/latest")
        if doc is None:
            raise KeyError(f"no schema registered for subject {subject!r} at {self.url}")
        reg = RegisteredSchema(doc["id"], doc["subject"], doc["version"], json.loads(doc["schema"]))
        self._cache[reg.schema_id] = reg
        return reg

    def register(self, subject: str, definition: dict) -> int:
        doc = self._request("POST", f"/subjects/{urllib.parse.quote(subject, safe='')}/versions", {"schema": json.dumps(definition)})
        assert doc is not None
        return int(doc["id"])

    def is_compatible(self, subject: str, definition: dict) -> bool:
        doc = self._request(
            "POST", f"/compatibility/subjects/{urllib.parse.quote(subject, safe='')}/versions/latest", {"schema": json.dumps(definition)}
        )
        return bool(doc and doc.get("is_compatible"))


@dataclass(frozen=True)
class RegistrySpec:
    """Picklable recipe for a registry (Beam ships it to workers, which open it once).

    ``location``: None for the packaged ``schemas/``; a directory holding a ``registry.json``;
    or an ``http(s)://`` URL of a Confluent-compatible registry (with ``auth``).
    """

    location: str | None = None
    auth: RegistryAuth = RegistryAuth()

    def open(self) -> SchemaRegistry:
        if self.location is None:
            return FileSchemaRegistry()
        if self.location.startswith(("http://", "https://")):
            return ConfluentSchemaRegistry(self.location, self.auth)
        return FileSchemaRegistry(Path(self.location))

    def validate(self) -> None:
        """Raises ValueError with what to fix."""
        if self.location is None:
            return
        if self.location.startswith(("http://", "https://")):
            ConfluentSchemaRegistry(self.location, self.auth)
            for f in (self.auth.ca_file, self.auth.cert_file, self.auth.key_file):
                if f and not Path(f).is_file():
                    raise ValueError(f"schema registry TLS file {f} does not exist")
            return
        if not (Path(self.location) / "registry.json").is_file():
            raise ValueError(f"--schema-registry {self.location}: no registry.json there (a directory like schemas/, or an https:// URL)")
