"""Hands a micro-batch's outputs from the Beam pipeline to the driver that commits them.

Each named output is written by its bundles as pickle files in ``<dir>/<name>/``; the driver
reads them back after the pipeline finished and commits everything in one warehouse
transaction. Files are private to one micro-batch and deleted by the driver.
"""

from __future__ import annotations

import pickle
import uuid
from pathlib import Path

import apache_beam as beam
import pyarrow as pa


class _WriteBundleFn(beam.DoFn):
    def __init__(self, directory: str):
        self._dir = directory
        self._items: list = []

    def start_bundle(self):
        self._items = []

    def process(self, element):
        self._items.append(element)

    def finish_bundle(self):
        if self._items:
            path = Path(self._dir) / f"{uuid.uuid4().hex}.pkl"
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(self._items, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.rename(path)
        self._items = []


class WriteToStaging(beam.PTransform):
    def __init__(self, directory: Path, name: str):
        super().__init__()
        self._dir = directory / name
        self._dir.mkdir(parents=True, exist_ok=True)

    def expand(self, pcoll):
        return pcoll | "WriteBundles" >> beam.ParDo(_WriteBundleFn(str(self._dir)))


class _WriteArrowBundleFn(beam.DoFn):
    """Elements (or lists of them, ``batched``) -> one Arrow IPC file per bundle, via ``to_arrow``."""

    def __init__(self, directory: str, to_arrow, batched: bool):
        self._dir = directory
        self._to_arrow = to_arrow
        self._batched = batched
        self._items: list = []

    def start_bundle(self):
        self._items = []

    def process(self, element):
        if self._batched:
            self._items.extend(element)
        else:
            self._items.append(element)

    def finish_bundle(self):
        if self._items:
            table = self._to_arrow(self._items)
            path = Path(self._dir) / f"{uuid.uuid4().hex}.arrow"
            tmp = path.with_suffix(".tmp")
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            tmp.rename(path)
        self._items = []


class WriteArrowToStaging(beam.PTransform):
    def __init__(self, directory: Path, name: str, to_arrow, batched: bool = True):
        super().__init__()
        self._dir = directory / name
        self._dir.mkdir(parents=True, exist_ok=True)
        self._to_arrow = to_arrow
        self._batched = batched

    def expand(self, pcoll):
        return pcoll | "WriteArrowBundles" >> beam.ParDo(_WriteArrowBundleFn(str(self._dir), self._to_arrow, self._batched))


def read_staged_arrow(directory: Path, name: str, empty: pa.Table) -> pa.Table:
    tables = [pa.ipc.open_file(pa.memory_map(str(p))).read_all() for p in sorted((directory / name).glob("*.arrow"))]
    return pa.concat_tables(tables) if tables else empty


def read_staged(directory: Path, name: str) -> list:
    items: list = []
    for path in sorted((directory / name).glob("*.pkl")):
        items.extend(pickle.loads(path.read_bytes()))
    return items
