"""The stored snapshot of what the enrichment's rule-based steps say about a fixed set of posts.

    python -m tests.nlp.enrich_snapshot --write   # after an intended change to the catalog, the
                                                  # aspect models or the matching rules

Posts: the domain posts plus ``tricky_posts`` in each language, around events whose page owner,
author and language hint vary. Recorded per post: ``lang`` and ``brands`` (``enrich``), the
mention spans (``MentionMatcher``) and every aspect hit (category, polarity, span, term,
confidence) from ``AspectTagger.tag``, through the enrichment's path (the fold and words it
already made) and the plain one. The classifier heads are left out (a constant scorer stands
in): they are retrained often and have their own tests. ``inputs`` fingerprints the files the
recorded values depend on, so a test can tell a changed input from a changed behaviour.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
from importlib import resources
from pathlib import Path

from pipelines.catalog import load_catalog
from pipelines.nlp.aspects import AspectTagger, models_dir
from pipelines.nlp.datasets import read_rows, training_only
from pipelines.nlp.scorer import FIELDS
from pipelines.transforms.enrich import BrandAttributor, enrich
from tests.nlp.tricky_posts import tricky_posts

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "data" / "enrich_snapshot.json.gz"
TRICKY_PER_LANG = 1500


class ConstantScorer:
    """Stands in for the classifier heads: the snapshot is about the rule-based fields."""

    version = "constant/1"

    def score(self, texts: list[str], langs: list[str]) -> list[dict]:
        return [{f: {"label": "neu", "probs": {"neu": 1.0}} for f in FIELDS} for _ in texts]


def inputs_fingerprint() -> dict[str, str]:
    """sha256 of the catalog and of the aspect model files."""
    paths = [Path(str(resources.files("pipelines").joinpath("data", "catalog.yaml")))]
    paths += sorted(p for p in models_dir().glob("*.json") if p.name != "model_card.json")
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def snapshot_posts() -> list[tuple[str, str]]:
    """(text, language the post was written in)."""
    # The domain posts the snapshot was written from: those up to the frozen held-out split
    # (later additions, training rows only, are not in it).
    rows = read_rows(ROOT / "tests" / "data" / "domain_posts.tsv")
    posts = [(r["text"], r["lang"]) for r in rows if not training_only(r["id"])]
    for lang in ("it", "en"):
        posts += [(t, lang) for t in tricky_posts(lang, TRICKY_PER_LANG)]
    return posts


def _events(posts: list[tuple[str, str]]) -> list[dict]:
    events = []
    for i, (text, lang) in enumerate(posts):
        brand_author = i % 13 == 0
        events.append(
            {
                "event_id": f"s{i}",
                "event_type": "post",
                "text": text,
                "lang_hint": lang if i % 7 == 0 else None,
                "channel_owner": "@NuvolaCare" if i % 11 == 0 else None,
                "author": {
                    "id": f"a{i}",
                    "handle": "@DolceFornoIT" if brand_author else f"@u{i}",
                    "follower_count": 1,
                    "is_brand_account": brand_author,
                },
                "kafka_topic": "snapshot",
                "kafka_partition": 0,
                "kafka_offset": i,
                "kafka_value": b"",
            }
        )
    return events


def _hits(hits) -> list[list]:
    return [[h.category, h.polarity, h.start, h.end, h.term, h.confidence] for h in hits]


def compute() -> dict:
    """What the current code says about ``snapshot_posts()``."""
    posts = snapshot_posts()
    tagger = AspectTagger.load()
    ok, dead = enrich(_events(posts), BrandAttributor(load_catalog()), ConstantScorer(), tagger=tagger)
    assert not dead and len(ok) == len(posts)
    texts, langs = [t for t, _ in posts], [e["lang"] for e in ok]
    detected = [lang if lang in ("it", "en") else written for lang, (_, written) in zip(langs, posts)]
    plain = tagger.tag(texts, detected)
    return {
        "inputs": inputs_fingerprint(),
        "posts": [
            {
                "lang": e["lang"],
                "brands": e["brands"],
                "aspects": e["aspects"],
                "mentions": [[m.start, m.end, m.kind, m.id] for m in tagger.mentions.spans(text)],
                "hits": _hits(h),
            }
            for e, text, h in zip(ok, texts, plain)
        ],
    }


def load() -> dict:
    with gzip.open(SNAPSHOT, "rt", encoding="utf-8") as f:
        return json.load(f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--write", action="store_true", help=f"write {SNAPSHOT.relative_to(ROOT)}")
    args = p.parse_args()
    snap = compute()
    if args.write:
        with gzip.open(SNAPSHOT, "wt", encoding="utf-8", compresslevel=9) as f:
            json.dump(snap, f, ensure_ascii=False, separators=(",", ":"))
    with_hits = sum(1 for p in snap["posts"] if p["hits"])
    print(f"{len(snap['posts'])} posts, {with_hits} with aspect hits" + (f"; written to {SNAPSHOT}" if args.write else ""))


if __name__ == "__main__":
    main()
