"""Text sketches for near-duplicate detection (dedup-v1): a normalised-text fingerprint and a
64-bit SimHash per event, computed in the enrichment stage and stored on ``fact_events``
(``text_fingerprint``, ``text_simhash``, ``text_tokens``). The warehouse's dedup views
(``v_event_dedup_flags``) compare them; nothing here depends on other events.

Normalisation (``normalize``): case folded, accents stripped (NFKD, combining diacritical marks removed),
URLs and @handles removed, the ``#`` of hashtags dropped (the word stays), and everything that
is not a letter (emoji, punctuation, digits, symbols) treated as a separator; the remaining
letter runs are the tokens, joined by one space.

- ``text_fingerprint``: the first 8 bytes of BLAKE2b of the normalised text (UTF-8), as a signed
  big-endian 64-bit integer: equal for texts that differ only in case, accents, handles, URLs,
  emoji, punctuation, digits or spacing; stable across processes and machines.
- ``text_simhash``: Charikar's SimHash over the normalised tokens (word unigrams, each occurrence
  hashed to 64 bits, weight 1; bit i is set when more than half of them have bit i set), as a
  signed 64-bit integer. Near-duplicates differ in a few bits; dedup-v1 calls two texts
  near-duplicates at Hamming distance <= 3. Unigrams were chosen by measurement over unigrams
  with bigrams and character 3-5-shingles (``tests/benchmarks/measure_sketch.py``; README,
  "dedup-v1"): the best recall on copy-paste variants at that distance, no false positive.
- ``text_tokens``: the number of tokens (coordinated bursts need a minimum, see the policy).

An event without text, or whose text has no letters (only emoji, a URL, a handle), has no
sketch: the three fields are None. Feature hashes are the polynomial code of
``pipelines.nlp.hashing`` through a full 64-bit splitmix64 finaliser, vectorised over a chunk.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import NamedTuple

import numpy as np

from pipelines.nlp.hashing import string_codes

SKETCH_VERSION = "dedup-v1"
SKETCH_FIELDS = ("text_fingerprint", "text_simhash", "text_tokens")

_URL = re.compile(r"(?:https?://|www\.)\S+")
_HANDLE = re.compile(r"@\w+")
_LETTERS = re.compile(r"[^\W\d_]+")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")  # combining marks
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_UNIGRAM_SALT = 11


class TextSketch(NamedTuple):
    fingerprint: int  # signed 64-bit
    simhash: int  # signed 64-bit
    tokens: int


def normalize_tokens(text: str) -> list[str]:
    """'Ciao @Nuvola, il SITO è giù!! 😡 https://x.y #fail' -> ['ciao', 'il', 'sito', 'e', 'giu', 'fail']."""
    text = _HANDLE.sub(" ", _URL.sub(" ", text.casefold()))
    if not text.isascii():
        text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    return _LETTERS.findall(text)


def normalize(text: str) -> str:
    return " ".join(normalize_tokens(text))


def fingerprint(normalized: str) -> int:
    """Signed 64-bit BLAKE2b fingerprint of a normalised text."""
    return int.from_bytes(hashlib.blake2b(normalized.encode(), digest_size=8).digest(), "big", signed=True)


def to_signed(value: int) -> int:
    """An unsigned 64-bit value as the signed BIGINT the warehouses store."""
    return value - (1 << 64) if value >= 1 << 63 else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit values (signed or not)."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def _splitmix(x: np.ndarray, salt: int) -> np.ndarray:
    x = x ^ (np.uint64(salt) * _GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def _features(token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(row, 64-bit hash) of every token of each token list, grouped by row."""
    words = [t for ts in token_lists for t in ts]
    lengths = np.array([len(ts) for ts in token_lists], dtype=np.int64)
    rows = np.repeat(np.arange(len(token_lists)), lengths)
    with np.errstate(over="ignore"):
        return rows, _splitmix(string_codes(words), _UNIGRAM_SALT)


def simhash_rows(token_lists: list[list[str]]) -> list[int]:
    """Unsigned 64-bit SimHash of each token list (none may be empty)."""
    if not token_lists:
        return []
    rows, hashes = _features(token_lists)
    bits = np.unpackbits(hashes.astype("<u8").view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")  # (features, 64)
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    ones = np.add.reduceat(bits, starts, axis=0, dtype=np.int32)  # per row: features with bit i set
    totals = np.diff(np.r_[starts, len(rows)])
    set_bits = np.packbits(2 * ones > totals[:, None], axis=1, bitorder="little")  # (rows, 8) bytes, little-endian
    return [int(v) for v in set_bits.view("<u8").ravel()]


def sketch_texts(texts: list[str | None]) -> list[TextSketch | None]:
    """The sketch of each text, or None for a missing text or one without letters."""
    token_lists = [normalize_tokens(t) if t else [] for t in texts]
    present = [i for i, ts in enumerate(token_lists) if ts]
    hashes = simhash_rows([token_lists[i] for i in present])
    out: list[TextSketch | None] = [None] * len(texts)
    for i, h in zip(present, hashes):
        ts = token_lists[i]
        out[i] = TextSketch(fingerprint(" ".join(ts)), to_signed(h), len(ts))
    return out


def set_sketches(events: list[dict]) -> None:
    """Sets ``text_fingerprint``, ``text_simhash`` and ``text_tokens`` on each event (None without a sketch)."""
    for e, s in zip(events, sketch_texts([e["text"] for e in events])):
        if s is None:
            e["text_fingerprint"] = e["text_simhash"] = e["text_tokens"] = None
        else:
            e["text_fingerprint"], e["text_simhash"], e["text_tokens"] = s
