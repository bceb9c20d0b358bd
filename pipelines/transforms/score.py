"""ScoreEngagement: engagement points and estimated reach per event (formula engagement-v1).

engagement-v1 weights events by how much effort they show (integer points, so sums are exact):

    passive  view .......................... 0   (counted as an impression, not engagement)
    light    reaction ...................... 1
    medium   post, mention ................. 2
             share ......................... 3
    strong   comment, reply ................ 4
             review, direct_message ........ 5

reach-v1 estimates who could see it: the author's follower count for content that is
published to followers (post, mention, share, review), 0 for everything else.

Input and output: lists of event dicts; adds ``engagement_points`` and ``reach``.
"""

from __future__ import annotations

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


def score(events: list[dict]) -> list[dict]:
    points = ENGAGEMENT_POINTS_V1
    for e in events:
        t = e["event_type"]
        e["engagement_points"] = points[t]
        e["reach"] = e["author"]["follower_count"] if t in REACH_TYPES_V1 else 0
    return events


class ScoreEngagement(beam.PTransform):
    def expand(self, events):
        return events | "WeightByType" >> beam.Map(score)
