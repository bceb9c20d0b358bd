"""dedup-v1 written again, brute force, in plain Python: the flags the warehouse views must give.

Written from the README's definition, not from the views' SQL: every pair of events inside the
time bounds is compared (no banding), with the sketches computed from the generator's texts by
``pipelines.text_sketch`` (held to its own definition in tests/unit/test_text_sketch.py).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass

from pipelines.text_sketch import hamming, sketch_texts

MENTION_TYPES = {"post", "mention", "comment", "reply", "review", "direct_message", "share"}


@dataclass(frozen=True)
class Policy:
    cross_post_window_s: int = 86_400
    coordinated_window_s: int = 3_600
    coordinated_min_authors: int = 5
    coordinated_min_tokens: int = 4
    max_distance: int = 3


@dataclass(frozen=True)
class Sketched:
    event_id: str
    t: int
    author_id: str
    top_level: bool
    is_brand: bool
    fingerprint: int
    simhash: int
    tokens: int


def sketched(events) -> list[Sketched]:
    """Events (with event_id, t, author_id, event_type, parent_id, is_brand, text) that can be flagged."""
    cands = [e for e in events if e.event_type in MENTION_TYPES and e.text]
    out = []
    for e, s in zip(cands, sketch_texts([e.text for e in cands])):
        if s is not None:
            out.append(Sketched(e.event_id, e.t, e.author_id, e.parent_id is None, e.is_brand, s.fingerprint, s.simhash, s.tokens))
    return out


def _near(a: Sketched, b: Sketched, p: Policy) -> bool:
    return a.fingerprint == b.fingerprint or hamming(a.simhash, b.simhash) <= p.max_distance


def dedup_flags(events, policy: Policy = Policy()) -> dict[str, tuple[str, str]]:
    """event_id -> (kind, original or cluster event id) for every flagged event."""
    s = sketched(events)
    flags: dict[str, tuple[str, str]] = {}
    # coordinated: near-duplicates from at least N distinct authors within the window of the event
    pool = sorted((e for e in s if not e.is_brand and e.tokens >= policy.coordinated_min_tokens), key=lambda e: (e.t, e.event_id))
    times = [e.t for e in pool]
    w = policy.coordinated_window_s * 1000
    neighbours = {}
    for a in pool:
        lo, hi = bisect.bisect_left(times, a.t - w), bisect.bisect_right(times, a.t + w)
        near = [b for b in pool[lo:hi] if _near(a, b, policy)]
        if len({b.author_id for b in near}) >= policy.coordinated_min_authors:
            neighbours[a.event_id] = near
    first = {
        eid: min((b for b in near if b.event_id in neighbours), key=lambda b: (b.t, b.event_id)).event_id
        for eid, near in neighbours.items()
    }
    for eid in neighbours:
        flags[eid] = ("coordinated", first[first[eid]])  # two hops: a chain of small edits stays one campaign
    # cross_post: the same author's earlier near-duplicate top-level publication within the window
    by_author = defaultdict(list)
    for e in s:
        if e.top_level:
            by_author[e.author_id].append(e)
    xw = policy.cross_post_window_s * 1000
    for posts in by_author.values():
        for a in posts:
            earlier = [b for b in posts if (b.t, b.event_id) < (a.t, a.event_id) and a.t - b.t <= xw and _near(a, b, policy)]
            if earlier and a.event_id not in flags:
                flags[a.event_id] = ("cross_post", min(earlier, key=lambda b: (b.t, b.event_id)).event_id)
    return flags


def counts_by_kind(flags: dict[str, tuple[str, str]]) -> Counter:
    return Counter(kind for kind, _ in flags.values())


@dataclass(frozen=True)
class Published:
    event_id: str
    t: int
    author_id: str
    event_type: str
    parent_id: str | None
    is_brand: bool
    text: str | None


def accepted_published(stream, accepted: set[tuple[int, int]]) -> list[Published]:
    """The generator's events whose records were accepted (``accepted``: (partition, offset))."""
    out = []
    for rec, coord in zip(stream.records, stream.coordinates):
        if coord in accepted:
            ev = rec.event
            a = ev["author"]
            out.append(
                Published(ev["event_id"], ev["event_time"], a["id"], ev["event_type"], ev["parent_id"], a["is_brand_account"], ev["text"])
            )
    return out
