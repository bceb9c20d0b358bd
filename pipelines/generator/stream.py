"""The seeded event stream: what a brand's listening feed looks like, record by record.

``generate_stream(config)`` yields records in the order a collector would publish them
(by ingest time). Everything is drawn from one ``random.Random(seed)``: the same config
gives the same bytes. The stream contains what real streams contain:

- organic posts, mentions, comments, replies, reactions, shares, reviews, direct messages
  and views about a web-hosting brand, its two rivals, a food brand and its rival, in Italian
  and English, on eight platforms, from thousands of authors (a few of them influencers);
- redelivered duplicates (the same bytes again, seconds to minutes later);
- cross-posts (the same author and text on a second platform, a new event id);
- out-of-order events (ingest delayed by up to 4 minutes: inside the allowed lateness)
  and late events (delayed 15 to 45 minutes: beyond it);
- malformed records (empty, not Avro, unknown schema id, truncated, trailing bytes);
- brand care replies to complaints and questions, after realistic (log-normal) delays;
- a burst of angry posts about the own hosting brand (an outage) two thirds of the way in;
- copy-paste bursts (``campaigns.py``): one text posted by 8-12 new accounts about one brand
  within 20 minutes, with small edits (kind ``coordinated``; their truth names the campaign).

Each record carries its truth (language, brands, intent) so tests can check the pipeline
against what was written, not against what the pipeline thinks.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipelines.catalog import Catalog, load_catalog
from pipelines.generator import texts
from pipelines.generator.campaigns import burst_start_fraction, copy_paste_burst, encode_burst
from pipelines.generator.distributions import (
    _BRAND_WEIGHTS,
    _INTENT_WEIGHTS,
    _MALFORMED_KINDS,
    _PLATFORM_WEIGHTS,
    _REACTIONS,
    _TYPE_WEIGHTS,
    _ingest_delay_ms,
    _malformed_value,
)
from pipelines.wire import EventCodec

DEFAULT_START_MS = int(datetime(2026, 11, 24, 8, 0, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    events: int = 20_000  # distinct events; duplicates and malformed records come on top
    events_per_minute: float = 400.0  # organic event-time density
    start_ms: int = DEFAULT_START_MS
    duplicate_rate: float = 0.03
    cross_post_rate: float = 0.04  # of customer posts and mentions
    malformed_rate: float = 0.004
    out_of_order_rate: float = 0.06
    late_rate: float = 0.008
    care_reply_rate: float = 0.75  # complaints and questions about own brands that get an answer
    legacy_v1_rate: float = 0.15  # records from an old collector that still writes schema v1
    burst: bool = True
    copy_paste_bursts: int = 1  # coordinated campaigns, from 35% of the way in, every 30%


@dataclass(frozen=True)
class EventTruth:
    lang: str
    brands: tuple[str, ...]
    intent: str
    campaign: str | None = None  # the copy-paste campaign this event belongs to


@dataclass
class GeneratedRecord:
    key: bytes | None
    value: bytes | None
    kind: str  # "event", "duplicate", "cross_post", "coordinated" or "malformed:<reason>"
    ingest_time_ms: int
    event: dict | None = None
    truth: EventTruth | None = None


@dataclass
class _Author:
    id: str
    handle: str
    follower_count: int
    is_brand_account: bool = False


@dataclass
class _Post:
    event_id: str
    platform: str
    thread_id: str
    channel_owner: str | None
    brand: str


@dataclass
class _State:
    rng: random.Random
    catalog: Catalog
    codec: EventCodec
    authors: list[_Author]
    recent_posts: dict[str, list[_Post]] = field(default_factory=dict)
    seq: int = 0


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _make_authors(rng: random.Random, n: int) -> list[_Author]:
    authors = []
    for i in range(n):
        handle = "".join(rng.choice(texts.SYLLABLES) for _ in range(rng.randint(2, 3)))
        if rng.random() < 0.6:
            handle += str(rng.randint(1, 999))
        followers = int(math.exp(rng.gauss(5.3, 1.7)))  # median ~200, a long tail of influencers
        authors.append(_Author(id=f"u{i:06d}", handle="@" + handle, follower_count=min(followers, 5_000_000)))
    return authors


class _Builder:
    """Builds events (dicts matching schemas/social_event) with their truth."""

    def __init__(self, st: _State, config: GeneratorConfig):
        self.st = st
        self.config = config
        self.brand_accounts = {
            b.id: [
                _Author(id=f"brand-{b.id}-{j}", handle=h, follower_count=50_000 + 10_000 * j, is_brand_account=True)
                for j, h in enumerate(b.handles)
            ]
            for b in st.catalog.brands
        }

    def new_id(self, platform: str) -> str:
        self.st.seq += 1
        return f"{platform}:{self.st.rng.getrandbits(48):012x}{self.st.seq:07d}"

    def text_for(self, brand_id: str, lang: str, intent: str) -> tuple[str, tuple[str, ...]]:
        rng = self.st.rng
        brand = self.st.catalog.brand(brand_id)
        rivals = [b for b in self.st.catalog.brands if b.sector == brand.sector and b.id != brand_id]
        other = rng.choice(rivals)
        body = rng.choice(texts.BODIES[(lang, brand.sector, intent)])
        mentioned = {brand_id}
        if "{other}" in body:
            mentioned.add(other.id)
        name = rng.choice([brand.name, brand.name, *brand.aliases])
        product = rng.choice(brand.products) if brand.products else brand.name
        if rng.random() < 0.3:
            name = name.upper() if rng.random() < 0.3 else name.lower()
        text = body.format(brand=name, product=product, other=other.name, handle=rng.choice(brand.handles))
        text = rng.choice(texts.OPENERS[lang]) + text + rng.choice(texts.CLOSERS[(lang, intent)]) + rng.choice(texts.EMOJI[intent])
        if rng.random() < 0.25:
            text += " " + rng.choice(brand.hashtags)
        if rng.random() < 0.1:
            text = text[0].upper() + text[1:]
        order = self.st.catalog.brand_ids
        return text, tuple(b for b in order if b in mentioned)

    def event(
        self,
        *,
        platform: str,
        event_type: str,
        author: _Author,
        event_time_ms: int,
        text: str | None = None,
        thread_id: str | None = None,
        parent_id: str | None = None,
        channel_owner: str | None = None,
        reaction_kind: str | None = None,
        review_rating: int | None = None,
        event_id: str | None = None,
    ) -> dict:
        rng = self.st.rng
        device = rng.choices(("mobile", "desktop", "unknown"), weights=(68, 27, 5))[0]
        return {
            "event_id": event_id or self.new_id(platform),
            "platform": platform,
            "event_type": event_type,
            "reaction_kind": reaction_kind,
            "review_rating": review_rating,
            "author": {
                "id": author.id,
                "handle": author.handle,
                "follower_count": author.follower_count,
                "is_brand_account": author.is_brand_account,
            },
            "text": text,
            "thread_id": thread_id,
            "parent_id": parent_id,
            "channel_owner": channel_owner,
            "device": device,
            "event_time": event_time_ms,
            "ingest_time": event_time_ms,  # set when scheduled
            "lang_hint": None,  # v2: set below by platforms that report a language
            "campaign_id": None,  # v2: set on brand promotions
        }


def generate_stream(config: GeneratorConfig, catalog: Catalog | None = None, codec: EventCodec | None = None) -> Iterator[GeneratedRecord]:
    """Yields the stream in publish order (by ingest time, then by creation)."""
    rng = random.Random(config.seed)
    catalog = catalog or load_catalog()
    codec = codec or EventCodec()
    legacy = EventCodec(codec.registry, writer_version=1)
    st = _State(rng=rng, catalog=catalog, codec=codec, authors=_make_authors(rng, max(500, config.events // 4)))
    b = _Builder(st, config)
    heap: list[tuple[int, int, GeneratedRecord]] = []
    tiebreak = 0

    def schedule(ev: dict, truth: EventTruth, kind: str = "event", delay_ms: int | None = None) -> None:
        nonlocal tiebreak
        ev["ingest_time"] = ev["event_time"] + (_ingest_delay_ms(rng, config) if delay_ms is None else delay_ms)
        if ev["text"] and ev["platform"] in ("x", "youtube", "tiktok") and truth.lang != "unknown":
            ev["lang_hint"] = truth.lang  # these platforms report a language
        if rng.random() < config.legacy_v1_rate:
            ev["lang_hint"] = ev["campaign_id"] = None  # v1 has neither: read with v2, they get the defaults
            value = legacy.encode(ev)
        else:
            value = codec.encode(ev)
        key = ev["event_id"].encode()
        tiebreak += 1
        heapq.heappush(heap, (ev["ingest_time"], tiebreak, GeneratedRecord(key, value, kind, ev["ingest_time"], ev, truth)))
        if rng.random() < config.duplicate_rate:
            again = ev["ingest_time"] + int(rng.uniform(0.5, 120) * 1000)
            tiebreak += 1
            heapq.heappush(heap, (again, tiebreak, GeneratedRecord(key, value, "duplicate", again, ev, truth)))

    mean_gap_ms = 60_000.0 / config.events_per_minute
    duration_ms = config.events * mean_gap_ms
    burst_start = config.start_ms + int(duration_ms * 0.66)
    burst_end = burst_start + 8 * 60_000
    for n in range(config.copy_paste_bursts):
        burst = copy_paste_burst(n, config.seed, config.start_ms + int(duration_ms * burst_start_fraction(n)), catalog)
        for (ev, lang, brands, campaign), (key, value) in zip(burst, encode_burst(burst, codec)):
            tiebreak += 1
            truth = EventTruth(lang, brands, "praise", campaign)
            heapq.heappush(heap, (ev["ingest_time"], tiebreak, GeneratedRecord(key, value, "coordinated", ev["ingest_time"], ev, truth)))
    now = config.start_ms
    produced = 0
    while produced < config.events:
        in_burst = config.burst and burst_start <= now < burst_end
        now += int(rng.expovariate(1.0 / (mean_gap_ms / (3.0 if in_burst else 1.0)))) + 1
        while heap and heap[0][0] <= now:
            yield heapq.heappop(heap)[2]
        if rng.random() < config.malformed_rate:
            kind = rng.choice(_MALFORMED_KINDS)
            sample = codec.encode(b.event(platform="x", event_type="post", author=st.authors[0], event_time_ms=now, text="x"))
            tiebreak += 1
            heapq.heappush(
                heap,
                (now, tiebreak, GeneratedRecord(f"bad-{tiebreak}".encode(), _malformed_value(rng, kind, sample), f"malformed:{kind}", now)),
            )
        produced += _organic_event(b, now, in_burst, schedule)
    while heap:
        yield heapq.heappop(heap)[2]


def _organic_event(b: _Builder, now: int, in_burst: bool, schedule) -> int:
    """Creates one organic event (and what it triggers: cross-post, care reply). Returns events created."""
    st, rng, config = b.st, b.st.rng, b.config
    brand_id = "nuvola" if in_burst and rng.random() < 0.7 else _weighted(rng, _BRAND_WEIGHTS)
    brand = st.catalog.brand(brand_id)
    lang = "it" if rng.random() < 0.65 else "en"
    event_type = _weighted(rng, _TYPE_WEIGHTS)
    intent = "complaint" if in_burst and brand_id == "nuvola" and rng.random() < 0.85 else _weighted(rng, _INTENT_WEIGHTS)
    author = rng.choice(st.authors)
    posts = st.recent_posts.setdefault(brand_id, [])
    owner_handle = brand.handles[0]
    created = 1

    if event_type in ("reaction", "view", "share", "comment", "reply") and not posts:
        event_type = "post"
    if event_type == "post" and rng.random() < 0.3:
        # The brand publishes on its own page; customers will comment and react there.
        account = b.brand_accounts[brand_id][0]
        platform = _weighted(rng, _PLATFORM_WEIGHTS)
        product = rng.choice(brand.products) if brand.products else brand.name
        text = rng.choice(texts.BRAND_POSTS[lang]).format(product=product)
        ev = b.event(platform=platform, event_type="post", author=account, event_time_ms=now, text=text, channel_owner=owner_handle)
        ev["thread_id"] = ev["event_id"]
        if rng.random() < 0.5:
            ev["campaign_id"] = f"cmp-{brand_id}-2026-{rng.randint(1, 4)}"
        posts.append(_Post(ev["event_id"], platform, ev["event_id"], owner_handle, brand_id))
        del posts[:-40]
        schedule(ev, EventTruth(lang, (brand_id,), "neutral"))
        return created

    if event_type in ("post", "mention"):
        platform = _weighted(rng, _PLATFORM_WEIGHTS)
        text, brands = b.text_for(brand_id, lang, intent)
        ev = b.event(platform=platform, event_type=event_type, author=author, event_time_ms=now, text=text)
        ev["thread_id"] = ev["event_id"]
        schedule(ev, EventTruth(lang, brands, intent))
        if event_type == "post":
            posts.append(_Post(ev["event_id"], platform, ev["event_id"], None, brand_id))
            del posts[:-40]
        if rng.random() < config.cross_post_rate:
            other = rng.choice([p for p in _PLATFORM_WEIGHTS if p != platform])
            twin = b.event(
                platform=other, event_type=event_type, author=author, event_time_ms=now + int(rng.uniform(5, 120) * 1000), text=text
            )
            twin["thread_id"] = twin["event_id"]
            schedule(twin, EventTruth(lang, brands, intent), kind="cross_post")
            created += 1
        _maybe_care_reply(b, ev, brand_id, lang, intent, schedule)
        return created

    if event_type in ("reaction", "view", "share"):
        owned = [p for p in posts if p.channel_owner]
        parent = rng.choice(owned) if owned and rng.random() < 0.8 else rng.choice(posts)
        kind = None
        if event_type == "reaction":
            kind = "angry" if in_burst and parent.brand == "nuvola" and rng.random() < 0.6 else _weighted(rng, _REACTIONS)
        text = None
        brands: tuple[str, ...] = ()
        if event_type == "share" and rng.random() < 0.3:
            text, brands = b.text_for(brand_id, lang, intent)
        ev = b.event(
            platform=parent.platform,
            event_type=event_type,
            author=author,
            event_time_ms=now,
            text=text,
            thread_id=parent.thread_id,
            parent_id=parent.event_id,
            channel_owner=parent.channel_owner,
            reaction_kind=kind,
        )
        truth_brands = _union(st, brands, (parent.brand,) if parent.channel_owner else ())
        if not parent.channel_owner and not brands:
            # A reaction to a customer's post about the brand: attributed by nothing in the event itself.
            truth_brands = ()
        schedule(ev, EventTruth(lang if text else "unknown", truth_brands, intent if text else "neutral"))
        return created

    if event_type in ("comment", "reply"):
        parent = rng.choice(posts)
        text, brands = b.text_for(parent.brand, lang, intent)
        if parent.channel_owner and rng.random() < 0.5:
            # On the brand's own page people often do not name it.
            body = rng.choice(texts.BODIES[(lang, st.catalog.brand(parent.brand).sector, intent)])
            if "{" not in body:
                text, brands = body, ()
        ev = b.event(
            platform=parent.platform,
            event_type=event_type,
            author=author,
            event_time_ms=now,
            text=text,
            thread_id=parent.thread_id,
            parent_id=parent.event_id,
            channel_owner=parent.channel_owner,
        )
        truth_brands = _union(st, brands, (parent.brand,) if parent.channel_owner else ())
        schedule(ev, EventTruth(lang, truth_brands, intent))
        _maybe_care_reply(b, ev, parent.brand, lang, intent, schedule)
        return created

    if event_type == "review":
        text, brands = b.text_for(brand_id, lang, intent)
        rating = {"complaint": rng.choice((1, 1, 2)), "question": 3, "praise": rng.choice((4, 5, 5)), "neutral": rng.choice((3, 4))}[intent]
        ev = b.event(platform="review_site", event_type="review", author=author, event_time_ms=now, text=text, review_rating=rating)
        ev["thread_id"] = ev["event_id"]
        schedule(ev, EventTruth(lang, brands, intent))
        _maybe_care_reply(b, ev, brand_id, lang, intent, schedule)
        return created

    # direct_message: a private conversation with the brand's account.
    platform = rng.choice(("facebook", "instagram", "x", "telegram"))
    if intent in ("praise", "neutral"):
        intent = "question"
    text, brands = b.text_for(brand_id, lang, intent)
    ev = b.event(platform=platform, event_type="direct_message", author=author, event_time_ms=now, text=text, channel_owner=owner_handle)
    ev["thread_id"] = ev["event_id"]
    schedule(ev, EventTruth(lang, _union(st, brands, (brand_id,)), intent))
    _maybe_care_reply(b, ev, brand_id, lang, intent, schedule)
    return created


def _union(st: _State, *groups: tuple[str, ...]) -> tuple[str, ...]:
    found = {x for g in groups for x in g}
    return tuple(x for x in st.catalog.brand_ids if x in found)


def _maybe_care_reply(b: _Builder, customer_event: dict, brand_id: str, lang: str, intent: str, schedule) -> None:
    """An own brand answers complaints and questions after a log-normal delay (median ~20 minutes)."""
    st, rng = b.st, b.st.rng
    brand = st.catalog.brand(brand_id)
    if brand.role != "own" or intent not in ("complaint", "question") or rng.random() >= b.config.care_reply_rate:
        return
    account = b.brand_accounts[brand_id][-1]  # the care account (e.g. @NuvolaCare)
    delay_ms = int(math.exp(rng.gauss(math.log(20 * 60), 0.9)) * 1000)
    text = rng.choice(texts.CARE_REPLIES[lang]).format(customer=customer_event["author"]["handle"])
    reply = b.event(
        platform=customer_event["platform"],
        event_type="reply",
        author=account,
        event_time_ms=customer_event["event_time"] + delay_ms,
        text=text,
        thread_id=customer_event["thread_id"],
        parent_id=customer_event["event_id"],
        channel_owner=customer_event["channel_owner"],
    )
    schedule(reply, EventTruth(lang, (brand_id,), "care_reply"))
