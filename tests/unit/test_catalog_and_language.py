from pathlib import Path

import pytest

from pipelines.catalog import BrandMatcher, CatalogError, fold, load_catalog
from pipelines.generator import GeneratorConfig, generate_stream
from pipelines.language import detect_language
from pipelines.transforms.enrich import BrandAttributor

CATALOG = load_catalog()
MATCHER = BrandMatcher(CATALOG)


@pytest.mark.parametrize(
    "text, brands",
    [
        ("il sito su Nuvola Hosting è giù", ["nuvola"]),
        ("NUVOLA HOSTING mai più", ["nuvola"]),
        ("grazie @NuvolaCare!!", ["nuvola"]),
        ("#nuvolahosting #ServerRapido", ["nuvola", "serverrapido"]),
        ("passo da nuvola.it a hostiamo.it", ["nuvola", "hostiamo"]),
        ("i Biscotti Integrali sono buoni", ["dolceforno"]),
        ("Mulino del Sole o Dolce Forno?", ["dolceforno", "mulinosole"]),
        ("una nuvola in cielo e un server rapidissimo", []),  # no brand: words inside other words or alone
        ("nuvolahostingfake e xhostiamo", []),
        ("", []),
        (None, []),
    ],
)
def test_brand_matcher_finds_whole_aliases_handles_hashtags_and_products(text, brands):
    assert MATCHER.match(text) == brands


def test_fold_lowers_and_strips_accents_but_keeps_emoji():
    assert fold("PERCHÉ Più 😡") == "perche piu 😡"


def test_event_on_an_owned_page_or_by_a_brand_account_belongs_to_that_brand():
    attributor = BrandAttributor(CATALOG)
    base = {"text": None, "channel_owner": None, "author": {"handle": "@someone", "is_brand_account": False}}
    assert attributor.brands(base) == []
    assert attributor.brands({**base, "channel_owner": "@DolceFornoIT"}) == ["dolceforno"]
    assert attributor.brands({**base, "author": {"handle": "@NuvolaCare", "is_brand_account": True}, "text": "vs Hostiamo"}) == [
        "nuvola",
        "hostiamo",
    ]
    # a customer whose handle looks like the brand's is not the brand
    assert attributor.brands({**base, "author": {"handle": "@NuvolaCare", "is_brand_account": False}}) == []


def test_generated_stream_brands_are_found_exactly_as_the_generator_wrote_them():
    attributor = BrandAttributor(CATALOG)
    recs = [r for r in generate_stream(GeneratorConfig(seed=5, events=4000)) if r.kind == "event"]
    wrong = [(r.event["text"], r.truth.brands) for r in recs if tuple(attributor.brands(r.event)) != r.truth.brands]
    assert wrong == []


def test_language_of_generated_posts_is_identified_for_at_least_97_percent():
    recs = [r for r in generate_stream(GeneratorConfig(seed=5, events=4000)) if r.kind == "event" and r.event["text"]]
    right = sum(detect_language(r.event["text"]) == r.truth.lang for r in recs)
    assert right / len(recs) >= 0.97, f"{right}/{len(recs)}"
    assert detect_language("👍👍") == "unknown" and detect_language(None) == "unknown"


@pytest.mark.parametrize(
    "content, message",
    [
        ("brands: []", "non-empty 'brands'"),
        ("brands:\n  - {id: a, name: A, sector: s}", "lacks role"),
        ("brands:\n  - {id: A-1, name: A, sector: s, role: own}", "lower-case"),
        ("brands:\n  - {id: a, name: A, sector: s, role: own}\n  - {id: a, name: B, sector: s, role: own}", "appears twice"),
        ("brands:\n  - {id: a, name: A, sector: s, role: boss}", "role must be"),
        ("brands: [", "not valid YAML"),
    ],
)
def test_a_broken_catalog_is_refused_with_what_to_fix(tmp_path: Path, content, message):
    path = tmp_path / "catalog.yaml"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)
