"""A warehouse of schema 2 opens under schema 5: fact_events gains the per-event scores in place, and
the old engagement_window (keyed without device and sentiment) is kept as engagement_window_v4
while a new one is created, on DuckDB and on the real PostgreSQL server."""

from __future__ import annotations

import re

import duckdb
import pytest

from pipelines.io.warehouse import open_warehouse
from schemas import SCHEMA_DIR

SCHEMA_2_WINDOWS = """CREATE TABLE engagement_window (
    window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, window_seconds INTEGER NOT NULL,
    brand {t} NOT NULL, platform {t} NOT NULL, event_type {t} NOT NULL, lang {t} NOT NULL,
    events BIGINT NOT NULL, engagement_points BIGINT NOT NULL, reach BIGINT NOT NULL, impressions BIGINT NOT NULL,
    revision INTEGER NOT NULL, is_final BOOLEAN NOT NULL, metric_version {t} NOT NULL, updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (window_start, window_seconds, brand, platform, event_type, lang));
INSERT INTO engagement_window VALUES ('2026-11-30 10:00', '2026-11-30 10:01', 60, 'nuvola', 'x', 'post', 'it',
    3, 6, 300, 0, 2, true, 'engagement-v1/reach-v1', '2026-11-30 10:07')"""


def _schema_2_facts(dialect: str) -> str:
    """Today's fact_events without the columns of schemas 3 and 4 (per-event scores, text sketch)."""
    sql = (SCHEMA_DIR / "warehouse" / f"{dialect}.sql").read_text()
    body = re.search(r"CREATE TABLE IF NOT EXISTS fact_events \((.*?)\n\);", sql, flags=re.S).group(1)
    lines = [line for line in body.splitlines() if line.strip() and not re.match(r"\s*(--|influence|crisis_risk|text_)", line)]
    return "CREATE TABLE fact_events (" + "\n".join(lines).rstrip(",") + ")"


CHECKS = (
    "SELECT brand, events, revision FROM engagement_window_v4",
    "SELECT count(*) FROM engagement_window",
    "SELECT count(*) FROM aspect_window",
)


def _columns(query) -> set[str]:
    return {r[0] for r in query("SELECT column_name FROM information_schema.columns WHERE table_name = 'engagement_window'")}


def test_a_schema_2_duckdb_warehouse_keeps_its_windows_and_gets_the_new_tables(tmp_path):
    path = str(tmp_path / "old.duckdb")
    con = duckdb.connect(path)
    con.execute(SCHEMA_2_WINDOWS.format(t="VARCHAR"))
    con.execute(_schema_2_facts("duckdb"))
    con.close()
    for _ in range(2):  # opening again changes nothing more
        open_warehouse(path).close()
    con = duckdb.connect(path, read_only=True)
    try:
        got = [con.execute(q).fetchall() for q in CHECKS]
        assert got == [[("nuvola", 3, 2)], [(0,)], [(0,)]]
        assert {"device", "sentiment", "pane_index", "pane_timing"} <= _columns(lambda q: con.execute(q).fetchall())
        facts = {
            r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'fact_events'").fetchall()
        }
        assert {"influence", "crisis_risk", "text_fingerprint", "sentiment"} <= facts
    finally:
        con.close()


@pytest.mark.integration
def test_a_schema_2_postgresql_warehouse_keeps_its_windows_and_gets_the_new_tables(pg_dsn):
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as con:
        for statement in [*SCHEMA_2_WINDOWS.format(t="TEXT").split(";"), _schema_2_facts("postgres")]:
            con.execute(statement)
    for _ in range(2):
        open_warehouse(pg_dsn).close()
    with psycopg.connect(pg_dsn) as con:
        got = [con.execute(q).fetchall() for q in CHECKS]
        assert got == [[("nuvola", 3, 2)], [(0,)], [(0,)]]
        assert {"device", "sentiment", "pane_index", "pane_timing"} <= _columns(lambda q: con.execute(q).fetchall())
