"""Per-event scores: influence-v1 and crisis-risk-v1 (README "Metric definitions"), worked by hand."""

from __future__ import annotations

import math

import pytest

from pipelines.transforms.score import crisis_risk_v1, influence_v1, score


def _event(event_type="post", followers=999, brand=False, sentiment_score=0.0, intent="other", offensive=None) -> dict:
    return {
        "event_type": event_type,
        "author": {"follower_count": followers, "is_brand_account": brand},
        "sentiment_score": sentiment_score,
        "intent": intent,
        "is_offensive": offensive,
    }


@pytest.mark.parametrize(
    "followers, brand, want",
    [
        (0, False, 0.0),
        (9, False, round(1 / 6, 6)),  # log10(10) / 6
        (999, False, 0.5),  # log10(1000) / 6
        (999_999, False, 1.0),
        (50_000_000, False, 1.0),  # bounded
        (50_000_000, True, 0.0),  # brand accounts: owned media, not a voice
    ],
)
def test_influence_is_a_bounded_log_of_followers_and_zero_for_brand_accounts(followers, brand, want):
    assert influence_v1(followers, brand) == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize(
    "event, want",
    [
        # voice 0: nothing negative, whoever writes it
        (_event(followers=999_999, sentiment_score=0.8, intent="praise"), 0.0),
        # a negative complaint published to 999 followers: voice = 0.5*0.6 + 0.3*0.7 = 0.51;
        # visibility = max(0.5, 0.25) = 0.5 -> 0.51 * 0.75
        (_event(sentiment_score=-0.6, intent="complaint"), 0.51 * 0.75),
        # a churn threat, offensive, fully negative, to a million followers: voice 1, visibility 1
        (_event(followers=999_999, sentiment_score=-1.0, intent="churn_threat", offensive=True), 1.0),
        # the same words as a comment (reach 0): visibility = influence / 2 = 0.5 -> 1 * 0.75
        (_event("comment", followers=999_999, sentiment_score=-1.0, intent="churn_threat", offensive=True), 0.75),
        # unknown offensiveness counts 0: voice = 0.5 * 0.2 = 0.1, nobody (0 followers): * 0.5
        (_event(followers=0, sentiment_score=-0.2, offensive=None), 0.05),
        # a brand account's own complaint-like post is never a crisis risk
        (_event(followers=999_999, brand=True, sentiment_score=-1.0, intent="complaint"), 0.0),
    ],
)
def test_crisis_risk_combines_negativity_intent_offence_and_visibility(event, want):
    scored = score([event])[0]
    assert scored["crisis_risk"] == pytest.approx(want, abs=1e-6)
    assert 0.0 <= scored["crisis_risk"] <= 1.0
    assert crisis_risk_v1(event, scored["influence"]) == scored["crisis_risk"]


def test_scores_are_rounded_to_six_decimals_and_stay_in_the_unit_interval():
    for followers in (0, 1, 7, 123, 4567, 89_012, 3_456_789):
        for s in (-1.0, -0.3333, 0.0, 0.5):
            e = score([_event("review", followers, sentiment_score=s, intent="complaint", offensive=True)])[0]
            for v in (e["influence"], e["crisis_risk"]):
                assert 0.0 <= v <= 1.0 and v == round(v, 6)
            assert e["reach"] == followers and e["influence"] == round(min(1.0, math.log10(1 + followers) / 6), 6)
