"""The brand catalog (``pipelines/data/catalog.yaml``) and the fast brand matcher.

The matcher finds catalog brands in a post's text by alias, handle or hashtag, whole words,
case- and accent-insensitively. It is the first enrichment; the spaCy components of the
enrichment issue build on the same catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from pipelines.text import fold, tokenize

__all__ = ["Brand", "BrandMatcher", "Catalog", "CatalogError", "fold", "load_catalog"]


class CatalogError(ValueError):
    """The catalog file is missing fields or contradicts itself."""


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    sector: str
    role: str
    aliases: tuple[str, ...]
    handles: tuple[str, ...]
    hashtags: tuple[str, ...]
    products: tuple[str, ...]  # product aliases (they imply the brand)


@dataclass(frozen=True)
class Catalog:
    version: int
    brands: tuple[Brand, ...]

    @property
    def brand_ids(self) -> tuple[str, ...]:
        return tuple(b.id for b in self.brands)

    def brand(self, brand_id: str) -> Brand:
        for b in self.brands:
            if b.id == brand_id:
                return b
        raise KeyError(brand_id)

    def owner_of_handle(self) -> dict[str, str]:
        """Folded handle (without '@') -> brand id."""
        return {fold(h.lstrip("@")): b.id for b in self.brands for h in b.handles}


def load_catalog(path: Path | None = None) -> Catalog:
    if path is None:
        text = resources.files("pipelines").joinpath("data", "catalog.yaml").read_text(encoding="utf-8")
        source = "the packaged catalog"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogError(f"cannot read brand catalog {path}: {exc.strerror}") from None
        source = str(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("brands"), list) or not doc["brands"]:
        raise CatalogError(f"{source} must be a mapping with a non-empty 'brands' list")
    brands = []
    seen: set[str] = set()
    for i, b in enumerate(doc["brands"]):
        missing = [k for k in ("id", "name", "sector", "role") if not b.get(k)]
        if missing:
            raise CatalogError(f"{source}: brand #{i + 1} lacks {', '.join(missing)}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", b["id"]):
            raise CatalogError(f"{source}: brand id {b['id']!r} must be lower-case letters, digits and '_'")
        if b["id"] in seen:
            raise CatalogError(f"{source}: brand id {b['id']!r} appears twice")
        if b["role"] not in ("own", "competitor"):
            raise CatalogError(f"{source}: brand {b['id']!r} role must be 'own' or 'competitor', not {b['role']!r}")
        seen.add(b["id"])
        products = tuple(a for p in b.get("products") or () for a in [p["name"], *p.get("aliases", ())])
        brands.append(
            Brand(
                id=b["id"],
                name=b["name"],
                sector=b["sector"],
                role=b["role"],
                aliases=tuple(b.get("aliases") or ()),
                handles=tuple(b.get("handles") or ()),
                hashtags=tuple(b.get("hashtags") or ()),
                products=products,
            )
        )
    return Catalog(version=int(doc.get("version", 1)), brands=tuple(brands))


class BrandMatcher:
    """Finds the catalog brands a text mentions. ``match`` returns brand ids in catalog order.

    Terms (names, aliases, products, handles without '@', hashtags without '#') are matched as
    whole words, case- and accent-insensitively. Fast path: tokens are looked up in an index of
    the terms' first tokens; only a hit checks the full term in the text.
    """

    def __init__(self, catalog: Catalog):
        self._order = {b: i for i, b in enumerate(catalog.brand_ids)}
        self._first: dict[str, list[tuple[re.Pattern | None, str]]] = {}
        for b in catalog.brands:
            terms = [b.name, *b.aliases, *b.products]
            terms += [h.lstrip("@") for h in b.handles] + [h.lstrip("#") for h in b.hashtags]
            for term in {fold(t) for t in terms}:
                toks = tokenize(term)
                if not toks:
                    continue
                # One-token terms need no further check; longer ones must appear as written.
                check = None if len(toks) == 1 and toks[0] == term else re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)")
                self._first.setdefault(toks[0], []).append((check, b.id))

    def match_tokens(self, folded: str, tokens: list[str]) -> list[str]:
        found: set[str] = set()
        first = self._first
        for tok in tokens:
            candidates = first.get(tok)
            if candidates:
                for check, brand in candidates:
                    if brand not in found and (check is None or check.search(folded)):
                        found.add(brand)
        return sorted(found, key=self._order.__getitem__) if len(found) > 1 else list(found)

    def match(self, text: str | None) -> list[str]:
        if not text:
            return []
        folded = fold(text)
        return self.match_tokens(folded, tokenize(folded))
