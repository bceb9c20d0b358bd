"""Rows for ``ascolto summary`` (the lead's ``pipelines/summary.py``), from the analytics views.

``crisis_summary`` lives in ``crisis.py``; these two give the care SLA and both net-sentiment
formulas per brand in the shape a rich table wants, on either warehouse.
"""

from __future__ import annotations

from pipelines.analytics.sql import rows
from pipelines.io.batch import Dialect


def care_sla_summary(con, dialect: Dialect) -> list[tuple]:
    """Per own brand, most requests first: brand name, requests, answered, unanswered, overdue,
    share within the SLA (None when nothing is decided yet), median and p90 first response in
    minutes (None without answers), the SLA in minutes."""
    got = rows(
        con,
        dialect,
        """SELECT coalesce(d.name, c.brand), c.requests, c.answered, c.unanswered, c.overdue, c.sla_share,
                  c.median_response_seconds / 60.0, c.p90_response_seconds / 60.0, c.sla_seconds / 60.0
           FROM v_care_sla_by_brand c LEFT JOIN brand_dim d USING (brand) ORDER BY c.requests DESC, c.brand""",
    )
    return [(name, int(q), int(a), int(u), int(o), *(None if v is None else float(v) for v in rest)) for name, q, a, u, o, *rest in got]


def net_sentiment_summary(con, dialect: Dialect) -> dict[str, tuple]:
    """brand id -> (positive, neutral, negative, unknown, net_sentiment_ratio, net_sentiment_share)."""
    got = rows(
        con,
        dialect,
        "SELECT brand, positive, neutral, negative, unknown, net_sentiment_ratio, net_sentiment_share FROM v_net_sentiment_by_brand",
    )
    return {
        b: (int(p), int(n), int(g), int(u), None if r is None else float(r), None if s is None else float(s)) for b, p, n, g, u, r, s in got
    }


def dedup_summary(con, dialect: Dialect, campaigns: int = 5) -> tuple[list[tuple], list[tuple]]:
    """dedup-v1: (kind, action, events) for every kind (redeliveries dropped, cross-posts and
    coordinated events flagged), and the largest copy-paste campaigns (most authors, then newest): brand name,
    first seen, last seen, authors, events, sample text."""
    kinds = rows(
        con,
        dialect,
        "SELECT kind, action, events FROM v_duplicates_by_kind ORDER BY CASE kind WHEN 'redelivery' THEN 0 WHEN 'cross_post' THEN 1 ELSE 2 END",
    )
    got = rows(
        con,
        dialect,
        f"""SELECT coalesce(d.name, c.brand), c.first_seen, c.last_seen, c.authors, c.events, c.sample_text
            FROM v_coordinated_campaigns c LEFT JOIN brand_dim d USING (brand)
            ORDER BY c.authors DESC, c.first_seen DESC, c.brand LIMIT {int(campaigns)}""",
    )
    return [(k, a, int(n)) for k, a, n in kinds], [(b, f, last, int(a), int(n), t) for b, f, last, a, n, t in got]
