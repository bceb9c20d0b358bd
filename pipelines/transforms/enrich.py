"""EnrichEvents: the first enrichment: language and the catalog brands an event concerns.

Input: lists of event dicts. Output: the same lists, each event with
- ``lang``: 'it', 'en' or 'unknown' (no text, or no clear signal);
- ``brands``: catalog brand ids, in catalog order: brands named in the text (aliases,
  products, handles, hashtags) plus the owner of the page it happened on (``channel_owner``)
  plus the brand whose account wrote it. Empty when nothing attributes it.
Enrichment does not reject events; an event it cannot attribute is counted as
``unattributed`` downstream.
"""

from __future__ import annotations

import apache_beam as beam

from pipelines.catalog import BrandMatcher, Catalog, fold
from pipelines.language import detect_language


class BrandAttributor:
    def __init__(self, catalog: Catalog):
        self._matcher = BrandMatcher(catalog)
        self._owner = catalog.owner_of_handle()
        self._order = {b: i for i, b in enumerate(catalog.brand_ids)}

    def brands(self, event: dict) -> list[str]:
        found = self._matcher.match(event["text"])
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


def enrich(events: list[dict], attributor: BrandAttributor) -> list[dict]:
    for e in events:
        e["lang"] = detect_language(e["text"])
        e["brands"] = attributor.brands(e)
    return events


class EnrichEventsFn(beam.DoFn):
    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        self._attributor: BrandAttributor | None = None

    def setup(self):
        self._attributor = BrandAttributor(self._catalog)

    def process(self, events: list[dict]):
        yield enrich(events, self._attributor)


class EnrichEvents(beam.PTransform):
    def __init__(self, catalog: Catalog):
        super().__init__()
        self._catalog = catalog

    def expand(self, events):
        return events | "DetectLanguageAndBrands" >> beam.ParDo(EnrichEventsFn(self._catalog))
