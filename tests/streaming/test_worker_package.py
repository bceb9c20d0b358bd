"""What ``--setup_file ./setup.py`` ships to Flink and Dataflow workers: the wheel carries every
data file the pipeline reads at run time (lexicons, models, schemas, the brand catalog),
found by walking the source tree, so a file added later is checked too."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
DATA_DIRS = ("pipelines/nlp/models", "pipelines/data", "schemas")


def test_the_worker_wheel_carries_models_lexicons_schemas_catalog_and_the_streaming_package(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("ascolto-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        str(f.relative_to(REPO))
        for d in DATA_DIRS
        for f in (REPO / d).rglob("*")
        if f.is_file() and f.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in f.parts  # docs stay home
    ]
    assert len(wanted) > 20 and any(w.endswith(".npz") for w in wanted) and "pipelines/data/catalog.yaml" in wanted
    assert sorted(w for w in wanted if w not in names) == []
    streaming = {str(f.relative_to(REPO)) for f in (REPO / "pipelines" / "streaming").glob("*.py")}
    assert streaming and streaming <= names
