"""``ascolto query "SQL"``: one statement on the configured warehouse, as a table, CSV or JSON.

The warehouse is a DuckDB file or a ``postgresql://`` DSN (``--warehouse``, else
ASCOLTO_WAREHOUSE, else the default file), opened read-only unless ``--write``: a query is for
looking, and DuckDB lets a reader in only while no ``ascolto run`` holds the file. A query the
database refuses ends with one ``ascolto: error: query failed: ...`` line (exit 2).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import decimal
import json
import sys

from pipelines.analytics.sql import columns_and_rows, connect, first_line
from pipelines.config import DEFAULT_WAREHOUSE, env_defaults
from pipelines.io.warehouse import WarehouseError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sql", help="one SQL statement, e.g. \"SELECT * FROM v_net_sentiment_by_brand\" (views: README 'The warehouse')")
    p.add_argument("--warehouse", help=f"DuckDB file or postgresql:// DSN (env ASCOLTO_WAREHOUSE; default {DEFAULT_WAREHOUSE})")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="CSV with a header row on stdout")
    fmt.add_argument("--json", action="store_true", help="a JSON array of objects on stdout")
    p.add_argument("--max-rows", type=int, default=200, help="rows the table shows at most (CSV and JSON get all; default %(default)s)")
    p.add_argument("--write", action="store_true", help="open the warehouse for writing (e.g. INSERT INTO care_sla_policy ...)")


def warehouse_location(flag: str | None) -> str:
    return flag or str(env_defaults().get("warehouse") or DEFAULT_WAREHOUSE)


def run_query(location: str, sql: str, write: bool = False) -> tuple[list[str], list[tuple]]:
    con, _ = connect(location, read_only=not write)
    try:
        return columns_and_rows(con, sql)
    except database_errors() as exc:
        raise WarehouseError(f"query failed: {first_line(exc)}") from None
    finally:
        con.close()


def database_errors() -> tuple[type[BaseException], ...]:
    """What either client raises for a statement the database refuses (syntax, missing table, read-only)."""
    import duckdb

    errors: list[type[BaseException]] = [duckdb.Error]
    try:
        import psycopg

        errors.append(psycopg.Error)
    except ImportError:
        pass
    return tuple(errors)


def _json_value(v: object) -> object:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, dt.timedelta):
        return v.total_seconds()
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    return str(v)


def _cell(v: object) -> str:
    if v is None:
        return "[dim]NULL[/dim]"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list | tuple):
        return ", ".join(str(x) for x in v)
    return str(v)


def run(args: argparse.Namespace) -> int:
    from pipelines.config import ConfigError

    if args.max_rows < 1:
        raise ConfigError("--max-rows must be at least 1")
    columns, result = run_query(warehouse_location(args.warehouse), args.sql, args.write)
    if args.csv:
        w = csv.writer(sys.stdout, lineterminator="\n")
        if columns:
            w.writerow(columns)
        w.writerows([["" if v is None else v for v in r] for r in result])
        return 0
    if args.json:
        json.dump([dict(zip(columns, r)) for r in result], sys.stdout, default=_json_value, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from rich.markup import escape
    from rich.table import Table

    from pipelines.cli import console

    out = console()
    if not columns:
        out.print("statement done (no result rows)")
        return 0
    t = Table(show_lines=False)
    for c in columns:
        t.add_column(escape(c))
    for r in result[: args.max_rows]:
        t.add_row(*(v if v == "[dim]NULL[/dim]" else escape(v) for v in map(_cell, r)))
    out.print(t)
    more = f" (showing {args.max_rows}; --csv or --json for all)" if len(result) > args.max_rows else ""
    out.print(f"[dim]{len(result):,} rows{more}[/dim]")
    return 0
