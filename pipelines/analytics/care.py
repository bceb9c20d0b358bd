"""Customer care, ``care-v1``, in Python: which accepted events are requests, which answer them,
and the ``care_response`` row of each, for both paths (one definition; the SQL twin is the BI
view ``v_care_requests``, held equal to it by ``tests/streaming/test_parity.py``).

- A **request** is a post, mention, comment, reply, review or DM by a non-brand account, one per
  own brand (catalog role ``own``) it is about. It is a care request when its intent is
  ``complaint`` or ``question``, or ``unknown`` (no intent) once that brand answered it anyway.
- An **answer** is any event by a brand account whose ``parent_id`` is the request, attributed
  to that brand; the first answer is the earliest in event time (whatever the arrival order).
- The SLA is per brand (table ``care_sla_policy``, 3600 s by default). ``response_seconds =
  floor((first_answer - asked) / 1 s)``; answered within the SLA when ``response_seconds <= sla``,
  i.e. an answer at event time ``<= deadline = asked + sla * 1000 + 999`` ms.
- **Overdue** (the real-time alert, ``overdue_at = asked + sla``): a complaint or question not
  answered within the SLA, once the window holding its deadline is final:

      due(request) = window_end(deadline) + L = floor(deadline / W) * W + W + L      (ms)

  with ``W`` the smallest ``--window-seconds`` size, the one lateness is judged against.

  After the watermark reaches ``due``, no answer at or before the deadline can still be accepted
  (an answer ``r`` is accepted only if ``window_end(r) + L > watermark`` and ``window_end(r) <=
  window_end(deadline)``), so ``overdue_at`` is a function of the accepted events alone, equal on
  both paths whatever the arrival order; the alert comes at most ``W + L`` after the deadline.

Everything is keyed by ``(request_id, brand)``: a request signal from the request, an answer
signal from each answer. ``fold`` merges signals in any order (replies before their request
included); ``care_row`` is the row. The embedded path (``update_care_responses``, after each
commit) folds the committed events that touch the new batches' requests and marks overdue rows
against the committed watermark; the streaming path folds in Beam state
(``pipelines.streaming.care``). Both write with ``upsert_care_rows``: rows only move forward
(earlier first answer, overdue set once), so a replay or an older copy changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from pipelines.analytics.sql import is_pg, rows, transaction
from pipelines.io.batch import Dialect

CARE_VERSION = "care-v1"
DEFAULT_SLA_SECONDS = 3600
REQUEST_TYPES = frozenset({"post", "mention", "comment", "reply", "review", "direct_message"})
REQUEST_INTENTS = frozenset({"complaint", "question"})
CareKey = tuple[str, str]  # (request event id, own brand)


@dataclass(frozen=True)
class CarePolicy:
    """Own brands and their SLA (``care_sla_policy``); read at the edge, passed down frozen."""

    own_brands: frozenset[str]
    sla_by_brand: tuple[tuple[str, int], ...] = ()
    default_sla_seconds: int = DEFAULT_SLA_SECONDS

    def sla_seconds(self, brand: str) -> int:
        return dict(self.sla_by_brand).get(brand, self.default_sla_seconds)


class CareRow(NamedTuple):
    request_id: str
    brand: str
    platform: str
    event_type: str
    intent: str
    asked_ms: int
    first_answer_ms: int | None
    response_seconds: int | None
    sla_seconds: int
    overdue_ms: int | None


def care_signals(event: dict, own_brands: frozenset[str]) -> list[tuple[CareKey, tuple]]:
    """``((request_id, brand), signal)`` pairs of one accepted event (the pipeline's dict: ``author``
    nested, ``event_time`` in ms): ``("answer", event_ms)`` or
    ``("request", event_ms, platform, event_type, intent)``; none for anything else."""
    brands = [b for b in dict.fromkeys(event.get("brands") or ()) if b in own_brands]
    if event["author"]["is_brand_account"]:
        parent = event.get("parent_id")
        return [((parent, b), ("answer", event["event_time"])) for b in brands] if parent else []
    if event["event_type"] not in REQUEST_TYPES:
        return []
    signal = ("request", event["event_time"], event["platform"], event["event_type"], event.get("intent") or "unknown")
    return [((event["event_id"], b), signal) for b in brands]


def fold(state: dict | None, signal: tuple) -> dict:
    """The key's state after one more signal (order-free: the earliest answer wins)."""
    s = dict(state or {})
    if signal[0] == "request":
        _kind, s["asked_ms"], s["platform"], s["event_type"], s["intent"] = signal
    elif s.get("answer_ms") is None or signal[1] < s["answer_ms"]:
        s["answer_ms"] = signal[1]
    return s


def deadline_ms(asked_ms: int, sla_seconds: int) -> int:
    """The last event time (ms) of an answer within the SLA (``response_seconds <= sla``)."""
    return asked_ms + sla_seconds * 1000 + 999


