"""Copy-paste bursts for the seeded stream: a coordinated campaign is one text that at least 8
new accounts post about one brand within 20 minutes, each with a small edit or none: another
@handle, an emoji, a word swapped, or two of them.

Drawn from a random generator of their own (seeded from the stream's seed and the burst's
number), so adding them leaves every other record of the stream as it was. Records carry kind
``coordinated`` and their truth the campaign's name (``EventTruth.campaign``).
"""

from __future__ import annotations

import random

from pipelines.catalog import Catalog
from pipelines.generator import texts
from pipelines.wire import EventCodec

BURST_MINUTES = 20
PLATFORMS = ("x", "instagram", "facebook", "tiktok")
EDITS = ("none", "handle", "emoji", "swap", "handle+emoji", "swap+emoji")


def burst_start_fraction(n: int) -> float:
    """Where burst ``n`` (0-based) starts, as a fraction of the stream's organic duration."""
    return 0.35 + 0.3 * n


def _edit(rng: random.Random, template: str, lang: str, kind: str, fields: dict[str, str]) -> str:
    adjectives = texts.CAMPAIGN_ADJECTIVES[lang]
    adj = rng.choice(adjectives[1:]) if "swap" in kind else adjectives[0]
    text = template.format(adj=adj, **fields)
    if "handle" in kind:
        handle = "@" + "".join(rng.choice(texts.SYLLABLES) for _ in range(2)) + str(rng.randint(10, 99))
        text = f"{handle} {text}" if rng.random() < 0.5 else f"{text} {handle}"
    if "emoji" in kind:
        text += " " + rng.choice(texts.CAMPAIGN_EMOJI)
    return text


def copy_paste_burst(n: int, seed: int, start_ms: int, catalog: Catalog) -> list[tuple[dict, str, tuple[str, ...], str]]:
    """Burst ``n``: a list of (event, lang, brands, campaign name), in event-time order."""
    rng = random.Random(f"copy-paste/{seed}/{n}")
    brand = rng.choice(catalog.brands)
    lang = rng.choice(("it", "en"))
    template = rng.choice(texts.CAMPAIGN_POSTS[lang])
    product = rng.choice(brand.products) if brand.products else brand.name
    campaign = f"copy-paste-{n + 1}"
    times = sorted(start_ms + rng.randrange(BURST_MINUTES * 60_000) for _ in range(rng.randint(8, 12)))
    out = []
    for i, t in enumerate(times):
        edit = "none" if i == 0 else rng.choice(EDITS)
        handle = "@" + "".join(rng.choice(texts.SYLLABLES) for _ in range(3)) + str(rng.randint(100, 9999))
        platform = rng.choice(PLATFORMS)
        event_id = f"{platform}:cp{n + 1}{rng.getrandbits(40):010x}{i:03d}"
        ev = {
            "event_id": event_id,
            "platform": platform,
            "event_type": rng.choice(("post", "post", "mention")),
            "reaction_kind": None,
            "review_rating": None,
            "author": {"id": f"cp{n + 1}-{i:03d}", "handle": handle, "follower_count": rng.randint(3, 80), "is_brand_account": False},
            "text": _edit(rng, template, lang, edit, {"brand": brand.name, "product": product}),
            "thread_id": event_id,
            "parent_id": None,
            "channel_owner": None,
            "device": rng.choice(("mobile", "mobile", "desktop")),
            "event_time": t,
            "ingest_time": t + rng.randint(1_000, 60_000),
            "lang_hint": None,
            "campaign_id": None,
        }
        out.append((ev, lang, (brand.id,), campaign))
    return out


def encode_burst(burst: list[tuple[dict, str, tuple[str, ...], str]], codec: EventCodec) -> list[tuple[bytes, bytes]]:
    """(key, value) of each event of a burst, as the collector publishes them."""
    return [(ev["event_id"].encode(), codec.encode(ev)) for ev, *_ in burst]
