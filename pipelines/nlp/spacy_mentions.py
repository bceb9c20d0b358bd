"""Catalog mentions as a spaCy rule component: ``doc.ents`` labelled ``brand``, ``competitor``, ``product``.

For pipelines that work on spaCy ``Doc`` objects (the enrichment issue asks for spaCy rule
components). It finds the same spans as ``pipelines.catalog.MentionMatcher``, the fast matcher
the Beam stage uses, and ``tests/nlp/test_mentions.py`` checks that on the whole domain set:

- ``ascolto_fold_norm`` sets each token's ``norm_`` to its folded text (lower case, no
  accents), so one ``PhraseMatcher(attr="NORM")`` matches case- and accent-insensitively;
- ``ascolto_mentions`` runs a ``PhraseMatcher`` over every surface form (name, aliases,
  handles with '@', hashtags with '#'; patterns tokenised by the same ``nlp``), keeps the
  matches that are whole words in the text (spaCy may split "NuvolaHostingDown" differently
  from ``\\w`` boundaries, so the characters around the span are checked too), and resolves
  overlaps as the domain labels do: longest first, products before brands on ties, then the
  earlier span. Each entity's ``kb_id_`` is the catalog id.

Built from ``spacy.blank(lang)``: no trained pipeline is needed (ARCHITECTURE.md, decision 6).
The fast matcher is about ten times cheaper per post; use this one where a ``Doc`` exists anyway.
"""

from __future__ import annotations

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, compile_suffix_regex

from pipelines.catalog import Catalog, load_catalog
from pipelines.text import fold

LABELS = ("brand", "competitor", "product")
_KIND_PRIORITY = {"product": 0, "brand": 1, "competitor": 1}


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


@Language.component("ascolto_fold_norm")
def fold_norm(doc: Doc) -> Doc:
    for token in doc:
        token.norm_ = fold(token.text)
    return doc


class CatalogMentions:
    """The ``ascolto_mentions`` component (see the module docstring)."""

    def __init__(self, nlp: Language, catalog: Catalog):
        self.matcher = PhraseMatcher(nlp.vocab, attr="NORM")
        self._entities: dict[int, tuple[str, str]] = {}  # match key -> (kind, id)
        forms: dict[str, tuple[str, str]] = {}
        for b in catalog.brands:
            kind = "brand" if b.role == "own" else "competitor"
            for term in (b.name, *b.aliases, *b.handles, *b.hashtags):
                forms.setdefault(fold(term), (kind, b.id))
        for p in catalog.products_by_id:
            for term in (p.name, *p.aliases):
                forms[fold(term)] = ("product", p.id)
        tokenizer = nlp.tokenizer
        for term, (kind, eid) in forms.items():
            key = f"{kind}:{eid}"
            self._entities[nlp.vocab.strings.add(key)] = (kind, eid)
            pattern = tokenizer(term)
            for token in pattern:
                token.norm_ = fold(token.text)
            self.matcher.add(key, [pattern])

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        candidates = []
        for key, start, end in self.matcher(doc):
            span = doc[start:end]
            a, b = span.start_char, span.end_char
            if (a and _is_word_char(text[a - 1])) or (b < len(text) and _is_word_char(text[b])):
                continue  # not a whole word in the text
            kind, eid = self._entities[key]
            candidates.append((a - b, _KIND_PRIORITY[kind], a, start, end, kind, eid))
        candidates.sort()
        taken: list[tuple[int, int]] = []
        ents = []
        for _, _, _, start, end, kind, eid in candidates:
            if all(end <= s or start >= e for s, e in taken):
                taken.append((start, end))
                ents.append(Span(doc, start, end, label=kind, kb_id=eid))
        doc.ents = sorted(ents, key=lambda s: s.start)
        return doc


@Language.factory("ascolto_mentions", default_config={"catalog_path": None})
def make_catalog_mentions(nlp: Language, name: str, catalog_path: str | None) -> CatalogMentions:
    from pathlib import Path

    return CatalogMentions(nlp, load_catalog(Path(catalog_path) if catalog_path else None))


def split_dotted_words(nlp: Language) -> Language:
    r"""Tokenizer tweaks so a catalog form is a token sequence wherever the text has it.

    spaCy keeps "status.nuvola.it" or "https://..." as one token and may glue a final period
    to a token ("5G." at a sentence end); the fast matcher sees ``\w`` boundaries there. So
    '.', '/', '@' and '#' between word characters become infixes, a final '.' a suffix, and
    URLs are not kept whole (their host names are where mentions hide).
    """
    nlp.tokenizer.infix_finditer = compile_infix_regex([*nlp.Defaults.infixes, r"(?<=\w)[./@#](?=\w)"]).finditer
    nlp.tokenizer.suffix_search = compile_suffix_regex([*nlp.Defaults.suffixes, r"\."]).search
    nlp.tokenizer.url_match = None
    return nlp


def mentions_pipeline(lang: str, catalog: Catalog | None = None) -> Language:
    """``spacy.blank(lang)`` (tokenizer per ``split_dotted_words``) + ``ascolto_fold_norm`` + the mentions component."""
    nlp = split_dotted_words(spacy.blank(lang))
    nlp.add_pipe("ascolto_fold_norm")
    if catalog is None:
        nlp.add_pipe("ascolto_mentions")
    else:
        name = f"ascolto_mentions_{id(catalog):x}"  # a component object per catalog, registered under its own name
        Language.component(name, func=CatalogMentions(nlp, catalog))
        nlp.add_pipe(name, name="ascolto_mentions")
    return nlp


def doc_mentions(doc: Doc) -> list[tuple[int, int, str, str]]:
    """(start char, end char, kind, id) of a processed doc's catalog entities."""
    return [(e.start_char, e.end_char, e.label_, e.kb_id_) for e in doc.ents]
