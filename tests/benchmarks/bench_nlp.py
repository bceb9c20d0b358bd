"""Posts/s of the enrichment classifiers on one core, on varied real texts, as a table.

    python tests/benchmarks/bench_nlp.py [--data-dir ../shared/data] [--batch 2000] [--repeats 5]

Texts: every research validation text of each language plus the domain posts (politics,
customer care, emotions, hate speech: varied handles, hashtags, lengths and words), scored in
batches of ``--batch``. Rows: featurisation alone; featurisation + all heads (``scorer.score``,
the Beam fast path); the same through spaCy (``nlp.pipe`` on ``spacy.blank(lang)`` + the
classifier component). The process is pinned to one core and numeric libraries to one thread.
Best of ``--repeats`` runs.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported: one core means one thread

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from pipelines.catalog import load_catalog  # noqa: E402
from pipelines.nlp.datasets import read_rows  # noqa: E402
from pipelines.nlp.evaluate import validation_texts  # noqa: E402
from pipelines.nlp.scorer import LinearScorer  # noqa: E402
from pipelines.nlp.spacy_components import build_pipeline  # noqa: E402
from pipelines.transforms.enrich import BrandAttributor, default_tagger, enrich, scorer_version  # noqa: E402


def as_events(texts: list[str]) -> list[dict]:
    """Minimal accepted events around the texts (what ``enrich`` reads), language left to detect."""
    return [
        {
            "event_id": f"b{i}",
            "event_type": "post",
            "text": t,
            "lang_hint": None,
            "channel_owner": None,
            "author": {"id": f"a{i}", "handle": f"@u{i}", "follower_count": 10, "is_brand_account": False},
            "kafka_topic": "bench",
            "kafka_partition": 0,
            "kafka_offset": i,
            "kafka_value": b"",
        }
        for i, t in enumerate(texts)
    ]


def best_rate(n: int, repeats: int, fn) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return n / best


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, default=ROOT / ".." / "shared" / "data")
    p.add_argument("--posts", type=Path, default=ROOT / "tests" / "data" / "domain_posts.tsv")
    p.add_argument("--batch", type=int, default=2000, help="posts per call (default %(default)s)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    if not args.data_dir.is_dir():
        print(f"bench_nlp: research data not found at {args.data_dir} (pass --data-dir)", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    texts = validation_texts(args.data_dir)
    for row in read_rows(args.posts):
        texts.setdefault(row["lang"], []).append(row["text"])
    scorer = LinearScorer()
    table = Table(title=f"Classifier throughput, one core, batches of {args.batch} (posts/s; us per post)")
    attributor = BrandAttributor(load_catalog())
    version = scorer_version(scorer)
    tagger = default_tagger()
    for col in ("lang", "posts", "mean chars", "featurisation", "featurisation + 4 heads", "spaCy nlp.pipe + 4 heads", "whole enrichment"):
        table.add_column(col, justify="right")
    for lang in ("it", "en"):
        posts = texts[lang]
        chunks = batches(posts, args.batch)
        featuriser = scorer.featuriser(lang)
        nlp = build_pipeline(lang)
        scorer.score(posts[:200], [lang] * 200)  # load, warm caches
        rates = [
            best_rate(len(posts), args.repeats, lambda: [featuriser.transform(c, lang) for c in chunks]),  # noqa: B023
            best_rate(len(posts), args.repeats, lambda: [scorer.score(c, [lang] * len(c)) for c in chunks]),  # noqa: B023
            best_rate(len(posts), args.repeats, lambda: list(nlp.pipe(posts, batch_size=args.batch))),  # noqa: B023
            best_rate(
                len(posts),
                args.repeats,
                lambda: [enrich(as_events(c), attributor, scorer, version, tagger) for c in chunks],  # noqa: B023
            ),
        ]
        mean_chars = sum(map(len, posts)) / len(posts)
        table.add_row(lang, f"{len(posts):,}", f"{mean_chars:.0f}", *(f"{r:,.0f} ({1e6 / r:.0f} us)" for r in rates))
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
