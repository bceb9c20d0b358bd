"""The independent computation the analytics views are held to, in plain Python.

Which events were accepted comes from ``tests/integration/expected.py`` (the lateness and dedup
rules written again in SQL over what was published); brands, times, authors, parents and
event types come from the generator's records and truth. Only the text labels (sentiment,
intent, aspects), which are the classifiers' output, are read from the warehouse, by event id.
Every formula below is written again from the README, not taken from the views' SQL.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from pipelines.catalog import load_catalog
from tests.analytics.expected_dedup import dedup_flags
from tests.integration.expected import expected_db

MENTION_TYPES = {"post", "mention", "comment", "reply", "review", "direct_message", "share"}
REQUEST_TYPES = MENTION_TYPES - {"share"}
WEIGHTS = {"view": 0, "reaction": 1, "post": 2, "mention": 2, "share": 3, "comment": 4, "reply": 4, "review": 5, "direct_message": 5}
REACH_TYPES = {"post", "mention", "share", "review"}
HOUR, DAY = 3_600_000, 86_400_000


@dataclass
class Event:
    event_id: str
    t: int  # event time, ms
    platform: str
    event_type: str
    brands: tuple[str, ...]
    followers: int
    is_brand: bool
    parent_id: str | None
    text: str | None
    sentiment: str = "unknown"
    score: float = 0.0
    intent: str = "unknown"
    aspects: tuple[str, ...] = ()
    is_offensive: bool | None = None
    lang: str = "unknown"
    device: str = "unknown"
    author_id: str = ""
    flagged: bool = False  # dedup-v1 cross-post or coordinated (expected_dedup.dedup_flags)


def accepted_events(stream, labels: dict[str, tuple], window_s: int, lateness_s: int) -> list[Event]:
    """``labels``: event_id -> (sentiment, sentiment_score, intent, aspects, is_offensive, lang) from the warehouse."""
    con = expected_db(stream, window_s, lateness_s)
    accepted = {(p, o) for p, o, outcome in con.execute("SELECT * FROM classified").fetchall() if outcome == "accepted"}
    out = []
    for rec, coord in zip(stream.records, stream.coordinates):
        if coord not in accepted:
            continue
        ev = rec.event
        e = Event(
            ev["event_id"],
            ev["event_time"],
            ev["platform"],
            ev["event_type"],
            tuple(rec.truth.brands),
            ev["author"]["follower_count"],
            ev["author"]["is_brand_account"],
            ev["parent_id"],
            ev["text"],
        )
        sentiment, score, intent, aspects, offensive, lang = labels[e.event_id]
        e.sentiment, e.score, e.intent, e.aspects = sentiment, float(score), intent, tuple(aspects or ())
        e.is_offensive, e.lang, e.device, e.author_id = offensive, lang, ev["device"], ev["author"]["id"]
        out.append(e)
    flags = dedup_flags(out)
    for e in out:
        e.flagged = e.event_id in flags
    return out


def share_of_voice(events: list[Event], bucket_ms: int) -> dict[tuple, tuple]:
    """(bucket start ms, brand) -> (organic mentions, points, reach, sov on each of the three bases):
    mentions leave out flagged events (cross-posts count at their original), points and reach do not."""
    sector = {b.id: b.sector for b in load_catalog().brands}
    per: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in events:
        for b in e.brands:
            acc = per[(e.t - e.t % bucket_ms, b)]
            acc[0] += e.event_type in MENTION_TYPES and not e.flagged
            acc[1] += WEIGHTS[e.event_type]
            acc[2] += e.followers if e.event_type in REACH_TYPES else 0
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (t, b), acc in per.items():
        for i in range(3):
            totals[(t, sector[b])][i] += acc[i]
    return {
        (t, b): (*acc, *(acc[i] / totals[(t, sector[b])][i] if totals[(t, sector[b])][i] else None for i in range(3)))
        for (t, b), acc in per.items()
    }


def net_sentiment(events: list[Event], bucket_ms: int | None) -> dict[tuple, tuple]:
    """(bucket start ms or None, brand) -> (mentions, pos, neu, neg, unknown, ratio, share)."""
    counts: dict[tuple, Counter] = defaultdict(Counter)
    for e in events:
        if e.is_brand or e.event_type not in MENTION_TYPES or e.flagged:
            continue
        key_t = None if bucket_ms is None else e.t - e.t % bucket_ms
        for b in e.brands:
            counts[(key_t, b)][e.sentiment if e.sentiment in ("positive", "neutral", "negative") else "unknown"] += 1
    out = {}
    for key, c in counts.items():
        pos, neu, neg, unk = c["positive"], c["neutral"], c["negative"], c["unknown"]
        ratio = (pos - neg) / (pos + neg) if pos + neg else None
        share = (pos - neg) / (pos + neu + neg) if pos + neu + neg else None
        out[key] = (pos + neu + neg + unk, pos, neu, neg, unk, ratio, share)
    return out


def engagement_depth(events: list[Event]) -> dict[tuple, tuple]:
    """(hour ms, brand or 'unattributed', platform) -> (passive, light, strong events, light points, strong points)."""
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for e in events:
        for b in e.brands or ("unattributed",):
            acc = out[(e.t - e.t % HOUR, b, e.platform)]
            if e.event_type == "view":
                acc[0] += 1
            elif e.event_type == "reaction":
                acc[1] += 1
                acc[3] += WEIGHTS["reaction"]
            else:
                acc[2] += 1
                acc[4] += WEIGHTS[e.event_type]
    return {k: tuple(v) for k, v in out.items()}


def care_requests(events: list[Event], sla_s: int = 3600) -> dict[tuple, tuple]:
    """(event id, brand) -> (intent, response seconds or None, within SLA, overdue)."""
    own = {b.id for b in load_catalog().brands if b.role == "own"}
    newest = max(e.t for e in events)
    first_answer: dict[tuple, int] = {}
    for r in events:
        if r.is_brand and r.parent_id:
            for b in r.brands:
                key = (r.parent_id, b)
                first_answer[key] = min(first_answer.get(key, r.t), r.t)
    out = {}
    for m in events:
        if m.is_brand or m.event_type not in REQUEST_TYPES:
            continue
        for b in m.brands:
            if b not in own:
                continue
            answer = first_answer.get((m.event_id, b))
            if not (m.intent in ("complaint", "question") or (m.intent == "unknown" and answer is not None)):
                continue
            seconds = None if answer is None else (answer - m.t) // 1000
            out[(m.event_id, b)] = (
                m.intent,
                seconds,
                seconds is not None and seconds <= sla_s,
                answer is None and m.t + sla_s * 1000 < newest,
            )
    return out


def care_by_brand(requests: dict[tuple, tuple]) -> dict[str, tuple]:
    """brand -> (requests, answered, unanswered, overdue, within SLA, sla share, median s, p90 s)."""
    per: dict[str, list[tuple]] = defaultdict(list)
    for (_, b), row in requests.items():
        per[b].append(row)
    out = {}
    for b, rs in per.items():
        answered = [s for _, s, _, _ in rs if s is not None]
        within = sum(w for _, _, w, _ in rs)
        overdue = sum(o for *_, o in rs)
        decided = len(answered) + overdue
        out[b] = (
            len(rs),
            len(answered),
            len(rs) - len(answered),
            overdue,
            within,
            within / decided if decided else None,
            statistics.median(answered) if answered else None,
            float(np.percentile(answered, 90)) if answered else None,  # linear interpolation = percentile_cont
        )
    return out


def brand_aspects(events: list[Event]) -> dict[tuple, tuple]:
    """(brand, aspect) -> (posts naming it, positive, neutral, negative posts): once per post."""
    out: dict[tuple, Counter] = defaultdict(Counter)
    posts: dict[tuple, set[str]] = defaultdict(set)
    for e in events:
        if e.is_brand or e.flagged:
            continue
        for b in e.brands:
            for category, polarity in {tuple(a.split(":", 1)) for a in e.aspects}:
                out[(b, category)][polarity] += 1
                posts[(b, category)].add(e.event_id)
    return {k: (len(posts[k]), c["positive"], c["neutral"], c["negative"]) for k, c in out.items()}


def negatives_of(events: list[Event], brand: str) -> list[int]:
    """Event times (ms) of the brand's negative customer mentions: what the crisis detector counts."""
    return sorted(
        e.t for e in events if not e.is_brand and e.event_type in MENTION_TYPES and brand in e.brands and e.sentiment == "negative"
    )


