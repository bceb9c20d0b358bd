"""The text sketch of dedup-v1 (pipelines/text_sketch.py): normalisation, a fingerprint stable
across processes, and a SimHash whose Hamming distance follows how much two texts share."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest

from pipelines.text_sketch import hamming, normalize, set_sketches, sketch_texts, to_signed

M64 = (1 << 64) - 1


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("Il SITO è GIÙ", "il sito e giu"),
        ("Perché   non\trisponde?\n", "perche non risponde"),
        ("@NuvolaCare ticket aperto!!! 😡😡", "ticket aperto"),
        ("guarda qui https://nuvola.example/status?id=3 e www.foo.it/x", "guarda qui e"),
        ("#NuvolaDown di nuovo #fail", "nuvoladown di nuovo fail"),
        ("3 giorni, 2 ticket: 0 risposte", "giorni ticket risposte"),
        ("l'assistenza—inesistente…", "l assistenza inesistente"),
        ("ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ", "fullwidth text"),
        ("Straße", "strasse"),
        ("😡🔥 👍", ""),
    ],
)
def test_normalisation_keeps_only_folded_letters(text, normalized):
    assert normalize(text) == normalized


def test_texts_without_letters_or_without_text_have_no_sketch():
    assert sketch_texts([None, "", "😡😡", "https://x.example/a", "@nuvola 123 !!"]) == [None] * 5


def test_fingerprint_is_blake2b_of_the_normalised_text_as_signed_64_bits():
    (s,) = sketch_texts(["Il SITO è giù! @nuvola 😡"])
    digest = hashlib.blake2b(b"il sito e giu", digest_size=8).digest()
    unsigned = int.from_bytes(digest, "big")
    assert s.fingerprint == (unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned)
    assert s.tokens == 4


def test_fingerprint_and_simhash_are_the_same_in_another_process_with_another_hash_seed():
    texts = ["il sito di Nuvola è giù da stamattina", "breakfast with Dolce Forno biscotti, so good"]
    code = "from pipelines.text_sketch import sketch_texts; import sys; print(sketch_texts(sys.argv[1:]))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code, *texts], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}
        ).stdout
        for seed in ("1", "2")
    }
    assert outs == {repr(sketch_texts(texts)) + "\n"}


def _reference_simhash(text: str) -> int:
    """SimHash written again, in plain Python, from the module's documented definition."""
    p, golden = 1_000_003, 0x9E3779B97F4A7C15

    def code(s: str) -> int:
        v = 0
        for ch in s:
            v = (v * p + ord(ch)) & M64
        return v

    def mix(x: int, salt: int) -> int:
        x ^= (salt * golden) & M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
        return x ^ (x >> 31)

    tokens = normalize(text).split()
    features = [mix(code(t), 11) for t in tokens]
    ones = [sum(f >> i & 1 for f in features) for i in range(64)]
    return to_signed(sum(1 << i for i in range(64) if 2 * ones[i] > len(features)))


@pytest.mark.parametrize(
    "text",
    ["ciao", "il sito è giù da stamattina con Nuvola, nessuno risponde", "a b a b a b", "Dolce Forno biscotti buonissimi " * 20],
)
def test_vectorised_simhash_equals_the_plain_python_definition(text):
    (s,) = sketch_texts([text])
    assert s.simhash == _reference_simhash(text)


BASE = "il sito è giù da stamattina con nuvola e nessuno risponde al telefono né alle email"


@pytest.mark.parametrize(
    "a, b, low, high",
    [
        (BASE, BASE.upper() + " 😡 @mario https://t.co/x", 0, 0),  # the same after normalisation
        (BASE, BASE + " oggi", 1, 12),  # one word more: a few bits
        (BASE, BASE.replace("telefono", "cellulare"), 1, 14),  # one word swapped
        (BASE, "breakfast with dolce forno biscotti so good never going back to the old ones", 16, 48),  # unrelated
    ],
)
def test_simhash_hamming_distance_grows_with_the_difference(a, b, low, high):
    sa, sb = sketch_texts([a, b])
    assert low <= hamming(sa.simhash, sb.simhash) <= high
    assert (sa.fingerprint == sb.fingerprint) == (low == high == 0)


def test_sketches_are_signed_64_bit_and_independent_of_the_chunk():
    texts = [f"testo numero {w} per la prova {w}{w}" for w in ("uno", "due", "tre", "quattro")] * 50
    alone = [sketch_texts([t])[0] for t in texts]
    assert sketch_texts(texts) == alone
    values = [v for s in alone for v in (s.fingerprint, s.simhash)]
    assert all(-(1 << 63) <= v < 1 << 63 for v in values) and any(v < 0 for v in values)


def test_set_sketches_sets_three_fields_or_none():
    events = [{"text": "Il sito è giù"}, {"text": None}, {"text": "👍"}]
    set_sketches(events)
    assert events[0]["text_tokens"] == 4 and isinstance(events[0]["text_simhash"], int)
    assert [(e["text_fingerprint"], e["text_simhash"], e["text_tokens"]) for e in events[1:]] == [(None, None, None)] * 2


@pytest.mark.parametrize("a, b, d", [(0, 0, 0), (-1, 0, 64), (-1, M64, 0), (to_signed(1 << 63), 1 << 63, 0), (5, 6, 2)])
def test_hamming_treats_signed_and_unsigned_alike(a, b, d):
    assert hamming(a, b) == d
