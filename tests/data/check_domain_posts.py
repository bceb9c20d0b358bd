#!/usr/bin/env python3
"""Standalone validator for tests/data/domain_posts.tsv (stdlib only).

Usage: python3 tests/data/check_domain_posts.py [path/to/domain_posts.tsv]

Checks the format rules described in tests/data/DOMAIN_POSTS.md, prints label
counts, and exits with status 1 if any rule is violated.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

HEADER = ["id", "lang", "sector", "text", "sentiment", "intent", "offensive", "mentions", "aspects"]
LANGS = {"it", "en"}
SECTORS = {"web_hosting", "food", "telecom"}
SENTIMENTS = {"negative", "neutral", "positive"}
INTENTS = {"complaint", "question", "praise", "purchase_intent", "churn_threat", "other"}
OFFENSIVE = {"0", "1"}
ASPECT_CATEGORIES = {
    "support",
    "price",
    "speed",
    "reliability",
    "billing",
    "email",
    "security",
    "usability",
    "quality",
    "taste",
    "packaging",
    "delivery",
    "coverage",
    "contract",
}
POLARITIES = {"negative", "neutral", "positive"}
MIN_ROWS = 650
MIN_IT_SHARE = 0.45

# Catalog of fictional brands and products: id -> (kind, surface forms).
CATALOG: dict[str, tuple[str, list[str]]] = {
    "nuvola": ("brand", ["Nuvola Hosting", "NuvolaHosting", "nuvola.it", "@NuvolaHosting", "@NuvolaCare", "#NuvolaHosting"]),
    "serverrapido": ("competitor", ["ServerRapido", "@ServerRapido", "#ServerRapido"]),
    "hostiamo": ("competitor", ["Hostiamo", "hostiamo.it", "@hostiamo_it"]),
    "dolceforno": ("brand", ["Dolce Forno", "DolceForno", "@DolceFornoIT", "#DolceForno"]),
    "mulinosole": ("competitor", ["Mulino del Sole", "@MulinoDelSole"]),
    "lineaviva": ("brand", ["Linea Viva", "LineaViva", "@LineaViva", "#LineaViva"]),
    "telesprint": ("competitor", ["TeleSprint", "@TeleSprint"]),
    "nuvola_vps": ("product", ["Nuvola VPS"]),
    "nuvola_mail": ("product", ["Nuvola Mail"]),
    "nuvola_wp": ("product", ["Nuvola WordPress"]),
    "serverrapido_cloud": ("product", ["ServerRapido Cloud"]),
    "hostiamo_start": ("product", ["Hostiamo Start"]),
    "dolceforno_biscotti": ("product", ["Biscotti Integrali"]),
    "dolceforno_crostatine": ("product", ["Crostatine"]),
    "mulinosole_frollini": ("product", ["Frollini del Sole"]),
    "lineaviva_fibra": ("product", ["LineaViva Fibra"]),
    "lineaviva_mobile": ("product", ["LineaViva Mobile 5G"]),
    "telesprint_casa": ("product", ["TeleSprint Casa"]),
}


def find_mentions(text: str) -> list[tuple[int, int, str, str]]:
    """Whole-word, case-insensitive catalog matches; longest match wins, products first on ties."""
    candidates = []
    for cid, (kind, forms) in CATALOG.items():
        for form in forms:
            pattern = re.compile(r"(?<!\w)" + re.escape(form) + r"(?!\w)", re.IGNORECASE)
            for m in pattern.finditer(text):
                candidates.append((m.start(), m.end(), kind, cid))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[2] != "product", c[0]))
    taken: list[tuple[int, int, str, str]] = []
    for cand in candidates:
        if all(cand[1] <= t[0] or cand[0] >= t[1] for t in taken):
            taken.append(cand)
    return sorted(taken)


def template_key(text: str) -> str:
    """Text with brand/product mentions masked, lowercased, punctuation collapsed."""
    out, last = [], 0
    for start, end, _, _ in find_mentions(text):
        out.append(text[last:start])
        out.append(" <m> ")
        last = end
    out.append(text[last:])
    return " ".join(re.findall(r"<m>|\w+", "".join(out).lower()))


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("domain_posts.tsv")
    errors: list[str] = []

    def err(msg: str) -> None:
        errors.append(msg)

    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        print(f"FAIL: {path} is not valid UTF-8: {exc}")
        return 1
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0].split("\t") != HEADER:
        err(f"bad header: {lines[0] if lines else '<empty file>'!r}")
        lines = lines[1:] if lines else []
    else:
        lines = lines[1:]

    seen_ids: set[str] = set()
    seen_texts: dict[str, str] = {}
    seen_templates: dict[str, str] = {}
    counts: dict[str, collections.Counter] = {k: collections.Counter() for k in ("lang", "sector", "sentiment", "intent", "offensive")}
    mention_kinds: collections.Counter = collections.Counter()
    mention_ids: collections.Counter = collections.Counter()
    aspect_counts: collections.Counter = collections.Counter()
    no_mention = 0
    rows = 0

    for lineno, line in enumerate(lines, start=2):
        if "\r" in line:
            err(f"line {lineno}: carriage return in row")
        fields = line.split("\t")
        if len(fields) != len(HEADER):
            err(f"line {lineno}: expected {len(HEADER)} fields, got {len(fields)}")
            continue
        rows += 1
        row = dict(zip(HEADER, fields))
        rid, text = row["id"], row["text"]
        where = f"line {lineno} ({rid})"

        if not re.fullmatch(r"d\d{4,}", rid):
            err(f"{where}: bad id format")
        if rid in seen_ids:
            err(f"{where}: duplicate id")
        seen_ids.add(rid)

        for field, allowed in (
            ("lang", LANGS),
            ("sector", SECTORS),
            ("sentiment", SENTIMENTS),
            ("intent", INTENTS),
            ("offensive", OFFENSIVE),
        ):
            if row[field] not in allowed:
                err(f"{where}: bad {field} {row[field]!r}")
            counts[field][row[field]] += 1

        if not text.strip() or text != text.strip():
            err(f"{where}: empty text or leading/trailing whitespace")
        if text in seen_texts:
            err(f"{where}: duplicate text (same as {seen_texts[text]})")
        seen_texts.setdefault(text, rid)
        key = template_key(text)
        if key in seen_templates and seen_templates[key] != seen_texts[text]:
            err(f"{where}: same template as {seen_templates[key]} with only the brand swapped")
        seen_templates.setdefault(key, rid)

        # Mentions
        spans = []
        if row["mentions"]:
            for item in row["mentions"].split(";"):
                parts = item.split(":")
                if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
                    err(f"{where}: malformed mention {item!r}")
                    continue
                start, end, kind, cid = int(parts[0]), int(parts[1]), parts[2], parts[3]
                if cid not in CATALOG:
                    err(f"{where}: unknown catalog id {cid!r}")
                    continue
                if kind != CATALOG[cid][0]:
                    err(f"{where}: kind {kind!r} does not match catalog kind {CATALOG[cid][0]!r} for {cid}")
                if not (0 <= start < end <= len(text)):
                    err(f"{where}: mention offsets {start}:{end} out of range (len {len(text)})")
                    continue
                surface = text[start:end]
                if surface.lower() not in {f.lower() for f in CATALOG[cid][1]}:
                    err(f"{where}: text[{start}:{end}]={surface!r} is not a surface form of {cid}")
                spans.append((start, end, kind, cid))
                mention_kinds[kind] += 1
                mention_ids[cid] += 1
        spans.sort()
        for a, b in zip(spans, spans[1:]):
            if b[0] < a[1]:
                err(f"{where}: overlapping mentions {a[0]}:{a[1]} and {b[0]}:{b[1]}")
        if spans != find_mentions(text):
            err(f"{where}: mentions differ from catalog matching (missing or extra spans)")
        if not spans:
            no_mention += 1

        # Aspects
        if row["aspects"]:
            cats = []
            for item in row["aspects"].split(";"):
                cat, _, pol = item.partition(":")
                if cat not in ASPECT_CATEGORIES or pol not in POLARITIES:
                    err(f"{where}: bad aspect {item!r}")
                    continue
                cats.append(cat)
                aspect_counts[item] += 1
            if len(cats) != len(set(cats)):
                err(f"{where}: repeated aspect category")

    if rows < MIN_ROWS:
        err(f"only {rows} rows, need at least {MIN_ROWS}")
    it_share = counts["lang"]["it"] / rows if rows else 0.0
    if it_share < MIN_IT_SHARE:
        err(f"Italian share {it_share:.1%} below {MIN_IT_SHARE:.0%}")

    print(f"file: {path.name}")
    print(f"rows: {rows}")
    for field in ("lang", "sector", "sentiment", "intent", "offensive"):
        total = sum(counts[field].values()) or 1
        shown = ", ".join(f"{k}={v} ({v / total:.1%})" for k, v in sorted(counts[field].items()))
        print(f"{field}: {shown}")
    print(f"posts without any mention: {no_mention} ({no_mention / max(rows, 1):.1%})")
    print("mentions by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(mention_kinds.items())))
    print("mentions by id: " + ", ".join(f"{k}={v}" for k, v in sorted(mention_ids.items())))
    by_cat = collections.Counter()
    for item, v in aspect_counts.items():
        by_cat[item.split(":")[0]] += v
    print("aspects by category: " + ", ".join(f"{k}={v}" for k, v in sorted(by_cat.items())))

    if errors:
        print(f"FAIL: {len(errors)} violation(s)")
        for e in errors[:200]:
            print("  " + e)
        return 1
    print("OK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
