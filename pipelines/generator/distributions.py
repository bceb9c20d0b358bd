"""The stream's distributions: platform, event-type, brand, intent and reaction mixes, ingest
delays (on time, out of order, late) and the malformed records producers emit."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.generator.stream import GeneratorConfig

_PLATFORM_WEIGHTS = {"facebook": 24, "instagram": 22, "x": 18, "linkedin": 7, "youtube": 8, "tiktok": 11, "telegram": 4}
_TYPE_WEIGHTS = {
    "view": 20,
    "reaction": 24,
    "comment": 15,
    "post": 7,
    "mention": 10,
    "share": 6,
    "reply": 5,
    "review": 5,
    "direct_message": 8,
}
_BRAND_WEIGHTS = {"nuvola": 34, "serverrapido": 14, "hostiamo": 12, "dolceforno": 26, "mulinosole": 14}
_INTENT_WEIGHTS = {"complaint": 24, "question": 16, "praise": 30, "neutral": 30}
_REACTIONS = {"like": 60, "love": 14, "haha": 5, "wow": 5, "sad": 5, "angry": 6, "care": 5}
_MALFORMED_KINDS = ("empty_value", "bad_magic_byte", "unknown_schema_id", "malformed_avro", "trailing_bytes")


def _ingest_delay_ms(rng: random.Random, config: GeneratorConfig) -> int:
    u = rng.random()
    if u < config.late_rate:
        return int(rng.uniform(15 * 60, 45 * 60) * 1000)
    if u < config.late_rate + config.out_of_order_rate:
        return int(rng.uniform(30, 240) * 1000)
    return int(rng.expovariate(1 / 3.0) * 1000) + 200


def _malformed_value(rng: random.Random, kind: str, good: bytes) -> bytes:
    if kind == "empty_value":
        return b""
    if kind == "bad_magic_byte":
        return b'{"event_id": "legacy-json", "text": "posted by an old collector"}'
    if kind == "unknown_schema_id":
        return b"\x00" + (9999).to_bytes(4, "big") + good[5:]
    if kind == "malformed_avro":
        return good[: max(6, len(good) // 3)]
    return good + bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 12)))