def event_scores(events: list[Event]) -> dict[str, tuple[float, float]]:
    """event id -> (influence-v1, crisis-risk-v1), written again from README "Metric definitions"."""
    out = {}
    for e in events:
        reach = e.followers if e.event_type in REACH_TYPES else 0
        influence = 0.0 if e.is_brand else min(1.0, math.log10(e.followers + 1) / 6)
        if e.is_brand:
            risk = 0.0
        else:
            intent_w = {"churn_threat": 1.0, "complaint": 0.7}.get(e.intent, 0.0)
            voice = 0.5 * max(0.0, -e.score) + 0.3 * intent_w + 0.2 * (1.0 if e.is_offensive else 0.0)
            visibility = max(min(1.0, math.log10(reach + 1) / 6), influence / 2)
            risk = voice * (0.5 + 0.5 * visibility)
        out[e.event_id] = (influence, risk)
    return out


def engagement_windows(events: list[Event], sizes_s: tuple[int, ...]) -> dict[tuple, tuple]:
    """(window start ms, size s, brand or 'unattributed', platform, type, language, device, sentiment)
    -> (events, engagement points, reach, impressions), every size holding every event."""
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in events:
        for size in sizes_s:
            for b in e.brands or ("unattributed",):
                acc = out[(e.t - e.t % (size * 1000), size, b, e.platform, e.event_type, e.lang, e.device, e.sentiment)]
                acc[0] += 1
                acc[1] += WEIGHTS[e.event_type]
                acc[2] += e.followers if e.event_type in REACH_TYPES else 0
                acc[3] += e.event_type == "view"
    return {k: tuple(v) for k, v in out.items()}


def aspect_windows(events: list[Event], sizes_s: tuple[int, ...]) -> dict[tuple, int]:
    """(window start ms, size s, brand or 'unattributed', aspect, polarity) -> customer posts naming it."""
    out: Counter = Counter()
    for e in events:
        if e.is_brand:
            continue
        for size in sizes_s:
            for b in e.brands or ("unattributed",):
                for category, polarity in {tuple(a.split(":", 1)) for a in e.aspects}:
                    out[(e.t - e.t % (size * 1000), size, b, category, polarity)] += 1
    return dict(out)
