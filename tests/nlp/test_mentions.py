"""Mention spans with kinds (``MentionMatcher``) and the spaCy rule component that must agree with it."""

from __future__ import annotations

import pytest

from pipelines.catalog import BrandMatcher, Mention, MentionMatcher, load_catalog
from pipelines.nlp import aspects_data as D
from pipelines.nlp.datasets import heldout_ids, read_rows
from pipelines.nlp.evaluate_aspects import mention_scores
from pipelines.nlp.spacy_mentions import doc_mentions, mentions_pipeline

CATALOG = load_catalog()
MATCHER = MentionMatcher(CATALOG)
ROWS = read_rows(D.DOMAIN_FILE)


def spans(text: str) -> list[tuple[str, str, str]]:
    return [(text[m.start : m.end], m.kind, m.id) for m in MATCHER.spans(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("grazie @NuvolaHosting!", [("@NuvolaHosting", "brand", "nuvola")]),  # one span with its '@'
        ("#LineaViva top", [("#LineaViva", "brand", "lineaviva")]),
        ("LineaViva Fibra va", [("LineaViva Fibra", "product", "lineaviva_fibra")]),  # longest wins: product, not brand
        ("meglio TeleSprint o hostiamo.it?", [("TeleSprint", "competitor", "telesprint"), ("hostiamo.it", "competitor", "hostiamo")]),
        ("LINEAVIVA MOBILE 5G.", [("LINEAVIVA MOBILE 5G", "product", "lineaviva_mobile")]),
        ("status.nuvola.it dice ok", [("nuvola.it", "brand", "nuvola")]),
        ("#NuvolaHostingDown e una nuvola", []),  # a name inside a longer word is not a mention
        ("", []),
    ],
)
def test_spans_are_whole_words_with_kinds_longest_first(text, expected):
    assert spans(text) == expected


def test_offsets_survive_a_character_whose_lower_case_is_longer():
    text = "İstanbul: Dolce Forno"
    assert MATCHER.spans(text) == [Mention(10, 21, "brand", "dolceforno")]


def test_brand_matcher_results_are_unchanged_and_agree_with_span_ids():
    brands = BrandMatcher(CATALOG)
    owner = {p.id: p.brand for p in CATALOG.products_by_id}
    for r in ROWS:
        ids = {owner.get(m.id, m.id) for m in MATCHER.spans(r["text"])}
        assert ids <= set(brands.match(r["text"])), r["text"]


def test_spacy_component_agrees_with_the_fast_matcher_on_the_domain_set():
    nlps = {lang: mentions_pipeline(lang) for lang in ("it", "en")}
    disagree = []
    for r in ROWS:
        fast = [(m.start, m.end, m.kind, m.id) for m in MATCHER.spans(r["text"])]
        doc = nlps[r["lang"]](r["text"])
        if doc_mentions(doc) != fast:
            disagree.append((r["id"], fast, doc_mentions(doc)))
    assert disagree == []
    doc = nlps["it"]("Passo da @ServerRapido a Nuvola VPS")
    assert [(e.text, e.label_, e.kb_id_) for e in doc.ents] == [
        ("@ServerRapido", "competitor", "serverrapido"),
        ("Nuvola VPS", "product", "nuvola_vps"),
    ]


def test_mention_f1_target_on_the_domain_set_and_its_heldout_split():
    held = heldout_ids(ROWS)
    assert mention_scores(MATCHER, ROWS)["f1"] >= 0.95
    assert mention_scores(MATCHER, [r for r in ROWS if r["id"] in held])["f1"] >= 0.95
