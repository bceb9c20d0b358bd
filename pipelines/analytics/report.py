"""``ascolto report``: one self-contained HTML file with the indices a brand team reads.

Share of voice over time (per sector), net sentiment per brand (both formulas), customer care
against its SLA, engagement by depth, strengths and weaknesses, and the crisis timeline. Every
number comes from the warehouse's views (README, "The warehouse"); charts are inline SVG
(``svg.py``): no JavaScript, no fonts or scripts from the network, so the file can be mailed
or archived as it is. Reads DuckDB files and PostgreSQL warehouses alike.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from pipelines.analytics import svg
from pipelines.analytics.sql import connect, rows
from pipelines.io.batch import Dialect


def add_arguments(p: argparse.ArgumentParser) -> None:
    from pipelines.config import DEFAULT_WAREHOUSE

    p.add_argument("--warehouse", help=f"DuckDB file or postgresql:// DSN (env ASCOLTO_WAREHOUSE; default {DEFAULT_WAREHOUSE})")
    p.add_argument("--out", default="ascolto-report.html", help="HTML file to write (default %(default)s)")
    p.add_argument("--title", default="Ascolto: what people say about the brands", help="the report's title")
    p.add_argument(
        "--update-crises",
        action="store_true",
        help="recompute crisis episodes first (opens the warehouse for writing; the pipeline does this after each commit)",
    )


def _epoch(t: datetime) -> float:
    return t.replace(tzinfo=UTC).timestamp() if t.tzinfo is None else t.timestamp()


def _table(header: list[str], body: list[list[str]], numeric: set[int] | None = None) -> str:
    """Cells are HTML already escaped; ``numeric`` columns align right (default: all but the first)."""
    right = set(range(1, len(header))) if numeric is None else numeric
    th = "".join(f"<th{' class=n' if i in right else ''}>{escape(h)}</th>" for i, h in enumerate(header))
    trs = "".join("<tr>" + "".join(f"<td{' class=n' if i in right else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in body)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def _minutes(v: float | None) -> str:
    return "-" if v is None else f"{float(v) / 60:.0f} min"


def _names(con, d: Dialect) -> dict[str, str]:
    return dict(rows(con, d, "SELECT brand, name FROM brand_dim ORDER BY brand"))


def _colors(names: dict[str, str]) -> dict[str, str]:
    """One colour per brand (by display name) in every chart."""
    return {name: svg.color(i) for i, name in enumerate(names.values())}


def share_of_voice_section(con, d: Dialect, names: dict[str, str]) -> str:
    data = rows(
        con, d, "SELECT hour, sector, brand, sov_mentions, sov_engagement FROM v_share_of_voice_hourly ORDER BY hour, sector, brand"
    )
    sectors: dict[str, dict[str, list]] = {}
    for hour, sector, brand, sov_m, _ in data:
        sectors.setdefault(sector, {}).setdefault(names.get(brand, brand), []).append((_epoch(hour), sov_m))
    parts = [
        "<h2>Share of voice over time</h2>",
        "<p>Each brand's organic mentions over all organic mentions in its sector, per hour (view <code>v_share_of_voice_hourly</code>: "
        "a cross-post counted once, coordinated events left out, dedup-v1; engagement and reach bases in the same view).</p>",
    ]
    for sector, series in sorted(sectors.items()):
        parts.append(f"<h3>{escape(sector)}</h3>")
        parts.append(svg.line_chart(series, y_label="share of mentions", y_range=(0.0, 1.0), colors=_colors(names)))
    if not sectors:
        parts.append("<p class=muted>No mentions of catalog brands yet.</p>")
    return "".join(parts)


def sentiment_section(con, d: Dialect, names: dict[str, str]) -> str:
    data = rows(
        con,
        d,
        """SELECT brand, mentions, positive, neutral, negative, unknown, net_sentiment_ratio, net_sentiment_share, nlp_versions
           FROM v_net_sentiment_by_brand ORDER BY brand""",
    )
    bars_ratio = [(names.get(b, b), None if r is None else float(r)) for b, *_, r, _s, _v in data]
    bars_share = [(names.get(b, b), None if s is None else float(s)) for b, *_, _r, s, _v in data]
    body = [
        [
            escape(names.get(b, b)),
            f"{m:,}",
            f"{p:,}",
            f"{n:,}",
            f"{g:,}",
            f"{u:,}",
            "-" if r is None else f"{r:+.2f}",
            "-" if s is None else f"{s:+.2f}",
        ]
        for b, m, p, n, g, u, r, s, _v in data
    ]
    versions = sorted({v for *_, v in data if v})
    return (
        "<h2>Net sentiment per brand</h2>"
        "<p>Customer mentions only (not the brands' own accounts); <b>ratio</b> = (positive - negative) / (positive + negative), "
        "<b>share</b> = (positive - negative) / mentions with a known sentiment (formula <code>net-sentiment-v1</code>; "
        f"models {escape(', '.join(versions) or '-')}).</p>"
        "<div class=row><div><h3>net sentiment ratio</h3>" + svg.bar_chart(bars_ratio) + "</div>"
        "<div><h3>net sentiment share</h3>"
        + svg.bar_chart(bars_share)
        + "</div></div>"
        + _table(["brand", "mentions", "positive", "neutral", "negative", "unknown", "ratio", "share"], body)
    )


def care_section(con, d: Dialect, names: dict[str, str]) -> str:
    data = rows(
        con,
        d,
        """SELECT brand, requests, answered, unanswered, overdue, sla_share, median_response_seconds, p90_response_seconds, sla_seconds
           FROM v_care_sla_by_brand ORDER BY brand""",
    )
    bars = [(names.get(b, b), None if s is None else float(s)) for b, _, _, _, _, s, *_ in data]
    body = [
        [escape(names.get(b, b)), f"{q:,}", f"{a:,}", f"{u:,}", f"{o:,}", _pct(s), _minutes(med), _minutes(p90), _minutes(sla)]
        for b, q, a, u, o, s, med, p90, sla in data
    ]
    return (
        "<h2>Customer care: first response against the SLA</h2>"
        "<p>Complaints and questions addressed to the own brands (intent from the text classifier), and the brand's first reply "
        "(view <code>v_care_sla_by_brand</code>, <code>care-v1</code>). Within SLA: share of the decided requests (answered, or "
        "unanswered past the SLA) answered in time.</p>"
        + svg.bar_chart(bars, value_format="{:.0%}", domain=(0.0, 1.0), colors=[svg.color(0)] * len(bars))
        + _table(["brand", "requests", "answered", "unanswered", "overdue", "within SLA", "median", "p90", "SLA"], body)
    )


def depth_section(con, d: Dialect, names: dict[str, str]) -> str:
    data = rows(
        con,
        d,
        """SELECT v.brand, sum(passive_events), sum(light_events), sum(strong_events) FROM v_engagement_depth_hourly v
           JOIN brand_dim b ON b.brand = v.brand GROUP BY v.brand ORDER BY v.brand""",
    )
    bars = [(names.get(b, b), [float(p), float(li), float(s)]) for b, p, li, s in data]
    return (
        "<h2>Engagement by depth</h2><p>Passive (views), light (reactions), strong (posts, mentions, shares, comments, replies, "
        "reviews, DMs): <code>engagement-depth-v1</code>, view <code>v_engagement_depth_hourly</code>.</p>"
        + svg.stacked_bars(bars, ["passive", "light", "strong"], part_colors=["#c7c7c7", "#9ecae1", "#08519c"])
    )


def aspects_section(con, d: Dialect, names: dict[str, str]) -> str:
    data = rows(con, d, "SELECT brand, aspect, positive, negative, verdict FROM v_brand_aspects ORDER BY brand, mentions DESC, aspect")
    per: dict[str, dict[str, list[str]]] = {}
    for brand, aspect, pos, neg, verdict in data:
        slot = per.setdefault(brand, {"strength": [], "weakness": []}).get(verdict)
        if slot is not None and len(slot) < 4:
            slot.append(f"{escape(aspect)} ({pos:,}+ / {neg:,}-)")
    body = [[escape(names.get(b, b)), ", ".join(v["strength"]) or "-", ", ".join(v["weakness"]) or "-"] for b, v in sorted(per.items())]
    return (
        "<h2>Strengths and weaknesses</h2><p>Aspects of the customer mentions (view <code>v_brand_aspects</code>): a strength when "
        "positive mentions outnumber negative ones.</p>"
        + (_table(["brand", "strengths", "weaknesses"], body, numeric=set()) if body else "<p class=muted>No aspects found yet.</p>")
    )


def crisis_section(con, d: Dialect, names: dict[str, str]) -> str:
    episodes = rows(
        con,
        d,
        """SELECT brand, status, started_at, peak_at, ended_at, last_evaluated_at, peak_negatives_per_hour, severity,
                  severity_level, negative_mentions, top_terms, top_aspects, detector_version
           FROM v_crisis_episodes ORDER BY started_at""",
    )
    hourly = rows(con, d, "SELECT hour, brand, negative FROM v_net_sentiment_hourly ORDER BY hour")
    series: dict[str, list] = {}
    for hour, brand, neg in hourly:
        series.setdefault(names.get(brand, brand), []).append((_epoch(hour) + 1800, float(neg)))
    spans = [(_epoch(r[2]), _epoch(r[4] or r[5]), f"{names.get(r[0], r[0])}: {r[8]} crisis from {r[2]:%H:%M}") for r in episodes]
    body = [
        [
            escape(names.get(b, b)),
            escape(status),
            f"{s:%Y-%m-%d %H:%M}",
            f"{p:%H:%M}",
            "ongoing" if e is None else f"{e:%H:%M}",
            f"{rate:,.0f}/h",
            f"{escape(level)} ({sev:.1f}x)",
            f"{n:,}",
            escape(", ".join(t or [])),
            escape(", ".join(a or [])) or "-",
        ]
        for b, status, s, p, e, _last, rate, sev, level, n, t, a, _v in episodes
    ]
    return (
        "<h2>Crisis timeline</h2><p>Negative customer mentions per hour per brand; shaded: crisis episodes (detector "
        "<code>crisis-v1</code>: the last hour and the last 15 minutes against the brand's previous 12 hours; README).</p>"
        + svg.line_chart(series, y_label="negative mentions / h", y_format="{:.0f}", spans=spans, colors=_colors(names))
        + (
            _table(
                ["brand", "status", "started", "peak", "ended", "peak rate", "severity", "negatives", "top terms", "top aspects"],
                body,
                {5, 6, 7},
            )
            if body
            else "<p class=muted>No crisis episodes.</p>"
        )
    )


_CSS = """body{font-family:system-ui,sans-serif;max-width:1000px;margin:24px auto;color:#222;padding:0 12px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:13px;color:#555}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right}.muted{color:#888}.row{display:flex;gap:24px;flex-wrap:wrap}code{font-size:12px}"""


def dedup_section(con, d: Dialect, names: dict[str, str]) -> str:
    from pipelines.analytics.summary_rows import dedup_summary

    kinds, campaigns = dedup_summary(con, d, campaigns=20)
    body = [[escape(k.replace("_", "-")), escape(a), f"{n:,}"] for k, a, n in kinds]
    parts = [
        "<h2>Duplicates and coordinated campaigns</h2><p>Every dropped or flagged event by kind (view "
        "<code>v_duplicates_by_kind</code>, detector <code>dedup-v1</code>): redeliveries are dropped; a cross-post (the same "
        "author's near-duplicate of an earlier post within 24 h) counts once as a mention, with each platform's engagement; "
        "coordinated events (near-duplicates from at least 5 authors within an hour) are counted apart from the organic voice.</p>",
        _table(["kind", "action", "events"], body, numeric={2}),
    ]
    if campaigns:
        rows_ = [
            [escape(b), f"{f:%Y-%m-%d %H:%M}", f"{last:%H:%M}", f"{a:,}", f"{n:,}", escape((t or "")[:120])]
            for b, f, last, a, n, t in campaigns
        ]
        parts.append(
            "<h3>Coordinated campaigns</h3>" + _table(["brand", "first seen", "last seen", "authors", "events", "text"], rows_, {3, 4})
        )
    else:
        parts.append("<p class=muted>No coordinated campaign.</p>")
    return "".join(parts)


def render_report(con, d: Dialect, title: str, source: str) -> str:
    names = _names(con, d)
    lo, hi = rows(con, d, "SELECT min(window_start), max(window_end) FROM engagement_window")[0]
    span = f"{lo:%Y-%m-%d %H:%M} to {hi:%Y-%m-%d %H:%M} UTC" if lo else "no events yet"
    (events,) = rows(con, d, "SELECT count(*) FROM fact_events")[0]
    sections = [
        share_of_voice_section(con, d, names),
        sentiment_section(con, d, names),
        care_section(con, d, names),
        crisis_section(con, d, names),
        aspects_section(con, d, names),
        depth_section(con, d, names),
        dedup_section(con, d, names),
    ]
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=muted>{events:,} accepted events, event time {span}; warehouse {escape(source)}; "
        f"generated {generated}.</p>" + "".join(sections) + "</body></html>\n"
    )


def _redacted(location: str) -> str:
    """A DSN without its password, for the report's header."""
    if "://" in location and "@" in location:
        scheme, rest = location.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return location


def run(args: argparse.Namespace) -> int:
    from pipelines.analytics.query_cli import database_errors, warehouse_location
    from pipelines.analytics.sql import first_line
    from pipelines.config import ConfigError
    from pipelines.io.warehouse import WarehouseError

    location = warehouse_location(args.warehouse)
    out = Path(args.out)
    if not out.parent.exists():
        raise ConfigError(f"--out {out}: the directory {out.parent} does not exist")
    con, d = connect(location, read_only=not args.update_crises)
    try:
        if args.update_crises:
            from pipelines.analytics.crisis import update_crisis_episodes

            update_crisis_episodes(con, d)
        html = render_report(con, d, args.title, _redacted(location))
    except database_errors() as exc:
        raise WarehouseError(
            f"cannot read the report's views: {first_line(exc)} (a warehouse from an older Ascolto? run 'ascolto run' once)"
        ) from None
    finally:
        con.close()
    out.write_text(html, encoding="utf-8")
    print(f"wrote {out} ({len(html.encode()) / 1024:,.0f} KiB)")
    return 0
