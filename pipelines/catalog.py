"""The brand catalog (``pipelines/data/catalog.yaml``) and the fast brand matcher.

The matcher finds catalog brands in a post's text by alias, handle or hashtag, whole words,
case- and accent-insensitively. It is the first enrichment; the spaCy components of the
enrichment issue build on the same catalog.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml


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


def _accent_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):  # Latin-1 Supplement and Latin Extended-A/B
        ch = chr(code)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii():
            table[code] = base.lower()
    return table


_ACCENTS = _accent_table()


def fold(text: str) -> str:
    """Lower case without accents: 'Perché' -> 'perche' (emoji and other scripts pass through)."""
    text = text.lower()
    return text if text.isascii() else text.translate(_ACCENTS)


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
    """Finds the catalog brands a text mentions. ``match`` returns brand ids in catalog order."""

    def __init__(self, catalog: Catalog):
        self._ids = catalog.brand_ids
        term_to_brand: dict[str, str] = {}
        for b in catalog.brands:
            terms = [b.name, *b.aliases, *b.products]
            terms += [h.lstrip("@") for h in b.handles] + [h.lstrip("#") for h in b.hashtags]
            for term in terms:
                term_to_brand[fold(term)] = b.id
        self._term_to_brand = term_to_brand
        alternatives = sorted(term_to_brand, key=len, reverse=True)
        # Whole words: a term must not be glued to letters or digits; '@' and '#' may precede it.
        self._pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in alternatives) + r")(?![\w])")

    def match(self, text: str | None) -> list[str]:
        if not text:
            return []
        found = {self._term_to_brand[m] for m in self._pattern.findall(fold(text))}
        return [b for b in self._ids if b in found]
