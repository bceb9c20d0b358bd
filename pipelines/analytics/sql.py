"""One small way to run SQL on either warehouse (a DuckDB connection or a psycopg connection).

The analytics code takes ``(con, dialect)`` like the shared commit code in ``pipelines.io.batch``:
the dialect says the placeholder and the epoch expressions; ``rows`` and ``transaction`` hide the
two clients' differences (psycopg has no result set for DML, DuckDB has no context manager for
transactions).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from pipelines.io.batch import DUCKDB, POSTGRES, Dialect
from pipelines.io.warehouse import WarehouseError, is_postgres


def is_pg(dialect: Dialect) -> bool:
    return dialect.param == POSTGRES.param


def rows(con, dialect: Dialect, sql: str, params: list | tuple = ()) -> list[tuple]:
    """Runs one statement; its rows, or [] for a statement without a result."""
    if is_pg(dialect):
        cur = con.execute(sql, list(params))
        return cur.fetchall() if cur.description else []
    return con.execute(sql, list(params)).fetchall()


def columns_and_rows(con, sql: str) -> tuple[list[str], list[tuple]]:
    """A query's column names and rows (both clients keep the DB-API ``description``)."""
    cur = con.cursor()
    cur.execute(sql)
    if cur.description is None:
        return [], []
    return [d[0] for d in cur.description], cur.fetchall()


@contextlib.contextmanager
def transaction(con, dialect: Dialect) -> Iterator[None]:
    if is_pg(dialect):
        with con.transaction():
            yield
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def connect(location: str, read_only: bool = True):
    """``(con, dialect)`` for a DuckDB file that must exist, or a ``postgresql://`` DSN.

    Read-only by default: a report or a query must not change what BI tools see. DuckDB refuses
    a second process while ``ascolto run`` holds the file (ARCHITECTURE.md): said in one line."""
    if is_postgres(location):
        from pipelines.io.postgres import _psycopg

        psycopg = _psycopg()
        try:
            con = psycopg.connect(location, autocommit=True)
        except psycopg.OperationalError as exc:
            raise WarehouseError(f"cannot connect to the PostgreSQL warehouse: {' '.join(str(exc).split())}") from None
        if read_only:
            con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return con, POSTGRES
    import duckdb

    if not Path(location).exists():
        raise WarehouseError(f"no warehouse at {location}: run 'ascolto run' or 'ascolto demo' first, or pass --warehouse")
    try:
        return duckdb.connect(location, read_only=read_only), DUCKDB
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open {location}: {first_line(exc)}. A running 'ascolto run' holds it; stop it first") from None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
