"""The two warehouse dialects describe one logical schema: same tables, same columns, same views."""

import re

from schemas import SCHEMA_DIR


def _shape(dialect: str) -> tuple[dict[str, list[str]], set[str]]:
    sql = (SCHEMA_DIR / "warehouse" / f"{dialect}.sql").read_text()
    sql = re.sub(r"--[^\n]*", "", sql)
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", sql, flags=re.S):
        cols = [line.split()[0] for line in body.strip().splitlines() if line.strip() and not line.strip().startswith("PRIMARY KEY")]
        tables[name] = cols
    for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN IF NOT EXISTS (\w+)", sql):
        tables[table].append(column)
    views = set(re.findall(r"CREATE OR REPLACE VIEW (\w+)", sql))
    return tables, views


def test_duckdb_and_postgresql_schemas_have_the_same_tables_columns_and_views():
    duck_tables, duck_views = _shape("duckdb")
    pg_tables, pg_views = _shape("postgres")
    assert len(duck_tables) >= 9 and "engagement_window" in duck_tables
    assert duck_tables == pg_tables
    assert duck_views == pg_views
