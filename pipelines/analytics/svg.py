"""Small inline-SVG charts for the HTML report: no JavaScript, no network, no dependencies.

Each function returns one ``<svg>`` element as a string, sized in CSS pixels, with every label
escaped. Values may be None (a gap, or "no data"); the axes say the unit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _time_label(ts: float, span_s: float) -> str:
    t = datetime.fromtimestamp(ts, UTC)
    return t.strftime("%H:%M") if span_s <= 36 * 3600 else t.strftime("%m-%d %H:%M")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def _nice_top(hi: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above ``hi``: y axes with round ticks."""
    if hi <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(hi))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= hi)


def line_chart(
    series: dict[str, list[tuple[float, float | None]]],
    *,
    y_label: str,
    y_format: str = "{:.0%}",
    y_range: tuple[float, float] | None = None,
    spans: list[tuple[float, float, str]] | None = None,
    colors: dict[str, str] | None = None,
    width: int = 760,
    height: int = 240,
) -> str:
    """Lines over time (x: epoch seconds); ``spans`` shade intervals (start, end, label);
    ``colors`` keeps one colour per series name across charts."""
    left, right, top, bottom = 56, 150, 12, 28
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts if y is not None]
    if not xs or not ys:
        return _empty(width, "no data")
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x1 = x0 + 3600
    y0, y1 = y_range or (min(0.0, min(ys)), _nice_top(max(ys)))
    if y1 == y0:
        y1 = y0 + 1
    w, h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        return top + h - (y - y0) / (y1 - y0) * h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" {FONT}>']
    for a, b, label in spans or []:
        a, b = max(a, x0), min(b, x1)
        if b > a:
            out.append(f'<rect x="{px(a):.1f}" y="{top}" width="{max(px(b) - px(a), 2):.1f}" height="{h}" fill="#d62728" opacity="0.15">')
            out.append(f"<title>{escape(label)}</title></rect>")
    for v in _ticks(y0, y1):
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{py(v) + 4:.1f}" text-anchor="end">{escape(y_format.format(v))}</text>')
    for v in _ticks(x0, x1):
        out.append(f'<text x="{px(v):.1f}" y="{top + h + 16}" text-anchor="middle">{_time_label(v, x1 - x0)}</text>')
    out.append(
        f'<text x="12" y="{top + h / 2:.0f}" transform="rotate(-90 12 {top + h / 2:.0f})" text-anchor="middle">{escape(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(series.items()):
        stroke = (colors or {}).get(name, color(i))
        path, pen = [], "M"
        for x, y in sorted(pts):
            if y is None:
                pen = "M"
                continue
            path.append(f"{pen}{px(x):.1f},{py(y):.1f}")
            pen = "L"
        out.append(f'<path d="{" ".join(path)}" fill="none" stroke="{stroke}" stroke-width="1.6"><title>{escape(name)}</title></path>')
        out.append(f'<rect x="{left + w + 12}" y="{top + 4 + i * 16}" width="10" height="10" fill="{stroke}"/>')
        out.append(f'<text x="{left + w + 26}" y="{top + 13 + i * 16}">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    rows: list[tuple[str, float | None]],
    *,
    value_format: str = "{:+.2f}",
    domain: tuple[float, float] = (-1.0, 1.0),
    width: int = 520,
    row_height: int = 22,
    colors: list[str] | None = None,
) -> str:
    """Horizontal bars from the zero of ``domain`` (diverging when the domain spans zero)."""
    if not rows:
        return _empty(width, "no data")
    left, right = 140, 70
    w = width - left - right
    height = row_height * len(rows) + 8
    lo, hi = domain

    def px(v: float) -> float:
        return left + (min(max(v, lo), hi) - lo) / (hi - lo) * w

    zero = px(0.0 if lo <= 0 <= hi else lo)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" {FONT}>']
    out.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="0" y2="{height}" stroke="#999"/>')
    for i, (label, v) in enumerate(rows):
        y = 4 + i * row_height
        out.append(f'<text x="{left - 6}" y="{y + row_height / 2 + 4:.0f}" text-anchor="end">{escape(label)}</text>')
        if v is None:
            out.append(f'<text x="{zero + 4:.1f}" y="{y + row_height / 2 + 4:.0f}" fill="#999">no data</text>')
            continue
        a, b = sorted((zero, px(v)))
        fill = colors[i] if colors else ("#2ca02c" if v >= 0 else "#d62728")
        out.append(f'<rect x="{a:.1f}" y="{y + 3}" width="{max(b - a, 1):.1f}" height="{row_height - 6}" fill="{fill}"/>')
        out.append(f'<text x="{max(b, zero) + 4:.1f}" y="{y + row_height / 2 + 4:.0f}">{escape(value_format.format(v))}</text>')
    out.append("</svg>")
    return "".join(out)


def stacked_bars(
    rows: list[tuple[str, list[float]]], parts: list[str], *, part_colors: list[str] | None = None, width: int = 520, row_height: int = 22
) -> str:
    """One 100% bar per row, split into ``parts`` (shares of the row's total)."""
    fills = part_colors or [color(j) for j in range(len(parts))]
    if not rows:
        return _empty(width, "no data")
    left, legend = 140, 24
    w = width - left - 10
    height = row_height * len(rows) + legend + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" {FONT}>']
    for j, part in enumerate(parts):
        out.append(f'<rect x="{left + j * 130}" y="4" width="10" height="10" fill="{fills[j]}"/>')
        out.append(f'<text x="{left + j * 130 + 14}" y="13">{escape(part)}</text>')
    for i, (label, values) in enumerate(rows):
        y = legend + i * row_height
        out.append(f'<text x="{left - 6}" y="{y + row_height / 2 + 4:.0f}" text-anchor="end">{escape(label)}</text>')
        total, x = sum(values) or 1.0, float(left)
        for j, v in enumerate(values):
            seg = v / total * w
            out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{seg:.1f}" height="{row_height - 6}" fill="{fills[j]}">')
            out.append(f"<title>{escape(parts[j])}: {v / total:.0%}</title></rect>")
            x += seg
    out.append("</svg>")
    return "".join(out)


def _empty(width: int, text: str) -> str:
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="30" {FONT}><text x="4" y="18" fill="#999">{escape(text)}</text></svg>'
