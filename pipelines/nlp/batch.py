"""``ascolto enrich FILE``: score a file of posts and write JSON lines with every enrichment field.

Input: a ``.tsv`` or ``.csv`` file with a header that has a ``text`` column (optional ``lang``
and ``id`` columns; TSV is read unquoted, CSV with standard quoting), or any other file read
as plain text, one post per line. Output, one JSON object per post, in input order::

    {"id": ..., "text": ..., "lang": "it", "brands": ["nuvola"],
     "sentiment": {"label": ..., "probs": {...}}, "emotion": {...}, "offensive": {...}, "intent": {...}}

Language: the ``lang`` column when present and not empty, otherwise detected. Brands: the
catalog matcher. Scoring runs in batches of ``--batch-size`` posts, the way an analyst scores
an export and the way anyone checks our figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from pipelines.catalog import BrandMatcher, CatalogError, load_catalog
from pipelines.language import detect_language
from pipelines.nlp.datasets import DataError
from pipelines.nlp.scorer import Scorer, ScorerError, load_scorer


def read_posts(path: Path) -> Iterator[dict]:
    """Dicts with ``text`` (and ``lang``, ``id`` when the file has them)."""
    try:
        f = open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        suffix = path.suffix.lower()
        if suffix in (".tsv", ".csv"):
            csv.field_size_limit(sys.maxsize)
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE) if suffix == ".tsv" else csv.DictReader(f)
            if "text" not in (reader.fieldnames or []):
                raise DataError(f"{path}: a header with a 'text' column is required (found {reader.fieldnames})")
            for row in reader:
                yield {k: row[k] for k in ("id", "text", "lang") if row.get(k)}
        else:
            for line in f:
                line = line.rstrip("\r\n")
                if line.strip():
                    yield {"text": line}


def enrich_batch(posts: list[dict], scorer: Scorer, matcher: BrandMatcher) -> list[dict]:
    langs = [p.get("lang") or detect_language(p["text"]) for p in posts]
    fields = scorer.score([p["text"] for p in posts], langs)
    out = []
    for post, lang, f in zip(posts, langs, fields):
        record = {"id": post["id"]} if "id" in post else {}
        record.update(text=post["text"], lang=lang, brands=matcher.match(post["text"]))
        for name, value in f.items():
            record[name] = {**value, "probs": {k: round(v, 4) for k, v in value["probs"].items()}}
        out.append(record)
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="posts: .tsv/.csv with a 'text' column (optional 'lang', 'id'), or plain lines")
    p.add_argument("--out", type=Path, help="JSON-lines output (default: standard output)")
    p.add_argument("--catalog", type=Path, help="brand catalog YAML (default: the packaged catalog)")
    p.add_argument("--scorer", help="'package.module:Factory' of another Scorer (default: the shipped models)")
    p.add_argument("--batch-size", type=int, default=2000, help="posts scored together (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    try:
        matcher = BrandMatcher(load_catalog(args.catalog))
        scorer = load_scorer(args.scorer)
    except (CatalogError, ScorerError) as exc:
        raise DataError(str(exc)) from None
    sink = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    try:
        batch: list[dict] = []
        for post in read_posts(args.file):
            batch.append(post)
            if len(batch) >= args.batch_size:
                _write(sink, enrich_batch(batch, scorer, matcher))
                batch = []
        if batch:
            _write(sink, enrich_batch(batch, scorer, matcher))
    finally:
        if args.out:
            sink.close()
    return 0


def _write(sink, records: list[dict]) -> None:
    sink.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ascolto enrich", description=__doc__.split("\n")[0])
    add_arguments(p)
    try:
        return run(p.parse_args(argv))
    except DataError as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
