"""ScoreEngagement: the per-event scores, each formula versioned (``model.METRIC_VERSION``).

engagement-v1 weights events by how much effort they show (integer points, so sums are exact):

    passive  view .......................... 0   (counted as an impression, not engagement)
    light    reaction ...................... 1
    medium   post, mention ................. 2
             share ......................... 3
    strong   comment, reply ................ 4
             review, direct_message ........ 5

reach-v1 estimates who could see it: the author's follower count for content that is
published to followers (post, mention, share, review), 0 for everything else.

influence-v1, how much the author's voice carries, in [0, 1] (a bounded log of followers:
10 followers 0.17, 1,000 0.5, 1M and more 1):

    influence = min(1, log10(1 + follower_count) / 6)        0 for brand accounts

Brand accounts score 0: a brand's own posts and care replies are owned media, not a voice
about the brand (the same exclusion as the customer-voice views).

crisis-risk-v1, how much one event could feed a crisis, in [0, 1], 0 for brand accounts:

    negativity  = max(0, -sentiment_score)                   0 when the sentiment is unknown
    intent_w    = 1 churn_threat, 0.7 complaint, 0 otherwise
    offensive   = 1 when is_offensive is true, else 0 (unknown counts as 0)
    voice       = 0.5 negativity + 0.3 intent_w + 0.2 offensive                   in [0, 1]
    visibility  = max(min(1, log10(1 + reach) / 6), influence / 2)                in [0, 1]
    crisis_risk = voice * (0.5 + 0.5 visibility)

A negative complaint from nobody is half as risky as the same words published to a million
followers; what says nothing negative scores 0 whoever writes it. Both scores are rounded to
6 decimals (stored exactly, equal on every path).

Input and output: lists of event dicts (enriched: ``sentiment_score``, ``intent``,
``is_offensive``); adds ``engagement_points``, ``reach``, ``influence`` and ``crisis_risk``.
"""

from __future__ import annotations

import math

import apache_beam as beam

from pipelines.model import METRIC_VERSION  # noqa: F401 - re-exported: the version of these formulas

ENGAGEMENT_POINTS_V1 = {
    "view": 0,
    "reaction": 1,
    "post": 2,
    "mention": 2,
    "share": 3,
    "comment": 4,
    "reply": 4,
    "review": 5,
    "direct_message": 5,
}
REACH_TYPES_V1 = frozenset({"post", "mention", "share", "review"})
INFLUENCE_LOG10_SPAN = 6.0  # log10(1 + followers) at which influence-v1 saturates (1M followers)
CRISIS_INTENT_WEIGHTS_V1 = {"churn_threat": 1.0, "complaint": 0.7}


def log_score(count: int) -> float:
    """min(1, log10(1 + count) / 6): 0 for 0, 0.5 for 999, 1 from 999,999."""
    return min(1.0, math.log10(1 + count) / INFLUENCE_LOG10_SPAN)


def influence_v1(follower_count: int, is_brand_account: bool) -> float:
    return 0.0 if is_brand_account else round(log_score(follower_count), 6)


def crisis_risk_v1(e: dict, influence: float) -> float:
    if e["author"]["is_brand_account"]:
        return 0.0
    negativity = max(0.0, -float(e.get("sentiment_score") or 0.0))
    voice = 0.5 * negativity + 0.3 * CRISIS_INTENT_WEIGHTS_V1.get(e.get("intent"), 0.0) + 0.2 * (e.get("is_offensive") is True)
    if voice == 0.0:
        return 0.0
    visibility = max(log_score(e["reach"]), influence / 2)
    return round(voice * (0.5 + 0.5 * visibility), 6)


def score(events: list[dict]) -> list[dict]:
    points = ENGAGEMENT_POINTS_V1
    for e in events:
        t = e["event_type"]
        author = e["author"]
        e["engagement_points"] = points[t]
        e["reach"] = author["follower_count"] if t in REACH_TYPES_V1 else 0
        e["influence"] = influence = influence_v1(author["follower_count"], author["is_brand_account"])
        e["crisis_risk"] = crisis_risk_v1(e, influence)
    return events


class ScoreEngagement(beam.PTransform):
    def expand(self, events):
        return events | "WeightByType" >> beam.Map(score)
