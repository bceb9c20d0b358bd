"""What a marketing lead wants to see after a run, computed from the warehouse.

``collect_summary`` runs the queries; ``render_summary`` prints rich tables. Mentions are
events that carry what people say (posts, mentions, comments, replies, reviews, direct
messages, shares); reactions and views count as engagement and impressions.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
from rich.console import Console
from rich.table import Table

from pipelines.analytics.crisis import crisis_summary
from pipelines.analytics.summary_rows import care_sla_summary, dedup_summary, net_sentiment_summary
from pipelines.catalog import Catalog
from pipelines.io.batch import DUCKDB
from pipelines.model import MENTION_TYPES


@dataclass
class Summary:
    brands: list[tuple]  # brand, sector, role, mentions, engagement, reach, impressions, share_of_voice
    brand_ids: list[str]  # the catalog id of each row of ``brands`` ('unattributed' for the last one)
    platforms: list[tuple]  # platform, mentions, engagement, top brand
    health: dict[str, int]
    dead_letters: list[tuple]  # reason, count
    windows: tuple[int, int, int]  # rows, final, max revision
    event_time_range: tuple | None
    care: list[tuple]  # care_sla_summary rows: brand, requests, answered, unanswered, overdue, sla share, median, p90, SLA (min)
    crises: list[tuple]  # crisis_summary rows, newest first
    sentiment: dict[str, tuple]  # net_sentiment_summary: brand id -> (pos, neu, neg, unknown, net ratio, net share)
    aspects: list[tuple]  # brand name, top praised [(aspect, n)], top criticised [(aspect, n)]
    dedup: list[tuple]  # dedup_summary kinds: kind, action, events
    campaigns: list[tuple]  # dedup_summary campaigns: brand name, first seen, last seen, authors, events, sample text
    batches: int
    busy_seconds: float


def collect_summary(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> Summary:
    types = ", ".join(f"'{t}'" for t in sorted(MENTION_TYPES))
    per_brand = {
        r[0]: r[1:]
        for r in con.execute(f"""
        SELECT brand, sum(events) FILTER (WHERE event_type IN ({types})), sum(engagement_points), sum(reach), sum(impressions)
        FROM engagement_by_day GROUP BY brand""").fetchall()
    }
    organic = dict(con.execute("SELECT brand, count(*) FROM v_organic_mentions GROUP BY brand").fetchall())  # dedup-v1
    sector_mentions: dict[str, int] = {}
    for b in catalog.brands:
        sector_mentions[b.sector] = sector_mentions.get(b.sector, 0) + int(organic.get(b.id, 0))
    brands, brand_ids = [], []
    for b in catalog.brands:
        if b.id not in per_brand:
            continue  # a catalog brand nobody talked about in this warehouse
        m, e, r, i = (int(x or 0) for x in per_brand[b.id])
        sov = organic.get(b.id, 0) / sector_mentions[b.sector] if sector_mentions[b.sector] else 0.0
        brands.append((b.name, b.sector, b.role, m, e, r, i, sov))
        brand_ids.append(b.id)
    if "unattributed" in per_brand:
        m, e, r, i = (int(x or 0) for x in per_brand["unattributed"])
        brands.append(("(unattributed)", "-", "-", m, e, r, i, None))
        brand_ids.append("unattributed")
    platforms = con.execute(f"""
        WITH p AS (
          SELECT platform, brand, sum(events) FILTER (WHERE event_type IN ({types})) AS mentions, sum(engagement_points) AS engagement
          FROM engagement_by_day WHERE brand <> 'unattributed' GROUP BY platform, brand)
        SELECT platform, sum(mentions), sum(engagement), arg_max(brand, mentions)
        FROM p GROUP BY platform ORDER BY 3 DESC""").fetchall()
    names = {b.id: b.name for b in catalog.brands}
    platforms = [(p, int(m or 0), int(e or 0), names.get(top, top)) for p, m, e, top in platforms]
    h = con.execute("""SELECT coalesce(sum(consumed),0), coalesce(sum(accepted),0), coalesce(sum(duplicates),0),
                              coalesce(sum(late),0), coalesce(sum(dead_letters),0), count(*),
                              coalesce(sum(pipeline_seconds + commit_seconds),0) FROM batches""").fetchall()[0]
    health = dict(zip(("consumed", "accepted", "duplicates", "late", "dead_letters"), (int(x) for x in h[:5])))
    dl = con.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason ORDER BY 2 DESC").fetchall()
    w = con.execute("SELECT count(*), coalesce(sum(is_final::INT),0), coalesce(max(revision),0) FROM engagement_window").fetchall()[0]
    rng = con.execute("SELECT min(window_start), max(window_end) FROM engagement_window").fetchall()[0]
    care = care_sla_summary(con, DUCKDB)
    crises = crisis_summary(con, DUCKDB)
    sentiment = net_sentiment_summary(con, DUCKDB)
    aspects = _aspects(con, names)
    dedup, campaigns = dedup_summary(con, DUCKDB)
    return Summary(
        brands,
        brand_ids,
        platforms,
        health,
        dl,
        (int(w[0]), int(w[1]), int(w[2])),
        rng if rng[0] else None,
        care,
        crises,
        sentiment,
        aspects,
        dedup,
        campaigns,
        int(h[5]),
        float(h[6]),
    )


def _aspects(con: duckdb.DuckDBPyConnection, names: dict[str, str], top: int = 3) -> list[tuple]:
    """Per brand: its most praised and most criticised aspects (view ``v_brand_aspects``: customer
    posts, each aspect and polarity counted once per post)."""
    rows = con.execute("""
        SELECT brand, aspect, 'positive', positive FROM v_brand_aspects WHERE positive > 0
        UNION ALL
        SELECT brand, aspect, 'negative', negative FROM v_brand_aspects WHERE negative > 0
        ORDER BY 1, 4 DESC, 2""").fetchall()
    per: dict[str, dict[str, list]] = {}
    for brand, category, polarity, n in rows:
        slot = per.setdefault(brand, {"positive": [], "negative": []})[polarity]
        if len(slot) < top:
            slot.append((category, int(n)))
    order = {b: i for i, b in enumerate(names)}
    return [(names.get(b, b), v["positive"], v["negative"]) for b, v in sorted(per.items(), key=lambda kv: order.get(kv[0], len(order)))]


def _net(net: float | None) -> str:
    if net is None:
        return "-"
    color = "green" if net >= 0.1 else "red" if net <= -0.1 else "yellow"
    return f"[{color}]{net * 100:+.0f}[/{color}]"


def _aspect_list(items: list[tuple[str, int]], color: str) -> str:
    return ", ".join(f"[{color}]{c}[/{color}] {n:,}" for c, n in items) or "-"


def _as_list(v) -> list[str]:
    """A list column (DuckDB list, or JSON text) as strings."""
    if v is None:
        return []
    if isinstance(v, str):
        import json

        try:
            v = json.loads(v)
        except ValueError:
            return [v]
    return [x if isinstance(x, str) else str(x[0] if isinstance(x, (list, tuple)) else x) for x in v]


def render_summary(s: Summary, console: Console) -> None:
    t = Table(title="What people said, per brand", title_justify="left")
    for col, just in (
        ("brand", "left"),
        ("sector", "left"),
        ("role", "left"),
        ("mentions", "right"),
        ("share of voice", "right"),
        ("engagement pts", "right"),
        ("reach", "right"),
        ("impressions", "right"),
        ("net sentiment", "right"),
    ):
        t.add_column(col, justify=just)
    for (name, sector, role, m, e, r, i, sov), brand_id in zip(s.brands, s.brand_ids):
        net = s.sentiment.get(brand_id, (0, 0, 0, 0, None, None))[5]  # net_sentiment_share
        t.add_row(name, sector, role, f"{m:,}", "-" if sov is None else f"{sov:.0%}", f"{e:,}", f"{r:,}", f"{i:,}", _net(net))
    console.print(t)
    console.print(
        "[dim]Share of voice: the brand's organic mentions (a cross-post once, copy-paste bursts left out, dedup-v1) over its "
        "sector's. Net sentiment: (positive - negative) / "
        "customer mentions with a known sentiment, from -100 to +100. Engagement-v1 points weigh comments and DMs over likes (README).[/dim]"
    )
    if s.aspects:
        a = Table(title="What customers praise and criticise (aspects, customer mentions)", title_justify="left")
        for col in ("brand", "most praised", "most criticised"):
            a.add_column(col)
        for name, praised, criticised in s.aspects:
            a.add_row(name, _aspect_list(praised, "green"), _aspect_list(criticised, "red"))
        console.print(a)
    p = Table(title="Where they said it", title_justify="left")
    for col, just in (("platform", "left"), ("mentions", "right"), ("engagement pts", "right"), ("most mentioned", "left")):
        p.add_column(col, justify=just)
    for row in s.platforms:
        p.add_row(row[0], f"{row[1]:,}", f"{row[2]:,}", row[3])
    console.print(p)
    if s.care:
        c = Table(title="Customer care: complaints and questions to the own brands (care-v1)", title_justify="left")
        for col in ("brand", "requests", "answered", "within SLA", "median first answer", "90% within", "unanswered", "overdue now"):
            c.add_column(col, justify="left" if col == "brand" else "right")
        for name, requests, answered, unanswered, overdue, share, med, p90, sla in s.care:
            c.add_row(
                name,
                f"{requests:,}",
                f"{answered:,}",
                "-" if share is None else f"{share:.0%} of {sla:.0f} min",
                "-" if med is None else f"{med:.0f} min",
                "-" if p90 is None else f"{p90:.0f} min",
                f"{unanswered:,}",
                f"[red]{overdue:,}[/red]" if overdue else "0",
            )
        console.print(c)
    if s.crises:
        k = Table(title="Crises (negative customer mentions against the brand's own baseline, crisis-v1)", title_justify="left")
        for col in ("brand", "status", "started", "peak", "ended", "peak neg/h", "severity", "negatives", "driven by"):
            k.add_column(col, justify="right" if col in ("peak neg/h", "negatives") else "left")
        for name, status, started, peak, ended, peak_rate, level, ratio, negatives, terms, aspects in s.crises:
            drivers = ", ".join([*(_as_list(aspects)[:2]), *(_as_list(terms)[:3])])
            k.add_row(
                name,
                f"[red]{status}[/red]" if status == "ongoing" else status,
                f"{started:%H:%M}",
                f"{peak:%H:%M}",
                "-" if ended is None else f"{ended:%H:%M}",
                f"{peak_rate:,.0f}",
                f"{level} (x{ratio:.1f})",
                f"{negatives:,}",
                drivers,
            )
        console.print(k)
    else:
        console.print("[dim]No crisis: no brand's negative mentions rose far above its own baseline.[/dim]")
    if s.dedup:
        console.print(
            "Duplicates by kind (dedup-v1): "
            + ", ".join(f"{kind.replace('_', '-')} {n:,} {action}" for kind, action, n in s.dedup)
            + " [dim](flagged events stay in the warehouse; mentions, net sentiment and aspects count them apart)[/dim]"
        )
    if s.campaigns:
        g = Table(title="Coordinated campaigns (the same text from many new accounts, dedup-v1)", title_justify="left")
        for col in ("brand", "first seen", "last seen", "authors", "events", "text"):
            g.add_column(col, justify="right" if col in ("authors", "events") else "left")
        for name, first, last, authors, events, text in s.campaigns:
            g.add_row(name, f"{first:%H:%M}", f"{last:%H:%M}", f"{authors:,}", f"{events:,}", (text or "")[:70])
        console.print(g)
    h = s.health
    acc = Table(title="Pipeline accounting (every record in exactly one place)", title_justify="left")
    for col in ("consumed", "accepted", "duplicates", "late", "dead letters", "batches", "windows (final)", "max revision"):
        acc.add_column(col, justify="right")
    acc.add_row(
        f"{h['consumed']:,}",
        f"{h['accepted']:,}",
        f"{h['duplicates']:,}",
        f"{h['late']:,}",
        f"{h['dead_letters']:,}",
        f"{s.batches:,}",
        f"{s.windows[0]:,} ({s.windows[1]:,})",
        str(s.windows[2]),
    )
    console.print(acc)
    if s.dead_letters:
        console.print("Dead letters by reason: " + ", ".join(f"{r} {n:,}" for r, n in s.dead_letters))
    if s.event_time_range:
        console.print(f"Event time covered: {s.event_time_range[0]:%Y-%m-%d %H:%M} to {s.event_time_range[1]:%H:%M} UTC")
