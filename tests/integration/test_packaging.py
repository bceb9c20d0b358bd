"""The wheel that setup.py builds (what Beam's --setup_file ships to workers) carries every
non-code file the pipeline reads at run time."""

import subprocess
import sys
import zipfile

import pytest

pytestmark = pytest.mark.integration


def test_wheel_contains_schemas_registry_catalog_and_ddl(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("ascolto-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "schemas/registry.json",
        "schemas/social_event/v1.avsc",
        "schemas/social_event/v2.avsc",
        "schemas/dead_letter/v1.avsc",
        "schemas/warehouse/duckdb.sql",
        "schemas/warehouse/postgres.sql",
        "pipelines/data/catalog.yaml",
        "pipelines/cli.py",
        "pipelines/transforms/decode.py",
    ):
        assert needed in names, f"{needed} is not in {wheel.name}"
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "ascolto = pipelines.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
