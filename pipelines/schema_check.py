"""Schema evolution rules, checked: every version of a subject can read, and be read by, every
other version (Avro FULL_TRANSITIVE compatibility), so producers and the pipeline upgrade in
any order without a flag day.

In practice: vN+1 may add fields that have defaults, add enum symbols when the enum has a
default, and widen types by Avro promotion; it may not remove or rename a field without a
default, change a field's type, or remove enum symbols. ``make test`` runs ``check_registry``
over ``schemas/`` (tests/schemas/test_compatibility.py).
"""

from __future__ import annotations

import json
from itertools import permutations

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from pipelines.registry import FileSchemaRegistry, RegisteredSchema


def incompatibilities(reader: dict, writer: dict) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader`` (empty when it can)."""
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    if result.compatibility is SchemaCompatibilityType.compatible:
        return []
    return [f"{loc}: {msg}" for msg, loc in zip(result.messages, result.locations)] or ["incompatible"]


def check_versions(versions: list[RegisteredSchema]) -> list[str]:
    """FULL_TRANSITIVE: every ordered pair of versions, both as reader and as writer."""
    problems = []
    for reader, writer in permutations(versions, 2):
        for why in incompatibilities(reader.definition, writer.definition):
            problems.append(f"{reader.subject} v{reader.version} cannot read v{writer.version}: {why}")
    return problems


def check_registry(registry: FileSchemaRegistry | None = None) -> list[str]:
    registry = registry or FileSchemaRegistry()
    problems = []
    for subject in registry.subjects():
        versions = registry.versions(subject)
        numbers = [v.version for v in versions]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(f"{subject}: versions {numbers} are not 1..{len(numbers)}")
        problems += check_versions(versions)
    return problems
