"""EnrichEvents: the first enrichment: language and the catalog brands an event concerns.

Input: lists of event dicts. Output: the same lists, each event with
- ``lang``: 'it', 'en' or 'unknown' (no text, or no clear signal);
- ``brands``: catalog brand ids, in catalog order: brands named in the text (aliases,
  products, handles, hashtags) plus the owner of the page it happened on (``channel_owner``)
  plus the brand whose account wrote it. Empty when nothing attributes it.
An event it cannot attribute is counted as ``unattributed`` downstream. An event it cannot
process (``EnrichmentError``, e.g. a text beyond ``MAX_TEXT_CHARS``) goes to the
``dead_letters`` output with step ``enrich`` and its original bytes; it is not lost and does
not stop the batch.
"""

from __future__ import annotations

from typing import NamedTuple

import apache_beam as beam

from pipelines.catalog import BrandMatcher, Catalog
from pipelines.language import detect_language_tokens
from pipelines.model import DeadLetter, DeadLetterReason
from pipelines.text import fold, tokenize

DEAD_LETTERS = "dead_letters"
STEP = "enrich"
MAX_TEXT_CHARS = 20_000  # longer than any platform allows: a collector bug, and a regex cost risk


class EnrichmentError(ValueError):
    """An event the enrichment cannot process."""


class EnrichResult(NamedTuple):
    events: beam.PCollection
    dead_letters: beam.PCollection


class BrandAttributor:
    def __init__(self, catalog: Catalog):
        self._matcher = BrandMatcher(catalog)
        self._owner = catalog.owner_of_handle()
        self._order = {b: i for i, b in enumerate(catalog.brand_ids)}

    def brands(self, event: dict, folded: str | None = None, tokens: list[str] | None = None) -> list[str]:
        if tokens is None:
            found = self._matcher.match(event["text"])
        else:
            found = self._matcher.match_tokens(folded or "", tokens)
        extra = []
        owner = event["channel_owner"]
        if owner:
            b = self._owner.get(fold(owner.lstrip("@")))
            if b:
                extra.append(b)
        author = event["author"]
        if author["is_brand_account"]:
            b = self._owner.get(fold(author["handle"].lstrip("@")))
            if b:
                extra.append(b)
        if not extra:
            return found
        return sorted(set(found).union(extra), key=self._order.__getitem__)


def enrich_event(e: dict, attributor: BrandAttributor) -> dict:
    text = e["text"]
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise EnrichmentError(f"text of {len(text):,} characters is over the {MAX_TEXT_CHARS:,}-character limit")
    folded = fold(text) if text else ""
    tokens = tokenize(folded) if text else []
    lang = detect_language_tokens(tokens) if tokens else "unknown"
    if lang == "unknown" and e.get("lang_hint") in ("it", "en"):
        lang = e["lang_hint"]  # v2 producers may report the language; used when the text says nothing
    e["lang"] = lang
    e["brands"] = attributor.brands(e, folded, tokens)
    return e


def enrich(events: list[dict], attributor: BrandAttributor) -> tuple[list[dict], list[DeadLetter]]:
    """Enriches events in place; returns (enriched events, dead letters for those it could not)."""
    ok, dead = [], []
    for e in events:
        try:
            ok.append(enrich_event(e, attributor))
        except EnrichmentError as err:
            dead.append(
                DeadLetter(
                    DeadLetterReason.ENRICHMENT_FAILED.value,
                    str(err),
                    STEP,
                    e["kafka_topic"],
                    e["kafka_partition"],
                    e["kafka_offset"],
                    e["event_id"].encode(),
                    e["kafka_value"],
                )
            )
    return ok, dead


class EnrichEventsFn(beam.DoFn):
    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        self._attributor: BrandAttributor | None = None

    def setup(self):
        self._attributor = BrandAttributor(self._catalog)

    def process(self, events: list[dict]):
        ok, dead = enrich(events, self._attributor)
        for d in dead:
            yield beam.pvalue.TaggedOutput(DEAD_LETTERS, d)
        if ok:
            yield ok


class EnrichEvents(beam.PTransform):
    def __init__(self, catalog: Catalog):
        super().__init__()
        self._catalog = catalog

    def expand(self, events):
        out = events | "DetectLanguageAndBrands" >> beam.ParDo(EnrichEventsFn(self._catalog)).with_outputs(DEAD_LETTERS, main="events")
        return EnrichResult(out.events, out[DEAD_LETTERS])
