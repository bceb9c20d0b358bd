"""The shared featurisation: normalisation, negation scope, contrast, cues, bulk hashing."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pipelines.nlp.features import CUES, FeatureConfig, Featuriser, analyse, caps_ratios, elongation_candidates, normalise
from pipelines.nlp.hashing import assemble, bigram_column, bigrams, char_ngrams, hash_strings
from pipelines.nlp.lexicon import polarity


@pytest.mark.parametrize(
    ("raw", "normalised", "flags"),  # flags: (urls, handles, hashtags, elongated)
    [
        ("Bellissimooo!!!", "bellissimoo!!!", (0, 0, 0, 1)),
        ("sooooo good", "soo good", (0, 0, 0, 1)),
        ("I don\\u2019t care", "i don't care", (0, 0, 0, 0)),
        ("grazie \\ud83d\\ude00", "grazie 😀", (0, 0, 0, 0)),
        ("AT&amp;T is &gt; them", "at&t is > them", (0, 0, 0, 0)),
        ("see https://x.it/a?b=1 now", "see _url_ now", (1, 0, 0, 0)),
        ("[URL] e www.example.com", "_url_ e _url_", (2, 0, 0, 0)),
        ("@NuvolaCare @user help", "_user_ _user_ help", (0, 2, 0, 0)),
        ("#NuvolaHostingDown again", "nuvola hosting down again", (0, 0, 1, 0)),
        ("ticket alle 23:40, 9,99€ 2 volte", "ticket alle 0, 0€ 0 volte", (0, 0, 0, 0)),
        ("ottimo :) ma :( e xD", "ottimo _epos_ ma _eneg_ e _epos_", (0, 0, 0, 0)),
        ("boxD is not an emoticon", "boxd is not an emoticon", (0, 0, 0, 0)),
        ("  spazi\u00a0\u00a0multipli\t qui ", "spazi multipli qui", (0, 0, 0, 0)),
        ("", "", (0, 0, 0, 0)),
    ],
)
def test_normalise_table(raw, normalised, flags):
    norm, _, got_flags = normalise(raw)
    assert norm == normalised
    assert got_flags == flags


def test_normalise_keeps_case_for_the_caps_cue():
    _, cased, _ = normalise("BASTA @LineaViva!!")
    assert cased.startswith("BASTA") and "_user_" in cased


@pytest.mark.parametrize(
    ("text", "lang", "expected_feats", "absent"),
    [
        ("non è male", "it", ["non", "NEG_è", "NEG_male"], ["male"]),
        ("nn funziona niente", "it", ["nn", "NEG_funziona", "niente"], ["funziona"]),  # "niente" is a negator too
        ("non va, ottimo", "it", ["NEG_va", "ottimo"], ["NEG_ottimo"]),  # punctuation ends the scope
        ("i don't like it", "en", ["don't", "NEG_like", "NEG_it"], ["like"]),
        ("never again", "en", ["never", "NEG_again"], ["again"]),
        ("not bad at all really", "en", ["NEG_bad", "NEG_at", "NEG_all", "really"], ["NEG_really"]),  # window of 3
    ],
)
def test_negation_scope_marks_the_next_tokens(text, lang, expected_feats, absent):
    feats, _, _, _ = analyse(normalise(text)[0], lang)
    for f in expected_feats:
        assert f in feats
    for f in absent:
        assert f not in feats


@pytest.mark.parametrize(
    ("text", "lang", "cue", "value"),
    [
        ("non è male", "it", "lex_pos", 1.0),  # a negated negative word counts as positive
        ("non è buono", "it", "lex_neg", 1.0),
        ("non è male", "it", "lex_negated", 1.0),
        ("veloce ma caro", "it", "lex_neg_after_contrast", 1.0),
        ("veloce ma caro", "it", "lex_pos_after_contrast", 0.0),
        ("great but slow", "en", "lex_neg_after_contrast", 1.0),
        ("molto lento", "it", "lex_neg", 1.5),  # an intensifier boosts the next lexicon word
        ("pessimo 😡 :(", "it", "emoji_neg", 2.0),
        ("come faccio a disdire?", "it", "question_words", 1.0),
        ("come faccio a disdire?", "it", "churn_cues", 1.0),
        ("thinking of buying", "en", "purchase_cues", 2.0),
        ("zero problemi", "it", "lex_pos", 1.0),  # "zero" negates like "non"
        ("velocissimo e gentilissima", "it", "lex_pos", 2.0),  # superlatives reach their stem
        ("il login non va, è bloccato. Bravissimi 👏", "it", "sarcasm", 2.0),  # praise after a complaint
        ("lento ma gentile", "it", "sarcasm", 0.0),  # a contrast word makes it a real concession
        ("Evviva, anche oggi down", "it", "sarcasm", 1.0),  # an irony marker
        ("great, down again 🙃", "en", "sarcasm", 1.0),
        ("sei un ricchione", "it", "slurs", 1.0),
        ("you clowns", "en", "slurs", 0.0),  # an insult, not a slur
    ],
)
def test_cue_counts(text, lang, cue, value):
    _, _, counts, _ = analyse(normalise(text)[0], lang)
    assert counts[CUES.index(cue)] == value


def test_contrast_clause_counts_twice_until_the_sentence_ends():
    feats, words, _, hits = analyse(normalise("veloce ma caro. consiglio")[0], "it")
    assert feats.count("caro") == 2
    assert feats.count("veloce") == 1
    assert feats.count("consiglio") == 1
    assert "contrast:ma" in hits
    assert words == ["veloce", "ma", "caro", "consiglio"]


@pytest.mark.parametrize(
    ("token", "lang", "expected"),
    [
        ("ottimi", "it", 1),
        ("pessima", "it", -1),
        ("bellissimoo", "it", 1),
        ("tavolo", "it", 0),
        ("problems", "en", -1),
        ("loveee", "en", 0),
        ("lentissimi", "it", -1),
        ("perfettamente", "it", 1),
        ("mente", "it", 0),
    ],
)
def test_polarity_lexicon_with_stems_and_elongations(token, lang, expected):
    assert polarity(token, lang) == expected


def test_batch_prechecks_match_per_text_results():
    texts = ["ciaooo", "ciao", "", "NON VA BENE PER NIENTE", "ok"]
    assert elongation_candidates(texts).tolist() == [True, False, False, False, False]
    ratios = caps_ratios(texts)
    assert ratios[3] == pytest.approx(1.0) and ratios[1] == 0.0 and ratios[4] == 0.0  # "ok": too few letters


def test_char_ngrams_agree_with_hashing_each_gram_alone():
    rows, cols = char_ngrams(["ab cd", "x"], 18, 2, 5)
    expected_row0 = sorted(
        hash_strings([" a", "ab", "b ", " c", "cd", "d "], 18, salt=2).tolist()
        + hash_strings([" ab", "ab ", " cd", "cd "], 18, salt=3).tolist()
        + hash_strings([" ab ", " cd "], 18, salt=4).tolist()
    )
    assert sorted(cols[rows == 0].tolist()) == expected_row0
    assert sorted(cols[rows == 1].tolist()) == sorted(
        hash_strings([" x", "x "], 18, salt=2).tolist() + hash_strings([" x "], 18, salt=3).tolist()
    )


def test_bigrams_stay_inside_each_text():
    rows, cols = bigrams(["a", "b", "c", "d"], np.array([3, 1]), 18)
    assert rows.tolist() == [0, 0]
    assert cols.tolist() == [bigram_column("a", "b", 18), bigram_column("b", "c", 18)]


def test_hash_strings_is_deterministic_and_spreads():
    words = [f"w{i}" for i in range(5000)]
    cols = hash_strings(words, 18)
    assert cols.tolist() == hash_strings(words, 18).tolist()
    assert len(set(cols.tolist())) > 4900
    assert cols.min() >= 0 and cols.max() < 2**18


def test_assemble_equals_a_coo_matrix():
    blocks = [
        (np.array([0, 0, 2]), np.array([1, 1, 3]), np.array([1.0, 2.0, 3.0])),
        (np.array([1, 2]), np.array([0, 3]), np.array([4.0, 5.0])),
    ]
    got = assemble(3, 4, blocks)
    r = np.concatenate([b[0] for b in blocks])
    c = np.concatenate([b[1] for b in blocks])
    v = np.concatenate([b[2] for b in blocks])
    assert np.allclose(got.toarray(), sp.coo_matrix((v, (r, c)), shape=(3, 4)).toarray())


def test_featuriser_shape_cues_and_determinism():
    f = Featuriser(FeatureConfig(hash_bits=16))
    texts = ["Non è male 😀", "", "PESSIMO SERVIZIO!!! @LineaViva"]
    x = f.transform(texts, "it")
    assert x.shape == (3, 2**16 + len(CUES))
    assert x.dtype == np.float32
    assert abs(x - f.transform(texts, "it")).max() == 0
    cues = x[:, 2**16 :].toarray()
    assert cues[1].sum() == 0  # an empty post has no cue
    assert cues[2, CUES.index("handles")] > 0 and cues[2, CUES.index("caps_ratio")] > 0.5


def test_featuriser_chunks_large_batches_identically():
    texts = [f"post numero {i} ottimo" for i in range(50)]
    whole = Featuriser(FeatureConfig(hash_bits=16)).transform(texts, "it")
    chunked = Featuriser(FeatureConfig(hash_bits=16), chunk_size=7).transform(texts, "it")
    assert abs(whole - chunked).max() == 0


def test_featuriser_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="no featurisation for language 'fr'"):
        Featuriser().transform(["bonjour"], "fr")