def overdue_due_ms(asked_ms: int, sla_seconds: int, window_ms: int, lateness_ms: int) -> int:
    """The watermark at which an unanswered request becomes overdue: window_end(deadline) + L."""
    d = deadline_ms(asked_ms, sla_seconds)
    return d - d % window_ms + window_ms + lateness_ms


def answered_within_sla(state: dict, sla_seconds: int) -> bool:
    a = state.get("answer_ms")
    return a is not None and a <= deadline_ms(state["asked_ms"], sla_seconds)


def can_become_overdue(state: dict) -> bool:
    return "asked_ms" in state and state["intent"] in REQUEST_INTENTS


def care_row(key: CareKey, state: dict, sla_seconds: int) -> CareRow | None:
    """The key's row, or None while it is no care request (no request yet; intent neither
    complaint nor question and no answer)."""
    if "asked_ms" not in state:
        return None
    answer = state.get("answer_ms")
    if state["intent"] not in REQUEST_INTENTS and not (state["intent"] == "unknown" and answer is not None):
        return None
    asked = state["asked_ms"]
    return CareRow(
        key[0],
        key[1],
        state["platform"],
        state["event_type"],
        state["intent"],
        asked,
        answer,
        None if answer is None else (answer - asked) // 1000,
        sla_seconds,
        state.get("overdue_ms"),
    )


def merge_rows(care_rows: list[CareRow]) -> list[CareRow]:
    """One row per key, the most advanced (DuckDB keeps one of two repeated upsert keys at random)."""
    best: dict[CareKey, CareRow] = {}
    for r in care_rows:
        k = (r.request_id, r.brand)
        old = best.get(k)
        if old is None:
            best[k] = r
            continue
        earlier = r.first_answer_ms is not None and (old.first_answer_ms is None or r.first_answer_ms < old.first_answer_ms)
        answer = r if earlier else old
        best[k] = old._replace(
            first_answer_ms=answer.first_answer_ms,
            response_seconds=answer.response_seconds,
            overdue_ms=old.overdue_ms if old.overdue_ms is not None else r.overdue_ms,
        )
    return list(best.values())


