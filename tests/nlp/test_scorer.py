"""The shipped models load offline and score batches; the Scorer interface is pluggable; spaCy, explain and enrich use it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pipelines.nlp import batch
from pipelines.nlp.explain import explain
from pipelines.nlp.scorer import FIELDS, MODELS_DIR, LinearScorer, Scorer, ScorerError, default_scorer, load_scorer
from pipelines.nlp.spacy_components import build_pipeline

POSTS_IT = [
    "Non è male, ma il supporto è lentissimo 😡",
    "Grazie @LineaViva, fibra attivata in due giorni!",
    "Come si configura Nuvola Mail?",
]
POSTS_EN = ["Worst hosting ever, you are thieves", "Love the new cookies 😍", "Thinking of switching to TeleSprint, any advice?"]


class KeywordScorer:
    """A second Scorer: a few keywords, to show that any implementation plugs in."""

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        out = []
        for text in texts:
            negative = any(w in text.lower() for w in ("worst", "lento", "thieves"))
            label = "neg" if negative else "pos"
            fields = {f: {"label": "other", "probs": {"other": 1.0}} for f in FIELDS}
            fields["sentiment"] = {"label": label, "probs": {label: 1.0}}
            fields["offensive"] = {"label": "offensive" if "thieves" in text else "not", "probs": {}}
            out.append(fields)
        return out


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during scoring")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_every_language_ships_four_heads_with_model_cards_under_50_mb():
    total = 0
    for lang in ("it", "en"):
        for head in FIELDS:
            artifact, card_path = MODELS_DIR / lang / f"{head}.npz", MODELS_DIR / lang / f"{head}.json"
            assert artifact.exists() and card_path.exists(), f"missing {lang}/{head}: run 'ascolto nlp train'"
            card = json.loads(card_path.read_text(encoding="utf-8"))
            for key in ("version", "trained_on", "training_data", "terms", "metrics", "libraries", "selection"):
                assert card[key], f"{lang}/{head} card lacks {key}"
            assert all(d["terms"] for d in card["training_data"])
            total += artifact.stat().st_size
    assert total < 50e6


def test_shipped_models_load_offline_and_score_a_mixed_batch(no_network):
    scorer = LinearScorer()
    texts = POSTS_IT + POSTS_EN + ["???", "bonjour tout le monde"]
    langs = ["it"] * 3 + ["en"] * 3 + ["unknown", "fr"]
    results = scorer.score(texts, langs)
    assert len(results) == len(texts)
    for r in results[:6]:
        assert set(r) == set(FIELDS)
        for name in ("sentiment", "intent", "offensive"):
            assert r[name]["label"] in r[name]["probs"]
            assert sum(r[name]["probs"].values()) == pytest.approx(1.0, abs=1e-5)
        assert r["sentiment"]["label"] in ("neg", "neu", "pos")
    assert "labels" in results[0]["emotion"]  # Italian emotion is multi-label
    assert results[3]["sentiment"]["label"] == "neg" and results[4]["sentiment"]["label"] == "pos"
    for r in results[6:]:
        assert all(r[f] == {"label": "unknown", "probs": {}} for f in FIELDS)


def test_scoring_a_batch_equals_scoring_each_post():
    scorer = LinearScorer()
    together = scorer.score(POSTS_IT, ["it"] * 3)
    alone = [scorer.score([t], ["it"])[0] for t in POSTS_IT]
    for a, b in zip(together, alone):
        assert a["sentiment"]["label"] == b["sentiment"]["label"]
        assert a["sentiment"]["probs"]["neg"] == pytest.approx(b["sentiment"]["probs"]["neg"], abs=1e-5)


def test_default_scorer_is_loaded_once_per_process():
    assert default_scorer() is default_scorer()
    assert load_scorer(None) is default_scorer() and load_scorer("default") is default_scorer()


def test_scorer_refuses_texts_and_languages_of_different_lengths():
    with pytest.raises(ValueError, match="2 texts but 1 languages"):
        LinearScorer().score(["a", "b"], ["it"])


def test_missing_models_directory_gives_unknown_fields(tmp_path):
    assert LinearScorer(tmp_path).score(["ciao"], ["it"])[0]["sentiment"]["label"] == "unknown"


def test_a_team_scorer_plugs_in_by_configuration():
    scorer = load_scorer("tests.nlp.test_scorer:KeywordScorer")
    assert isinstance(scorer, Scorer) and isinstance(default_scorer(), Scorer)
    nlp = build_pipeline("en", scorer="tests.nlp.test_scorer:KeywordScorer")
    docs = list(nlp.pipe(POSTS_EN))
    assert [d._.sentiment for d in docs] == ["neg", "pos", "pos"]
    assert [d._.offensive for d in docs] == [True, False, False]


@pytest.mark.parametrize("spec", ["no_colon_here", "tests.nlp.nowhere:Thing", "tests.nlp.test_scorer:POSTS_IT"])
def test_a_bad_scorer_spec_says_what_is_wrong(spec):
    with pytest.raises(ScorerError):
        load_scorer(spec)


def test_spacy_pipeline_sets_the_fields_and_agrees_with_the_fast_path():
    nlp = build_pipeline("it")
    assert nlp.pipe_names == ["ascolto_classifiers"]
    docs = list(nlp.pipe(POSTS_IT, batch_size=2))
    fast = default_scorer().score(POSTS_IT, ["it"] * 3)
    for doc, f in zip(docs, fast):
        assert doc._.sentiment == f["sentiment"]["label"]
        assert doc._.intent == f["intent"]["label"]
        assert doc._.offensive is (f["offensive"]["label"] == "offensive")
        assert isinstance(doc._.emotions, list)
    assert nlp(POSTS_IT[0])._.sentiment == docs[0]._.sentiment


def test_explain_shows_cues_and_the_features_that_moved_each_field():
    result = explain("Non è male, ma il supporto è lentissimo 😡", "it")
    assert result["lang"] == "it"
    assert "negation:non" in result["cues"] and "contrast:ma" in result["cues"]
    for name in FIELDS:
        assert result["evidence"][name], name
        assert all(isinstance(e["weight"], float) for e in result["evidence"][name])


def test_explain_on_a_language_without_models_reports_unknown():
    result = explain("bonjour", "fr")
    assert result["fields"]["sentiment"]["label"] == "unknown" and result["evidence"] == {}


def test_enrich_scores_a_tsv_export_and_plain_lines(tmp_path):
    tsv = tmp_path / "export.tsv"
    tsv.write_text('id\tlang\ttext\np1\tit\tNuvola Hosting è "ottimo"\np2\t\tThe worst support, LineaViva\n', encoding="utf-8")
    lines = tmp_path / "posts.txt"
    lines.write_text("Dolce Forno buonissimo\n\nsecond post here\n", encoding="utf-8")
    for src, expected in ((tsv, 2), (lines, 2)):
        out = tmp_path / (src.stem + ".jsonl")
        assert batch.main([str(src), "--out", str(out), "--batch-size", "1"]) == 0
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(records) == expected
        for r in records:
            assert set(FIELDS) <= set(r) and r["lang"] in ("it", "en", "unknown") and isinstance(r["brands"], list)
    first = json.loads((tmp_path / "export.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == "p1" and first["brands"] == ["nuvola"] and first["text"] == 'Nuvola Hosting è "ottimo"'


def test_enrich_reports_a_csv_without_text_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("body\nhello\n", encoding="utf-8")
    assert batch.main([str(bad)]) == 2
    assert "'text' column is required" in capsys.readouterr().err


def test_models_directory_is_inside_the_package():
    assert MODELS_DIR == Path(__file__).resolve().parents[2] / "pipelines" / "nlp" / "models"
