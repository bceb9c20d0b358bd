"""Labeled TSV files -> examples per (language, head); the fixed held-out split of the domain set.

Two TSV layouts are accepted (UTF-8, header row, tab-separated, no quoting: texts may contain
``"``; tabs and newlines inside a text must be replaced by spaces):

- **one-head files** (the research sets): columns ``lang``, ``label``, ``text``; the head is
  given by the caller (``--train sentiment=FILE``). ``emotion`` labels may be multi-label,
  joined with ``|`` (``joy|trust``); ``none`` means no emotion.
- **posts files** (``tests/data/domain_posts.tsv``, or a team's own export): columns ``lang``,
  ``text`` plus any of ``sentiment``, ``emotion``, ``offensive``, ``intent``; an empty cell means
  "not labeled" for that head. Other columns (``id``, ``mentions``, ...) are ignored.

Label spellings are normalised: ``negative/neutral/positive`` -> ``neg/neu/pos``; offensive
``1/0``, ``true/false`` -> ``offensive/not``.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

HEADS = ("sentiment", "emotion", "offensive", "intent")
LANGS = ("it", "en")
MULTI_LABEL_NONE = "none"
_ALIASES = {
    "sentiment": {"negative": "neg", "neutral": "neu", "positive": "pos"},
    "offensive": {"1": "offensive", "0": "not", "true": "offensive", "false": "not", "not_offensive": "not"},
}


class DataError(ValueError):
    """A training or evaluation file is missing, unreadable or has the wrong columns."""


@dataclass(frozen=True)
class Example:
    lang: str
    text: str
    label: str  # multi-label heads: labels joined with "|", or "none"
    source: str  # file stem (or "domain"), for reports


def read_rows(path: Path) -> list[dict[str, str]]:
    """All rows of a header-first, tab-separated, unquoted UTF-8 file."""
    csv.field_size_limit(sys.maxsize)
    try:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
            rows = list(reader)
            columns = reader.fieldnames or []
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from None
    if "text" not in columns or "lang" not in columns:
        raise DataError(f"{path}: a header with 'lang' and 'text' columns is required (found {columns})")
    return rows


def normalise_label(head: str, label: str) -> str:
    label = label.strip()
    return _ALIASES.get(head, {}).get(label.lower(), label)


def load_examples(path: Path, head: str, source: str | None = None) -> list[Example]:
    """Examples for ``head`` from either layout: the ``head`` column if present, else ``label``."""
    rows = read_rows(path)
    column = head if head in rows[0] else "label" if rows and "label" in rows[0] else None
    if rows and column is None:
        raise DataError(f"{path}: no '{head}' or 'label' column to train the {head} head from")
    source = source or path.stem
    return [
        Example(r["lang"].strip(), r["text"], normalise_label(head, r[column]), source)
        for r in rows
        if r.get(column, "").strip() and r["text"]
    ]


# The domain set's held-out split is frozen at the posts up to this id: later additions
# (``tests/data/DOMAIN_POSTS.md``, "Additions") are training rows only, so that the held-out
# posts, and every figure measured on them, stay the same when the set grows.
HELDOUT_LAST_ID = "d0943"
_DOMAIN_ID = re.compile(r"d\d{4,}")


def training_only(post_id: str, last_id: str | None = HELDOUT_LAST_ID) -> bool:
    """Is this a post added after the held-out split was frozen (a ``dNNNN`` id above ``last_id``)?"""
    return last_id is not None and bool(_DOMAIN_ID.fullmatch(post_id)) and int(post_id[1:]) > int(last_id[1:])


def frozen_last_id(posts_path: Path) -> str | None:
    """``HELDOUT_LAST_ID`` for the project's domain set (``tests/data/domain_posts.tsv``), ``None`` for a team's own file."""
    return HELDOUT_LAST_ID if posts_path.name == "domain_posts.tsv" and posts_path.parent.name == "data" else None


def heldout_ids(rows: list[dict[str, str]], fraction: float = 0.3, seed: int = 13, last_id: str | None = HELDOUT_LAST_ID) -> set[str]:
    """Ids of the domain posts kept for evaluation: stratified by (lang, intent), fixed by ``seed``.

    Within each stratum posts are ordered by a CRC32 of ``seed:id`` and the first ``fraction``
    is held out, so the split does not depend on row order. Posts added after ``last_id``
    (``training_only``) are never held out and do not count in the strata: the held-out posts
    stay exactly those of the set as it was at ``last_id`` (``None``: split every row).
    """
    strata: dict[tuple[str, str], list[str]] = defaultdict(list)
    for r in rows:
        if not training_only(r["id"], last_id):
            strata[(r["lang"], r.get("intent", ""))].append(r["id"])
    out: set[str] = set()
    for ids in strata.values():
        ids.sort(key=lambda i: zlib.crc32(f"{seed}:{i}".encode()))
        out.update(ids[: round(len(ids) * fraction)])
    return out


def split_posts(path: Path, fraction: float = 0.3, seed: int = 13) -> tuple[Path | None, list[dict], list[dict]]:
    """(path, training rows, held-out rows) of a posts file with an ``id`` column."""
    rows = read_rows(path)
    if rows and "id" not in rows[0]:
        return path, rows, []
    held = heldout_ids(rows, fraction, seed)
    return path, [r for r in rows if r["id"] not in held], [r for r in rows if r["id"] in held]


def examples_from_rows(rows: list[dict[str, str]], head: str, source: str) -> list[Example]:
    return [
        Example(r["lang"].strip(), r["text"], normalise_label(head, r[head]), source) for r in rows if r.get(head, "").strip() and r["text"]
    ]


def default_data_dir() -> Path:
    """Where the research sets are: ``ASCOLTO_DATA_DIR``, else ``../shared/data`` (beside the clone), else ``/work/shared/data``."""
    env = os.environ.get("ASCOLTO_DATA_DIR")
    if env:
        return Path(env)
    for candidate in (Path("../shared/data"), Path(__file__).resolve().parents[3] / "shared" / "data", Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return Path("../shared/data")


# The research sets (relative to the data directory, ``../shared/data`` beside the clone).
RESEARCH_TRAIN: dict[tuple[str, str], tuple[str, ...]] = {
    # xlmt_*_train are (near) subsets of these two (data card): adding them would only duplicate tweets.
    ("en", "sentiment"): ("sentiment/tweeteval_en_train.tsv",),
    ("it", "sentiment"): ("sentiment/sentipolc16_it_train.tsv",),
    ("en", "emotion"): ("emotion/tweeteval_en_train.tsv",),
    ("it", "emotion"): ("emotion/multiemotions_it_train.tsv",),
    ("en", "offensive"): ("offensive/tweeteval_en_train.tsv",),
    ("it", "offensive"): ("offensive/hodi_it_train.tsv", "offensive/haspeede3_it_train.tsv"),
}
RESEARCH_VAL: dict[tuple[str, str], tuple[str, ...]] = {
    ("en", "sentiment"): ("sentiment/xlmt_en_val.tsv",),
    ("it", "sentiment"): ("sentiment/xlmt_it_val.tsv",),
    ("en", "emotion"): ("emotion/tweeteval_en_val.tsv",),
    ("it", "emotion"): ("emotion/multiemotions_it_val.tsv",),
    ("en", "offensive"): ("offensive/tweeteval_en_val.tsv",),
    ("it", "offensive"): ("offensive/hodi_it_val.tsv", "offensive/haspeede3_it_val.tsv"),
}
DOMAIN_SOURCE = "domain"

# Provenance and terms, summarised from the data cards in ``../shared/data/*/README.md``.
_RESEARCH_ONLY = "Research-only: train and evaluate, do not ship or republish the texts."
DATA_TERMS = {
    "sentiment/tweeteval_en": "SemEval-2017 Task 4A English training collection (2013-2016 Twitter sets; = TweetEval sentiment "
    "train), Rosenthal et al. 2017. Released by the SemEval organisers for research; the original datasets' terms and "
    "Twitter's rules apply. " + _RESEARCH_ONLY,
    "sentiment/xlmt_en": "XLM-T / UMSAB English (cardiffnlp/xlm-t, from SemEval-2017 Task 4A), Barbieri et al. LREC 2022. "
    "Original datasets' licences and Twitter's rules apply. " + _RESEARCH_ONLY,
    "sentiment/xlmt_it": "XLM-T / UMSAB Italian (from SENTIPOLC 2016), Barbieri et al. LREC 2022. Non-commercial (SENTIPOLC). "
    + _RESEARCH_ONLY,
    "sentiment/sentipolc16_it": "SENTIPOLC 2016 training set (EVALITA 2016), Barbieri et al. 2016. Non-commercial research data "
    "(a redistribution labels it CC BY-NC-SA 4.0). " + _RESEARCH_ONLY,
    "emotion/tweeteval_en": "TweetEval emotion (SemEval-2018 Task 1, Affect in Tweets), Barbieri et al. 2020; Mohammad et al. "
    "2018. Restrictions of the original task and Twitter apply. " + _RESEARCH_ONLY,
    "emotion/multiemotions_it": "MultiEmotions-It (YouTube/Facebook comments), Sprugnoli, CLiC-it 2020. CC BY-NC-SA 4.0 "
    "(non-commercial, attribution, share-alike). " + _RESEARCH_ONLY,
    "offensive/tweeteval_en": "TweetEval offensive (OLID / OffensEval 2019), Zampieri et al. 2019. Restrictions of the "
    "original task and Twitter apply. " + _RESEARCH_ONLY,
    "offensive/hodi_it": "HODI @ EVALITA 2023 subtask A (homotransphobia), Nozza et al. 2023. CC BY-NC-SA 4.0, official "
    "access form-gated. " + _RESEARCH_ONLY,
    "offensive/haspeede3_it": "HaSpeeDe 3 @ EVALITA 2023 (PolicyCorpusXL, political hate). No license stated, official "
    "access form-gated. " + _RESEARCH_ONLY,
    DOMAIN_SOURCE: "Ascolto domain posts (tests/data/domain_posts.tsv): written for the project, fictional brands, "
    "Apache-2.0. Trained on the rows outside the fixed held-out split.",
}


def terms_of(relative_path: str) -> str:
    """The data-card summary for a research file (``sentiment/xlmt_it_train.tsv``), or a note for others."""
    key = relative_path.rsplit("_", 1)[0] if relative_path.endswith(("_train.tsv", "_val.tsv")) else relative_path
    return DATA_TERMS.get(key, "Provided by the team that trained this model; check its terms before shipping.")
