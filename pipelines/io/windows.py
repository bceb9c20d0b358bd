"""The two window tables as the warehouses store them: Arrow columns and the shared SQL.

``engagement_window`` (``model.WindowKey`` -> ``WindowTotals``) and ``aspect_window``
(``AspectWindowKey`` -> ``AspectTotals``) have the same life cycle, written by the same
statements with their own columns:

- the embedded commit adds a micro-batch's deltas (``upsert_deltas_sql``): totals added,
  ``pane_index`` + 1 and ``revision`` + 1 per micro-batch that changed the row, ``pane_timing``
  from the global watermark before and after the batch (``pane_timing_sql``);
- the streaming sink writes Beam panes (``upsert_panes_sql``): a pane replaces the row only when
  its index is higher (replays and retries cannot move a row backwards); ``revision`` =
  ``pane_index`` + 1;
- both mark a window final once ``window_end + allowed lateness <= watermark``
  (``finalize_sql``, embedded; the finalizer's timer, streaming): ``pane_timing`` FINAL, one more
  pane. A final row never changes again: an event on time for the smallest window is on time
  for every window that contains it (nested sizes), so no accepted event reaches a final row.

The keys of one upsert must be unique (DuckDB silently keeps one of two rows with one key,
ARCHITECTURE.md): ``sum_by_key`` pre-aggregates, ``has_unique_keys`` checks before each upsert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from pipelines.model import AspectWindowKey, WindowRow

if TYPE_CHECKING:
    from pipelines.io.batch import Dialect


@dataclass(frozen=True)
class WindowTable:
    name: str
    dimensions: tuple[str, ...]  # key columns after (window start, window size)
    totals: tuple[str, ...]  # summed columns

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The Arrow key columns (``ws`` = window start in epoch ms)."""
        return ("ws", "window_seconds", *self.dimensions)

    def to_arrow(self, rows: list) -> pa.Table:
        """Rows (``WindowRow`` or ``WindowPane`` of this table) -> Arrow columns."""
        cols: dict[str, pa.Array] = {
            "ws": pa.array([r.key[0] for r in rows], pa.int64()),
            "window_seconds": pa.array([r.key[1] for r in rows], pa.int32()),
        }
        for i, name in enumerate(self.dimensions, start=2):
            cols[name] = pa.array([r.key[i] for r in rows], pa.string())
        for i, name in enumerate(self.totals):
            cols[name] = pa.array([r.totals[i] for r in rows], pa.int64())
        return pa.table(cols)


ENGAGEMENT = WindowTable(
    "engagement_window",
    ("brand", "platform", "event_type", "lang", "device", "sentiment"),
    ("events", "engagement_points", "reach", "impressions"),
)
ASPECTS = WindowTable("aspect_window", ("brand", "aspect", "polarity"), ("mentions",))
TABLES = (ENGAGEMENT, ASPECTS)


def is_aspect_row(row) -> bool:
    return isinstance(row.key, AspectWindowKey)


def split_rows(rows: list) -> tuple[list, list]:
    """Rows or panes of both tables -> (engagement, aspects)."""
    engagement, aspects = [], []
    for r in rows:
        (aspects if is_aspect_row(r) else engagement).append(r)
    return engagement, aspects


def engagement_rows_to_arrow(rows: list[WindowRow]) -> pa.Table:
    return ENGAGEMENT.to_arrow(rows)


def aspect_rows_to_arrow(rows: list[WindowRow]) -> pa.Table:
    return ASPECTS.to_arrow(rows)


def panes_to_arrow(table: WindowTable, panes: list) -> pa.Table:
    """Streaming panes -> the table's columns plus pane index, timing and the final flag."""
    out = table.to_arrow(panes)
    out = out.append_column("pane_index", pa.array([p.pane_index for p in panes], pa.int32()))
    out = out.append_column("pane_timing", pa.array([p.timing for p in panes], pa.string()))
    return out.append_column("is_final", pa.array([p.is_final for p in panes], pa.bool_()))


def sum_by_key(table: WindowTable, deltas: pa.Table) -> pa.Table:
    """Deltas that share a key (several worker processes touched one window) summed into one row."""
    if deltas.num_rows == 0:
        return deltas
    summed = deltas.group_by(list(table.key_columns)).aggregate([(c, "sum") for c in table.totals])
    return summed.rename_columns([c.removesuffix("_sum") for c in summed.column_names]).select(deltas.column_names)


def has_unique_keys(table: WindowTable, rows: pa.Table) -> bool:
    return rows.num_rows == 0 or rows.group_by(list(table.key_columns)).aggregate([]).num_rows == rows.num_rows


def copy_ddl(table: WindowTable, panes: bool = False) -> str:
    """Column definitions of a PostgreSQL temporary table that receives ``to_arrow``'s columns by COPY."""
    cols = ["ws BIGINT", "window_seconds INT", *(f"{c} TEXT" for c in table.dimensions), *(f"{c} BIGINT" for c in table.totals)]
    if panes:
        cols += ["pane_index INT", "pane_timing TEXT", "is_final BOOLEAN"]
    return ", ".join(cols)


