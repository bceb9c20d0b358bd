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

from pipelines.catalog import Catalog
from pipelines.model import MENTION_TYPES


@dataclass
class Summary:
    brands: list[tuple]  # brand, sector, role, mentions, engagement, reach, impressions, share_of_voice
    platforms: list[tuple]  # platform, mentions, engagement, top brand
    health: dict[str, int]
    dead_letters: list[tuple]  # reason, count
    windows: tuple[int, int, int]  # rows, final, max revision
    event_time_range: tuple | None
    care: list[tuple]  # brand, answered, median minutes, p90 minutes, share within an hour
    batches: int
    busy_seconds: float


def collect_summary(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> Summary:
    types = ", ".join(f"'{t}'" for t in sorted(MENTION_TYPES))
    per_brand = {
        r[0]: r[1:]
        for r in con.execute(f"""
        SELECT brand, sum(events) FILTER (WHERE event_type IN ({types})), sum(engagement_points), sum(reach), sum(impressions)
        FROM engagement_window GROUP BY brand""").fetchall()
    }
    sector_mentions: dict[str, int] = {}
    for b in catalog.brands:
        sector_mentions[b.sector] = sector_mentions.get(b.sector, 0) + int(per_brand.get(b.id, (0,))[0] or 0)
    brands = []
    for b in catalog.brands:
        if b.id not in per_brand:
            continue  # a catalog brand nobody talked about in this warehouse
        m, e, r, i = (int(x or 0) for x in per_brand[b.id])
        sov = m / sector_mentions[b.sector] if sector_mentions[b.sector] else 0.0
        brands.append((b.name, b.sector, b.role, m, e, r, i, sov))
    if "unattributed" in per_brand:
        m, e, r, i = (int(x or 0) for x in per_brand["unattributed"])
        brands.append(("(unattributed)", "-", "-", m, e, r, i, None))
    platforms = con.execute(f"""
        WITH p AS (
          SELECT platform, brand, sum(events) FILTER (WHERE event_type IN ({types})) AS mentions, sum(engagement_points) AS engagement
          FROM engagement_window WHERE brand <> 'unattributed' GROUP BY platform, brand)
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
    care = con.execute("""
        SELECT brand, count(*), median(response_seconds) / 60, quantile_cont(response_seconds, 0.9) / 60, avg((response_seconds <= 3600)::INT)
        FROM (SELECT unnest(answered_by) AS brand, response_seconds FROM v_care_first_response) GROUP BY brand ORDER BY 2 DESC""").fetchall()
    care = [(names.get(b, b), int(n), float(med), float(p90), float(share)) for b, n, med, p90, share in care]
    return Summary(brands, platforms, health, dl, (int(w[0]), int(w[1]), int(w[2])), rng if rng[0] else None, care, int(h[5]), float(h[6]))


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
    for name, sector, role, m, e, r, i, sov in s.brands:
        t.add_row(name, sector, role, f"{m:,}", "-" if sov is None else f"{sov:.0%}", f"{e:,}", f"{r:,}", f"{i:,}", "[dim]pending[/dim]")
    console.print(t)
    console.print(
        "[dim]Share of voice: the brand's mentions over all mentions in its sector. Net sentiment arrives with the "
        "enrichment models (issue 8); engagement-v1 points weigh comments and DMs over likes (README).[/dim]"
    )
    p = Table(title="Where they said it", title_justify="left")
    for col, just in (("platform", "left"), ("mentions", "right"), ("engagement pts", "right"), ("most mentioned", "left")):
        p.add_column(col, justify=just)
    for row in s.platforms:
        p.add_row(row[0], f"{row[1]:,}", f"{row[2]:,}", row[3])
    console.print(p)
    if s.care:
        c = Table(title="Customer care: how fast the brands answered", title_justify="left")
        for col in ("brand", "messages answered", "median first answer", "90% answered within", "answered within 1 h"):
            c.add_column(col, justify="left" if col == "brand" else "right")
        for name, n, med, p90, share in s.care:
            c.add_row(name, f"{n:,}", f"{med:.0f} min", f"{p90:.0f} min", f"{share:.0%}")
        console.print(c)
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
