"""``ascolto explain`` names the catalog entities and aspects of a post, with spans as written."""

from pipelines.nlp.explain import explain


def test_explain_lists_brand_product_competitor_and_aspects():
    text = "Il supporto di @NuvolaCare è velocissimo, ma Nuvola VPS ha troppi disservizi: passo a ServerRapido"
    result = explain(text)
    assert [(e["text"], e["kind"], e["id"]) for e in result["entities"]] == [
        ("@NuvolaCare", "brand", "nuvola"),
        ("Nuvola VPS", "product", "nuvola_vps"),
        ("ServerRapido", "competitor", "serverrapido"),
    ]
    aspects = {(a["category"], a["polarity"]) for a in result["aspects"]}
    assert ("support", "positive") in aspects
    assert all(text[e["start"] : e["end"]] == e["text"] for e in result["entities"])


def test_explain_of_a_post_about_nothing_in_the_catalog():
    result = explain("Che bella giornata al mare")
    assert result["entities"] == [] and result["aspects"] == []
