"""The project's contracts as data: Avro schemas (``<subject>/vN.avsc``), the file-backed
schema registry (``registry.json``) and the warehouse DDL (``warehouse/``).

A package so that the wheel built by ``setup.py`` (and shipped to Beam workers with
``--setup_file``) carries the very files the repository reviews.
"""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
