"""Text classifiers of the enrichment stage: fast, offline, per language (it, en).

Data flows through the modules in this order:

- ``lexicon``: hand-written cue words (negators, contrast, intensifiers, polarity, intent, insults, emoji).
- ``features``: normalisation and the one featurisation every head shares (``Featuriser``).
- ``hashing``: bulk feature hashing with numpy (words, bigrams, character n-grams).
- ``heads``: a trained linear head (storage, calibrated probabilities) and ``HeadStack``.
- ``datasets``: TSV readers, the research recipe and data terms, the domain held-out split.
- ``selection``, ``nbsvm``, ``train``: ``ascolto nlp train`` (model selection by CV, cards).
- ``metrics``, ``evaluate``: ``ascolto nlp eval`` (macro-F1, confusion matrices, throughput).
- ``scorer``: the ``Scorer`` interface and the default ``LinearScorer`` (the Beam fast path).
- ``spacy_components``: the scorer as a spaCy component on ``spacy.blank(lang)``.
- ``explain``, ``batch``: ``ascolto explain TEXT`` and ``ascolto enrich FILE``.

Shipped artifacts and their model cards live in ``models/<lang>/<head>.{npz,json}``.
"""