def _ts(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


UPSERT_CHUNK = 1000


def upsert_care_rows(con, d: Dialect, care_rows: list[CareRow], now: datetime) -> int:
    """Writes rows inside the caller's transaction; a row only moves forward. DuckDB reads them
    from Arrow (binding parameters row by row costs about 1 ms a row there); PostgreSQL from one
    multi-row VALUES per thousand."""
    merged = merge_rows(care_rows)
    if not merged:
        return 0
    earlier = "care_response.first_answer_at IS NULL OR excluded.first_answer_at < care_response.first_answer_at"
    insert = f"""INSERT INTO care_response (request_id, brand, platform, event_type, intent, asked_at, first_answer_at,
                    response_seconds, sla_seconds, overdue_at, care_version, updated_at)
                {{source}}
                ON CONFLICT (request_id, brand, care_version) DO UPDATE SET
                  first_answer_at = CASE WHEN {earlier} THEN excluded.first_answer_at ELSE care_response.first_answer_at END,
                  response_seconds = CASE WHEN {earlier} THEN excluded.response_seconds ELSE care_response.response_seconds END,
                  overdue_at = coalesce(care_response.overdue_at, excluded.overdue_at),
                  updated_at = excluded.updated_at"""
    if not is_pg(d):
        import pyarrow as pa

        ms = pa.timestamp("ms")
        batch = pa.table(
            {
                "request_id": pa.array([r.request_id for r in merged], pa.string()),
                "brand": pa.array([r.brand for r in merged], pa.string()),
                "platform": pa.array([r.platform for r in merged], pa.string()),
                "event_type": pa.array([r.event_type for r in merged], pa.string()),
                "intent": pa.array([r.intent for r in merged], pa.string()),
                "asked_at": pa.array([r.asked_ms for r in merged], pa.int64()).cast(ms),
                "first_answer_at": pa.array([r.first_answer_ms for r in merged], pa.int64()).cast(ms),
                "response_seconds": pa.array([r.response_seconds for r in merged], pa.int64()),
                "sla_seconds": pa.array([r.sla_seconds for r in merged], pa.int32()),
                "overdue_at": pa.array([r.overdue_ms for r in merged], pa.int64()).cast(ms),
            }
        )
        con.register("care_batch", batch)
        try:
            con.execute(insert.format(source="SELECT *, ?, ? FROM care_batch"), [CARE_VERSION, now])
        finally:
            con.unregister("care_batch")
        return len(merged)
    q = d.param
    for i in range(0, len(merged), UPSERT_CHUNK):
        part = merged[i : i + UPSERT_CHUNK]
        params: list = []
        for r in part:
            params += [r.request_id, r.brand, r.platform, r.event_type, r.intent, _ts(r.asked_ms), _ts(r.first_answer_ms)]
            params += [r.response_seconds, r.sla_seconds, _ts(r.overdue_ms), CARE_VERSION, now]
        rows(con, d, insert.format(source="VALUES " + ", ".join([f"({', '.join([q] * 12)})"] * len(part))), params)
    return len(merged)


def read_care_policy(con, d: Dialect, own_brands: frozenset[str]) -> CarePolicy:
    got = rows(con, d, "SELECT brand, sla_seconds FROM care_sla_policy ORDER BY brand")
    return CarePolicy(own_brands, tuple((b, int(s)) for b, s in got))


@dataclass
class CareUpdate:
    batches_from: int  # the first batch id folded
    rows_written: int
    overdue_marked: int


def update_care_responses(
    con, d: Dialect, own_brands: frozenset[str], watermark_ms: int | None, window_seconds: int, lateness_seconds: int
) -> CareUpdate:
    """The embedded path, after a commit: folds the events that touch the requests of the batches
    not folded yet (``care-v1.last_batch_id`` in ``warehouse_meta``), then marks overdue rows
    against the committed global watermark (the driver's twin of the streaming timers)."""
    policy = read_care_policy(con, d, own_brands)
    meta = rows(con, d, f"SELECT value FROM warehouse_meta WHERE key = {d.param}", [f"{CARE_VERSION}.last_batch_id"])
    since = int(meta[0][0]) if meta else -1
    (max_batch,) = rows(con, d, "SELECT coalesce(max(batch_id), -1) FROM fact_events")[0]
    touched = f"""SELECT event_id AS id FROM fact_events WHERE batch_id > {d.param}
                  UNION SELECT parent_id FROM fact_events WHERE batch_id > {d.param} AND author_is_brand_account AND parent_id IS NOT NULL"""
    events = rows(
        con,
        d,
        f"""WITH touched AS ({touched})
            SELECT event_id, parent_id, CAST({d.epoch_ms.format("event_time")} AS BIGINT), author_is_brand_account, brands,
                   platform, event_type, intent
            FROM fact_events
            WHERE event_id IN (SELECT id FROM touched) OR (author_is_brand_account AND parent_id IN (SELECT id FROM touched))""",
        [since, since],
    )
    states: dict[CareKey, dict] = {}
    for eid, parent, ms, is_brand, brands, platform, event_type, intent in events:
        event = {
            "event_id": eid,
            "parent_id": parent,
            "event_time": int(ms),
            "author": {"is_brand_account": is_brand},
            "brands": list(brands),
        }
        event.update(platform=platform, event_type=event_type, intent=intent)
        for key, signal in care_signals(event, own_brands):
            states[key] = fold(states.get(key), signal)
    care_rows = [r for k, s in states.items() if (r := care_row(k, s, policy.sla_seconds(k[1]))) is not None]
    now = datetime.now(UTC).replace(tzinfo=None)
    marked = 0
    with transaction(con, d):
        written = upsert_care_rows(con, d, care_rows, now)
        if watermark_ms is not None:
            marked = mark_overdue(con, d, watermark_ms, window_seconds * 1000, lateness_seconds * 1000, now)
        rows(
            con,
            d,
            f"INSERT INTO warehouse_meta VALUES ({d.param}, {d.param}) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [f"{CARE_VERSION}.last_batch_id", str(max(since, int(max_batch)))],
        )
    return CareUpdate(since + 1, written, marked)


def mark_overdue(con, d: Dialect, watermark_ms: int, window_ms: int, lateness_ms: int, now: datetime) -> int:
    """``overdue_at`` for the complaints and questions not answered within their SLA whose
    ``overdue_due_ms`` the watermark has reached; returns how many."""
    deadline = f"(CAST({d.epoch_ms.format('asked_at')} AS BIGINT) + sla_seconds * 1000 + 999)"
    due = f"(CAST(floor({deadline} / {window_ms}.0) AS BIGINT) * {window_ms} + {window_ms + lateness_ms})"
    where = f"""overdue_at IS NULL AND care_version = {d.param} AND intent IN ('complaint', 'question')
                AND (first_answer_at IS NULL OR response_seconds > sla_seconds) AND {due} <= {d.param}"""
    (n,) = rows(con, d, f"SELECT count(*) FROM care_response WHERE {where}", [CARE_VERSION, watermark_ms])[0]
    if n:
        rows(
            con,
            d,
            f"UPDATE care_response SET overdue_at = asked_at + sla_seconds * INTERVAL '1 second', updated_at = {d.param} WHERE {where}",
            [now, CARE_VERSION, watermark_ms],
        )
    return int(n)