WINDOW_END_MS = "(ws + window_seconds * 1000)"


def pane_timing_sql(watermark_before_ms: int | None, watermark_after_ms: int | None) -> str:
    """The timing of a micro-batch's pane of each row (global watermarks, before and after it):
    EARLY while the watermark after the batch is before window_end; ON_TIME for the batch that
    moved it to window_end or past; LATE when it had passed window_end before the batch (late
    data, within the allowed lateness). Beam's rule for the streaming panes, at batch boundaries."""
    if watermark_after_ms is None:
        return "'EARLY'"
    late = f"WHEN {WINDOW_END_MS} <= {int(watermark_before_ms)} THEN 'LATE' " if watermark_before_ms is not None else ""
    return f"CASE WHEN {WINDOW_END_MS} > {int(watermark_after_ms)} THEN 'EARLY' {late}ELSE 'ON_TIME' END"


def _columns(t: WindowTable) -> str:
    return ", ".join(("window_start", "window_end", "window_seconds", *t.dimensions, *t.totals))


def _starts(t: WindowTable, d: Dialect) -> str:
    return ", ".join((d.timestamp.format("ws"), d.timestamp.format(WINDOW_END_MS), "window_seconds", *t.dimensions, *t.totals))


def upsert_deltas_sql(t: WindowTable, d: Dialect, source: str, timing: str) -> str:
    """Embedded commit: adds the deltas in ``source``; params: metric version, updated_at."""
    conflict = ", ".join(("window_start", "window_seconds", *t.dimensions))
    added = ", ".join(f"{c} = {t.name}.{c} + excluded.{c}" for c in t.totals)
    return f"""INSERT INTO {t.name} ({_columns(t)}, revision, pane_index, pane_timing, is_final, metric_version, updated_at)
        SELECT {_starts(t, d)}, 1, 0, {timing}, false, {d.param}, {d.param} FROM {source}
        ON CONFLICT ({conflict}) DO UPDATE SET {added}, revision = {t.name}.revision + 1, pane_index = {t.name}.pane_index + 1,
          pane_timing = excluded.pane_timing, updated_at = excluded.updated_at"""


def upsert_panes_sql(t: WindowTable, d: Dialect, source: str) -> str:
    """Streaming sink: a pane replaces the row when its index is higher; params: metric version, updated_at."""
    conflict = ", ".join(("window_start", "window_seconds", *t.dimensions))
    replaced = ", ".join(f"{c} = excluded.{c}" for c in (*t.totals, "revision", "pane_index", "pane_timing", "is_final", "updated_at"))
    return f"""INSERT INTO {t.name} ({_columns(t)}, revision, pane_index, pane_timing, is_final, metric_version, updated_at)
        SELECT {_starts(t, d)}, pane_index + 1, pane_index, pane_timing, is_final, {d.param}, {d.param} FROM {source}
        ON CONFLICT ({conflict}) DO UPDATE SET {replaced}
        WHERE excluded.pane_index > {t.name}.pane_index"""


def finalize_sql(t: WindowTable, d: Dialect) -> str:
    """Windows the watermark has passed by the allowed lateness become final, in one more pane;
    params: updated_at, allowed lateness ms, global watermark ms."""
    return f"""UPDATE {t.name} SET is_final = true, revision = revision + 1, pane_index = pane_index + 1, pane_timing = 'FINAL',
          updated_at = {d.param}
        WHERE NOT is_final AND {d.epoch_ms.format("window_end")} + {d.param} <= {d.param}"""


LEGACY_ENGAGEMENT_TABLE = "engagement_window_v4"  # the windows of schemas 1-4 (no device, sentiment, panes): kept, not read


def retire_legacy_windows(query, postgres: bool) -> bool:
    """Before the DDL runs: an ``engagement_window`` of schema 4 or older (keyed without device and
    sentiment, so it cannot be migrated in place) is renamed ``engagement_window_v4`` and kept as it was; the DDL
    then creates the new table, which fills from the events committed from now on. Returns
    whether it renamed. ``query(sql, params) -> rows``."""
    schema = " AND table_schema = current_schema()" if postgres else ""
    cols = {r[0] for r in query(f"SELECT column_name FROM information_schema.columns WHERE table_name = 'engagement_window'{schema}", [])}
    if not cols or "device" in cols:
        return False
    query(f"ALTER TABLE engagement_window RENAME TO {LEGACY_ENGAGEMENT_TABLE}", [])
    if postgres:  # index names are unique per schema: the new table's primary key needs the old name
        query(f"ALTER TABLE {LEGACY_ENGAGEMENT_TABLE} RENAME CONSTRAINT engagement_window_pkey TO {LEGACY_ENGAGEMENT_TABLE}_pkey", [])
    return True
