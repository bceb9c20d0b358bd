"""Bulk feature hashing with numpy: a whole batch of strings or character n-grams at once.

The hashing trick of scikit-learn's ``HashingVectorizer`` (a feature's column is a hash of its
text, so no vocabulary is stored and artifacts stay small), computed for the whole batch in a
few vectorised passes instead of one Python call per feature. Measured on varied tweets: word
features 3 us per post instead of 15 us, character 2-5 grams 8 us instead of 160 us.

A string's code is its polynomial hash mod 2**64 (``sum(c_j * P**(len-1-j))``), obtained for
every substring from prefix sums; the column is the top ``bits`` bits of a splitmix64 mix of
the code and a salt (0 for word features, n for character n-grams), so a word never shares a
column with a character n-gram by construction, only by chance.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

_P = 1_000_003
_PINV = pow(_P, -1, 2**64)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_BIGRAM, _BIGRAM_SALT = np.uint64(0xD6E8FEB86659FD93), 1  # salt 1: no character n-gram has n = 1
_powers: dict[int, np.ndarray] = {}


def _power_table(base: int, size: int) -> np.ndarray:
    """[base**0, base**1, ...] mod 2**64, at least ``size`` long (grown and kept per base)."""
    table = _powers.get(base)
    if table is None or len(table) < size:
        n = max(size, 2 * len(table) if table is not None else 1 << 16)
        table = np.cumprod(np.full(n, base, dtype=np.uint64))
        table = np.concatenate([np.ones(1, dtype=np.uint64), table[:-1]])
        _powers[base] = table
    return table


def _codes(strings: list[str]) -> np.ndarray:
    """Code points of the strings, each followed by a 0 separator."""
    return np.frombuffer(("\0".join(strings) + "\0").encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def _prefix(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P**i, S) with S[i] = sum_{j<=i} codes[j] * P**-j, so a substring [a, b] hashes to P**b (S[b] - S[a-1])."""
    n = len(codes)
    return _power_table(_P, n)[:n], np.cumsum(codes * _power_table(_PINV, n)[:n])


def mix(codes: np.ndarray, salt: np.ndarray | int, bits: int) -> np.ndarray:
    """splitmix64 finaliser of (code xor salt * golden) -> column in [0, 2**bits)."""
    x = codes ^ (np.asarray(salt, dtype=np.uint64) * _GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(64 - bits)).astype(np.int32)


def hash_strings(strings: list[str], bits: int, salt: int = 0) -> np.ndarray:
    """Column of each string (strings must not contain NUL)."""
    return mix(string_codes(strings), salt, bits)


def bigram_column(a: str, b: str, bits: int) -> int:
    """Column of the word bigram (a, b), as ``bigrams`` computes it."""
    codes = string_codes([a, b])
    return int(mix(codes[:1] * _BIGRAM + codes[1:], _BIGRAM_SALT, bits)[0])


def bigrams(words: list[str], lengths: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each pair of consecutive words in a row; ``words`` is all rows' words, in order."""
    codes = string_codes(words)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    same = rows[1:] == rows[:-1]
    return rows[:-1][same], mix(codes[:-1][same] * _BIGRAM + codes[1:][same], _BIGRAM_SALT, bits)


def string_codes(strings: list[str]) -> np.ndarray:
    """The 64-bit polynomial code of each string, before mixing."""
    if not strings:
        return np.zeros(0, dtype=np.uint64)
    codes = _codes(strings)
    pw, s = _prefix(codes)
    ends = np.flatnonzero(codes == 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    last = ends - 1  # an empty string has last < start: its code is 0
    before = np.where(starts > 0, s[np.maximum(starts - 1, 0)], np.uint64(0))
    return np.where(last >= starts, pw[np.maximum(last, 0)] * (s[np.maximum(last, 0)] - before), np.uint64(0))


def char_ngrams(texts: list[str], bits: int, n_min: int, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every character n-gram inside the space-padded words of each text.

    Like scikit-learn's ``char_wb``: an n-gram has no space inside it; a leading or trailing space
    marks a word edge. Entries come out grouped by row, in ascending row order.
    """
    codes = _codes([" " + t + " " for t in texts])
    size = len(codes)
    pw, s = _prefix(codes)
    sep = codes == 0
    row = np.cumsum(sep) - sep  # a separator belongs to the text it closes
    space = np.cumsum(codes == 32)
    width = n_max - n_min + 1
    ok = np.zeros((size, width), dtype=bool)
    h = np.zeros((size, width), dtype=np.uint64)
    before = np.concatenate([np.zeros(1, dtype=np.uint64), s[:-1]])  # S[i-1]
    for k, n in enumerate(range(n_min, n_max + 1)):
        m = size - n + 1
        end = np.arange(n - 1, size)
        okn = (row[:m] == row[end]) & ~sep[:m] & ~sep[end]
        if n > 2:
            okn &= space[n - 2 : n - 2 + m] == space[:m]  # no space strictly inside
        ok[:m, k] = okn
        h[:m, k] = pw[end] * (s[end] - before[:m])
    idx = np.flatnonzero(ok.ravel())
    return row[idx // width], mix(h.ravel()[idx], idx % width + n_min, bits)


def assemble(n_rows: int, n_cols: int, blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> sp.csr_matrix:
    """One CSR matrix from blocks of (rows ascending, columns, values), without sorting.

    Columns inside a row stay unsorted and may repeat (a repeated column adds up in products;
    call ``sum_duplicates()`` where a canonical matrix is needed, e.g. before training).
    """
    counts = [np.bincount(r, minlength=n_rows) for r, _, _ in blocks]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(sum(counts), out=indptr[1:])
    indices = np.empty(indptr[-1], dtype=np.int32)
    data = np.empty(indptr[-1], dtype=np.float32)
    offset = indptr[:-1].copy()
    for (r, c, v), cnt in zip(blocks, counts):
        first = np.concatenate([[0], np.cumsum(cnt)[:-1]])  # index of each row's first entry in the block
        pos = offset[r] + (np.arange(len(r)) - first[r])
        indices[pos] = c
        data[pos] = v
        offset += cnt
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_cols))
