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


def read_staged(directory: Path, name: str) -> list:
    items: list = []
    for path in sorted((directory / name).glob("*.pkl")):
        items.extend(pickle.loads(path.read_bytes()))
    return items
