"""The classifier heads as a spaCy pipeline component, on ``spacy.blank(lang)``.

No trained Italian spaCy pipeline is installable here (ARCHITECTURE.md), so pipelines start
blank and add ``ascolto_classifiers``, which scores docs with a ``Scorer`` and sets:

- ``doc._.sentiment``, ``doc._.emotion``, ``doc._.intent``: the labels (``"unknown"`` for a
  language without models); ``doc._.emotions``: every emotion label (Italian is multi-label);
- ``doc._.offensive``: ``True``/``False`` (``None`` when unknown);
- ``doc._.text_scores``: the scorer's full output (labels with probabilities).

``nlp.pipe(texts, batch_size=...)`` scores each batch with one ``score`` call. The Beam fast
path does not need spaCy at all: call ``scorer.score(texts, langs)`` on the lists directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipelines.nlp.scorer import Scorer, load_scorer

COMPONENT = "ascolto_classifiers"
_EXTENSIONS = ("sentiment", "emotion", "emotions", "offensive", "intent", "text_scores")

for _name in _EXTENSIONS:
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, default=None)


class ClassifierComponent:
    """Sets the classifier fields on docs; ``lang`` is the pipeline's language."""

    def __init__(self, lang: str, scorer: Scorer):
        self.lang = lang
        self.scorer = scorer

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 1000) -> Iterator[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score(batch)
                batch = []
        if batch:
            yield from self._score(batch)

    def _score(self, docs: list[Doc]) -> list[Doc]:
        for doc, fields in zip(docs, self.scorer.score([d.text for d in docs], [self.lang] * len(docs))):
            doc._.text_scores = fields
            doc._.sentiment = fields["sentiment"]["label"]
            doc._.emotion = fields["emotion"]["label"]
            doc._.emotions = fields["emotion"].get("labels", [fields["emotion"]["label"]])
            doc._.intent = fields["intent"]["label"]
            offensive = fields["offensive"]["label"]
            doc._.offensive = None if offensive == "unknown" else offensive == "offensive"
        return docs


@Language.factory(COMPONENT, default_config={"scorer": "default"})
def make_classifier_component(nlp: Language, name: str, scorer: str) -> ClassifierComponent:
    return ClassifierComponent(nlp.lang, load_scorer(scorer))


def build_pipeline(lang: str, scorer: str = "default") -> Language:
    """``spacy.blank(lang)`` + the classifier component (the tokenizer is spaCy's rule-based one)."""
    nlp = spacy.blank(lang)
    nlp.add_pipe(COMPONENT, config={"scorer": scorer})
    return nlp
