"""Aspect-labelled posts for training and evaluation: the research sets and the domain posts.

One ``AspectExample`` per text with its gold categories and polarities. The research files
have one row per (text, aspect, polarity) (``../shared/data/aspects/README.md``); rows of the
same text are grouped. Each research set goes with the vocabulary of its domain: ABSITA
(Italian hotel reviews) with ``pipelines/data/aspects/hotel.yaml``, SemEval-2014 restaurants
(English) with ``restaurant.yaml``; the domain posts go with the project catalog. Gold
polarities ``mixed`` (ABSITA) and ``conflict`` (SemEval) are kept for detection and left out of
polarity training and scoring: the tagger's polarities are negative, neutral and positive
(most SemEval-2014 results drop "conflict" the same way).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.nlp import datasets as ds

POLARITIES = ("negative", "neutral", "positive")
# catalog name -> (language, training file, validation file) under the research data directory
RESEARCH = {
    "hotel": ("it", "aspects/absita_it_train.tsv", "aspects/absita_it_val.tsv"),
    "restaurant": ("en", "aspects/semeval14rest_en_train.tsv", "aspects/semeval14rest_en_val.tsv"),
}
DOMAIN_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "domain_posts.tsv"
TERMS = {
    "aspects/absita_it": "ABSITA @ EVALITA 2018 (booking.com hotel-review sentences), Basile et al. 2018; no license stated. "
    "Research-only: train and evaluate, do not ship or republish the texts.",
    "aspects/semeval14rest_en": "SemEval-2014 Task 4 restaurants, aspect categories (Pontiki et al. 2014), released for research "
    "through META-SHARE. Research-only, non-commercial: train and evaluate, do not ship or republish the texts.",
    "domain": ds.DATA_TERMS[ds.DOMAIN_SOURCE],
}


@dataclass(frozen=True)
class AspectExample:
    text: str
    lang: str
    gold: dict[str, str]  # category -> polarity (negative/neutral/positive/mixed/conflict)
    source: str


def load_research(catalog: str, split: str, data_dir: Path | None = None) -> list[AspectExample]:
    """ABSITA or SemEval rows grouped by text; ``split`` is 'train' or 'val'."""
    lang, train, val = RESEARCH[catalog]
    path = (data_dir or ds.default_data_dir()) / (train if split == "train" else val)
    if not path.is_file():
        raise ds.DataError(f"research aspect data not found: {path} (set ASCOLTO_DATA_DIR to the shared data directory)")
    grouped: dict[str, dict[str, str]] = {}
    for r in ds.read_rows(path):
        gold = grouped.setdefault(r["text"], {})
        if r["aspect"] != "none":
            gold[r["aspect"]] = r["polarity"]
    return [AspectExample(t, lang, g, path.stem) for t, g in grouped.items()]


def load_domain(split: str, path: Path | None = None) -> list[AspectExample]:
    """Domain posts: 'train' (outside the fixed held-out split), 'heldout', or 'all'."""
    rows = ds.read_rows(path or DOMAIN_FILE)
    held = ds.heldout_ids(rows)
    keep = {"train": lambda r: r["id"] not in held, "heldout": lambda r: r["id"] in held, "all": lambda r: True}[split]
    out = []
    for r in rows:
        if keep(r):
            gold = dict(a.split(":", 1) for a in r["aspects"].split(";") if a)
            out.append(AspectExample(r["text"], r["lang"], gold, "domain"))
    return out


def load_catalog_data(catalog: str, split: str, data_dir: Path | None = None) -> list[AspectExample]:
    """The examples that go with a catalog: 'project' -> domain posts ('val' = the held-out split)."""
    if catalog == "project":
        return load_domain("heldout" if split == "val" else split)
    return load_research(catalog, split, data_dir)
