"""Which SimHash features separate copy-paste variants from unrelated posts (dedup-v1's choice).

Base texts are the generator's customer posts (``pipelines.generator``); a variant is a base
with the edits a copy-paste campaign makes: another @handle, an emoji, a word swapped, a word
added, or two of them. Unrelated pairs are two generator posts whose normalised texts differ.
For each feature set: recall = share of variant pairs with the same fingerprint or SimHash
Hamming distance <= 3; false positives = share of unrelated pairs within distance 3.

    .venv/bin/python -m tests.benchmarks.measure_sketch [--pairs 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import random

from pipelines.generator.stream import GeneratorConfig, generate_stream
from pipelines.text_sketch import hamming, normalize, normalize_tokens, sketch_texts

SWAPS = ["davvero", "really", "oggi", "today", "ancora", "again", "sempre", "always", "tutti", "everyone", "proprio", "just"]
EMOJI = ["😡", "👍", "🔥", "🙏", "😍", "‼️"]


def edit(rng: random.Random, text: str, kind: str) -> str:
    words = text.split()
    if kind == "handle":
        return f"@{rng.choice(['anna', 'marco', 'luca', 'sara'])}{rng.randint(1, 999)} {text}"
    if kind == "emoji":
        return f"{text} {rng.choice(EMOJI)}"
    if kind == "swap":
        i = rng.randrange(len(words))
        words[i] = rng.choice(SWAPS)
        return " ".join(words)
    if kind == "add":
        words.insert(rng.randrange(len(words) + 1), rng.choice(SWAPS))
        return " ".join(words)
    a, b = kind.split("+")
    return edit(rng, edit(rng, text, a), b)


def _h64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "big")


def simhash(features: list[str]) -> int:
    counts = [0] * 64
    for f in features:
        h = _h64(f)
        for i in range(64):
            counts[i] += 1 if h >> i & 1 else -1
    return sum(1 << i for i in range(64) if counts[i] > 0)


FEATURES = {
    "words 1-2": lambda ts: ts + [f"{a} {b}" for a, b in zip(ts, ts[1:])],
    "words 1": lambda ts: list(ts),
    "chars 3": lambda ts: _shingles(" ".join(ts), 3),
    "chars 4": lambda ts: _shingles(" ".join(ts), 4),
    "chars 5": lambda ts: _shingles(" ".join(ts), 5),
}


def _shingles(s: str, n: int) -> list[str]:
    return [s[i : i + n] for i in range(max(1, len(s) - n + 1))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20_000)
    ap.add_argument("--distances", type=int, nargs="+", default=[3, 6, 9, 12])
    args = ap.parse_args(argv)
    rng = random.Random(11)
    posts = [
        r.event["text"]
        for r in generate_stream(GeneratorConfig(seed=3, events=6000))
        if r.kind == "event"
        and r.event["text"]
        and not r.event["author"]["is_brand_account"]
        and len(normalize_tokens(r.event["text"])) >= 4
    ]
    kinds = ["handle", "emoji", "swap", "add", "swap+emoji", "swap+handle", "swap+add"]
    variants = [(b, edit(rng, b, k), k) for k in kinds for b in rng.sample(posts, min(len(posts), args.pairs // len(kinds)))]
    unrelated = []
    while len(unrelated) < args.pairs:
        a, b = rng.sample(posts, 2)
        if normalize(a) != normalize(b):
            unrelated.append((a, b))
    print(f"{len(posts)} posts, {len(variants)} variant pairs, {len(unrelated)} unrelated pairs")
    print(f"{'features':<10} {'max dist':>8} " + " ".join(f"{k:>11}" for k in kinds) + f" {'all':>7} {'false pos':>10}")
    for name, feats in FEATURES.items():

        def sh(t: str, feats=feats) -> int:
            return simhash(feats(normalize_tokens(t)))

        pairs = [(normalize(a) == normalize(b), hamming(sh(a), sh(b)), k) for a, b, k in variants]
        far = [hamming(sh(a), sh(b)) for a, b in unrelated]
        for limit in args.distances:
            hit = {k: [0, 0] for k in kinds}
            for same, dist, k in pairs:
                hit[k][0] += same or dist <= limit
                hit[k][1] += 1
            fp = sum(d <= limit for d in far) / len(far)
            total = sum(h for h, _ in hit.values()) / sum(n for _, n in hit.values())
            print(f"{name:<10} {limit:>8} " + " ".join(f"{h / n:>11.3f}" for h, n in hit.values()) + f" {total:>7.3f} {fp:>10.5f}")
    a, b = sketch_texts([variants[0][0], variants[0][1]])
    assert a is not None and b is not None  # the shipped implementation runs on the same texts


if __name__ == "__main__":
    main()
