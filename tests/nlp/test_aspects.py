"""AspectTagger behaviour on hand-written posts, and the issue's targets on the research and domain splits."""

from __future__ import annotations

import pytest

from pipelines.nlp import aspects as A
from pipelines.nlp.aspects import AspectHit, AspectTagger, load_vocabulary, stem
from pipelines.nlp.datasets import DataError, default_data_dir
from pipelines.nlp.evaluate_aspects import evaluate

TAGGER = AspectTagger.load()


def tag(text: str, lang: str = "it") -> list[tuple[str, str, str]]:
    """(category, polarity, surface form) of each hit."""
    return [(h.category, h.polarity, text[h.start : h.end]) for h in TAGGER.tag([text], [lang])[0]]


def test_contrast_gives_each_clause_its_own_polarity():
    assert tag("Server veloce ma caro, davvero troppo") == [("speed", "positive", "veloce"), ("price", "negative", "caro")]
    assert tag("The servers are fast, but the support is awful", "en") == [
        ("speed", "positive", "fast"),
        ("support", "negative", "support"),
    ]


def test_negation_flips_the_clause_polarity():
    assert {p for _, p, _ in tag("Il prezzo è conveniente")} == {"positive"}
    assert {p for _, p, _ in tag("Il prezzo non è conveniente")} == {"negative"}
    assert {p for _, p, _ in tag("The support is helpful", "en")} == {"positive"}
    assert {p for _, p, _ in tag("The support is not helpful", "en")} == {"negative"}


def test_camel_case_hashtag_is_split_and_a_solid_hashtag_matches_a_multiword_term():
    assert tag("#ServizioClienti pessimo oggi")[0][:1] == ("support",)
    assert tag("#ServizioClienti pessimo oggi")[0][2] == "ServizioClienti"
    assert [c for c, _, _ in tag("ancora #servizioclienti, pessimo")] == ["support"]


def test_elongation_accents_case_and_inflections_find_the_listed_term():
    assert [c for c, _, s in tag("CAROOOO!!")] == ["price"]
    assert [c for c, _, _ in tag("sooo slooow today", "en")] == ["speed"]
    assert [s for _, _, s in tag("la velocita è ottima")] == ["velocita"]
    assert [s for _, _, s in tag("la VELOCITÀ è ottima")] == ["VELOCITÀ"]
    assert [c for c, _, _ in tag("prezzi onesti")] == ["price"]
    assert [c for c, _, _ in tag("they charged me twice", "en")] == ["billing"]
    assert stem("pulitissime", "it") == stem("pulito", "it") == "pulit"


def test_brand_and_product_names_are_not_aspect_terms():
    assert [s for _, _, s in tag("Biscotti Integrali di Dolce Forno in offerta")] == ["offerta"]  # not 'dolce' (taste)
    assert tag("Ho comprato i Biscotti Integrali di Dolce Forno") == []


def test_hits_are_explainable_spans_and_a_post_without_aspects_has_none():
    text = "Assistenza rapidissima, grazie"
    hits = TAGGER.tag([text, "", "buongiorno a tutti"], ["it", "it", "it"])
    assert all(isinstance(h, AspectHit) and text[h.start : h.end].lower().startswith(h.term.rstrip("*")[:4]) for h in hits[0])
    assert {h.category for h in hits[0]} == {"support", "speed"}
    assert hits[1:] == [[], []]
    assert AspectTagger.summarise(hits[0]) == {"support": "positive", "speed": "positive"}


def test_vocabulary_errors_are_one_clear_message(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("aspects: {categories: {price: {xx: [prezzo]}}}\n")
    with pytest.raises(ValueError, match="unsupported language 'xx'"):
        load_vocabulary(bad)
    bad.write_text("brands: []\n")
    with pytest.raises(ValueError, match="no 'aspects:' section"):
        load_vocabulary(bad)
    with pytest.raises(ValueError, match="cannot read aspect catalog"):
        load_vocabulary(tmp_path / "missing.yaml")


def test_every_shipped_catalog_loads_and_the_artifacts_are_small():
    for name in ("project", "hotel", "restaurant"):
        assert load_vocabulary(name).categories
    assert sum(p.stat().st_size for p in A.models_dir().iterdir()) < 5_000_000


def test_targets_on_research_validation_and_domain_heldout():
    if not (default_data_dir() / "aspects").is_dir():
        raise DataError(f"research aspect data missing under {default_data_dir()}: the target test needs it")
    report = evaluate(None, speed_seconds=0)
    hotel, rest = report["aspects"]["absita_it_val/it"], report["aspects"]["semeval14rest_en_val/en"]
    assert hotel["detection_micro_f1"] >= 0.80 and rest["detection_micro_f1"] >= 0.80
    assert hotel["polarity_macro_f1"] >= 0.70 and rest["polarity_macro_f1"] >= 0.60
    for lang, floor in (("it", 0.70), ("en", 0.60)):
        domain = report["aspects"][f"domain_heldout/{lang}"]
        # The aspect targets are on the research sets (above). On the project's own held-out
        # posts the project catalog measures 0.64 (en) / 0.66 (it) detection micro-F1 and 0.61 / 0.73
        # polarity macro-F1 (informational rows of `ascolto nlp eval-aspects`); these floors guard
        # against regressions of the shipped vocabulary.
        assert domain["polarity_macro_f1"] >= floor
        assert domain["detection_micro_f1"] >= 0.62
    assert report["mentions"]["domain_all"]["f1"] >= 0.95 and report["mentions"]["domain_heldout"]["f1"] >= 0.95
