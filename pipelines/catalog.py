"""The brand catalog (``pipelines/data/catalog.yaml``) and the fast brand matcher.

The matcher finds catalog brands in a post's text by alias, handle or hashtag, whole words,
case- and accent-insensitively. It is the first enrichment; the spaCy components of the
enrichment issue build on the same catalog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from itertools import chain
from pathlib import Path

import yaml

from pipelines.text import fold, tokenize

__all__ = ["Brand", "BrandMatcher", "Catalog", "CatalogError", "Mention", "MentionMatcher", "Product", "fold", "load_catalog"]


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
class Product:
    id: str
    name: str
    brand: str  # the brand id that sells it
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    version: int
    brands: tuple[Brand, ...]
    products_by_id: tuple[Product, ...] = ()  # products with their own ids (for mention spans)

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
    product_list: list[Product] = []
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
        for p in b.get("products") or ():
            pid = p.get("id") or f"{b['id']}_{len(product_list)}"
            if pid in seen:
                raise CatalogError(f"{source}: product id {pid!r} appears twice or is also a brand id")
            seen.add(pid)
            product_list.append(Product(id=pid, name=p["name"], brand=b["id"], aliases=tuple(p.get("aliases") or ())))
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
    return Catalog(version=int(doc.get("version", 1)), brands=tuple(brands), products_by_id=tuple(product_list))


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
        for candidates in filter(None, map(self._first.get, tokens)):  # most posts: no candidate, no Python loop
            for check, brand in candidates:
                if brand not in found and (check is None or check.search(folded)):
                    found.add(brand)
        return sorted(found, key=self._order.__getitem__) if len(found) > 1 else list(found)

    def match(self, text: str | None) -> list[str]:
        if not text:
            return []
        folded = fold(text)
        return self.match_tokens(folded, tokenize(folded))


@dataclass(frozen=True)
class Mention:
    """A catalog mention: ``text[start:end]`` as written; kind ``brand`` (own), ``competitor`` or ``product``."""

    start: int
    end: int
    kind: str
    id: str


class MentionMatcher:
    """Mention spans with kinds: ``spans(text)`` -> [Mention], sorted by position.

    The surface forms of an entity are its name and aliases, its handles with their '@' and
    its hashtags with their '#' (a bare hashtag word is an alias of its own when the catalog
    lists it). A form matches as a whole word, case- and accent-insensitively. Overlaps are
    resolved as the domain set's labels are (``tests/data/DOMAIN_POSTS.md``): the longest span
    wins, a product wins a tie with a brand, then the earlier span. So "LineaViva Fibra" is one
    product mention and "@NuvolaHosting" one brand mention.

    Same fast path as ``BrandMatcher``: the folded text's tokens are looked up in an index of
    the forms' first tokens; only a hit runs that form's regex to find its spans. Posts that
    name nothing cost one dict lookup per token.
    """

    def __init__(self, catalog: Catalog):
        forms: dict[str, tuple[int, str, str]] = {}  # folded form -> (priority, kind, id)
        for b in catalog.brands:
            kind = "brand" if b.role == "own" else "competitor"
            for term in (b.name, *b.aliases, *b.handles, *b.hashtags):
                forms.setdefault(fold(term), (1, kind, b.id))
        for p in catalog.products_by_id:
            for term in (p.name, *p.aliases):
                forms[fold(term)] = (0, "product", p.id)  # a product form shadows a brand alias spelled the same
        self._first: dict[str, list[tuple[re.Pattern, int, str, str]]] = {}
        for term, (prio, kind, eid) in forms.items():
            toks = tokenize(term)
            if toks:
                pattern = re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)")
                self._first.setdefault(toks[0], []).append((pattern, prio, kind, eid))

    def spans_tokens(self, text: str, folded: str, tokens: list[str]) -> list[Mention]:
        """Spans given the text, its ``fold`` and its ``tokenize`` (the enrichment computes both once)."""
        hits = set(chain.from_iterable(filter(None, map(self._first.get, tokens))))
        if not hits:
            return []
        if len(folded) != len(text):  # lower() changed a length (rare: 'İ'): fold char by char to keep offsets
            folded = "".join(fold(c)[:1] or c for c in text)
        found = [(m.start(), m.end(), prio, kind, eid) for pattern, prio, kind, eid in hits for m in pattern.finditer(folded)]
        if len(found) > 1:
            found.sort(key=lambda c: (c[0] - c[1], c[2], c[0]))
            taken: list[tuple[int, int, int, str, str]] = []
            for c in found:
                if all(c[1] <= t[0] or c[0] >= t[1] for t in taken):
                    taken.append(c)
            found = sorted(taken)
        return [Mention(s, e, kind, eid) for s, e, _, kind, eid in found]

    def spans(self, text: str | None) -> list[Mention]:
        if not text:
            return []
        folded = fold(text)
        return self.spans_tokens(text, folded, tokenize(folded))
