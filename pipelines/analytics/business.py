"""The business state of a warehouse: crisis episodes (crisis-v1, incremental) and the crisis and
care gauges, and the dedup-v1 flag counts. One function for both paths:

- the embedded driver calls ``refresh_business_state`` after each commit (``driver.py``); crisis-v1
  finds what is new from the batch ids it has not seen;
- the streaming runners have no commit of ours to hang it on, so ``ascolto analytics --follow``
  (``pipelines.analytics.follow``) calls it on a schedule; what is new there comes from the change
  marks the streaming sink writes with its rows (``analytics_changes``: per bundle and brand,
  the earliest event time it wrote), consumed by ``consume_changes``.

Crisis-v1 recomputed from the new events' earliest time reproduces a full run exactly
(``analytics.crisis``), so both paths end with the same ``crisis_episodes`` for the same facts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pipelines.analytics.crisis import DETECTOR_VERSION, CrisisUpdate, update_crisis_episodes
from pipelines.analytics.sql import rows, transaction
from pipelines.io.batch import Dialect


@dataclass
class BusinessState:
    crisis: CrisisUpdate
    open_severity: dict[str, float]  # brands with an open episode -> its severity
    care: list[tuple]  # (brand, overdue, sla_share) when refreshed, else []
    flagged: list[tuple]  # (kind, events) of dedup-v1's flags when refreshed with care, else []


def refresh_business_state(
    con, d: Dialect, catalog, metrics, refresh_care: bool = True, changed: dict[str, int] | None = None
) -> BusinessState:
    """Crisis episodes up to date, then the gauges of ``metrics`` (``PipelineMetrics`` or
    ``AnalyticsMetrics``) set from the warehouse. Database errors propagate: the caller counts
    them as ``analytics`` failures and retries (nothing here is lost by a retry)."""
    update = update_crisis_episodes(con, d, catalog=catalog, changed=changed)
    open_severity = {
        b: float(s or 0.0)
        for b, s in rows(
            con,
            d,
            f"SELECT brand, max(severity) FROM crisis_episodes WHERE ended_at IS NULL AND detector_version = {d.param} GROUP BY brand",
            [DETECTOR_VERSION],
        )
    }
    care = rows(con, d, "SELECT brand, overdue, sla_share FROM v_care_sla_by_brand") if refresh_care else []
    # dedup-v1 (a view over every event too, so at the care cadence)
    flagged = rows(con, d, "SELECT kind, events FROM v_duplicates_by_kind WHERE action = 'flagged'") if refresh_care else []
    for brand in catalog.brand_ids:
        metrics.crisis_active.labels(brand).set(1 if brand in open_severity else 0)
        metrics.crisis_severity.labels(brand).set(open_severity.get(brand, 0.0))
    for brand, overdue, share in care:
        metrics.care_overdue.labels(brand).set(int(overdue))
        if share is not None:
            metrics.care_sla_share.labels(brand).set(float(share))
    for kind, events in flagged:
        metrics.flagged.labels(kind).set(int(events))
    return BusinessState(update, open_severity, care, flagged)


def change_marks(events: list[dict], now: datetime) -> list[tuple]:
    """A bundle's marks: one per brand of its accepted events, at the earliest event time (ms)."""
    earliest: dict[str, int] = {}
    for e in events:
        for b in e.get("brands") or ():
            earliest[b] = min(earliest.get(b, e["event_time"]), e["event_time"])
    return [(uuid.uuid4().hex, b, ms, now) for b, ms in sorted(earliest.items())]


def record_changes(con, d: Dialect, events: list[dict], now: datetime) -> None:
    """Inside the streaming sink's transaction: what ``consume_changes`` will hand to crisis-v1."""
    marks = change_marks(events, now)
    if marks:
        values = ", ".join([f"({d.param}, {d.param}, {d.timestamp.format(d.param)}, {d.param})"] * len(marks))
        rows(con, d, f"INSERT INTO analytics_changes VALUES {values}", [v for m in marks for v in m])


def pending_changes(con, d: Dialect) -> tuple[list[str], dict[str, int]]:
    """The marks committed so far: their ids, and per brand the earliest event time (ms)."""
    got = rows(con, d, f"SELECT change_id, brand, CAST({d.epoch_ms.format('min_event_time')} AS BIGINT) FROM analytics_changes")
    earliest: dict[str, int] = {}
    for _id, brand, ms in got:
        earliest[brand] = min(earliest.get(brand, int(ms)), int(ms))
    return [g[0] for g in got], earliest


def forget_changes(con, d: Dialect, ids: list[str]) -> None:
    """After the pass that used them: exactly these (marks committed meanwhile stay for the next)."""
    with transaction(con, d):
        for i in range(0, len(ids), 1000):
            part = ids[i : i + 1000]
            rows(con, d, f"DELETE FROM analytics_changes WHERE change_id IN ({', '.join([d.param] * len(part))})", part)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
