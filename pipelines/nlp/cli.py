"""The enrichment's subcommands of ``ascolto``: ``nlp train|eval|train-aspects|eval-aspects``,
``explain`` and ``enrich``. Each parser carries its handler (``args.handler``)."""

from __future__ import annotations

import argparse

from pipelines.nlp import aspects_train, batch, evaluate, evaluate_aspects, explain, train


def add_commands(sub: argparse._SubParsersAction) -> None:
    nlp = sub.add_parser("nlp", help="train and evaluate the enrichment classifiers")
    nlp_sub = nlp.add_subparsers(dest="nlp_command", required=True, metavar="ACTION")
    for module, name, help_ in (
        (train, "train", "train every head from TSV files and write models and model cards"),
        (evaluate, "eval", "macro-F1, confusion matrices and throughput of the shipped models"),
        (aspects_train, "train-aspects", "train the aspect polarity models and detectors"),
        (evaluate_aspects, "eval-aspects", "aspect detection and polarity, and mention F1, of the shipped catalogs and models"),
    ):
        _add(nlp_sub, module, name, help_)
    _add(sub, explain, "explain", "why a post gets its language, entities and labels")
    _add(sub, batch, "enrich", "score a file of posts, write JSON lines with every enrichment field")


def _add(sub: argparse._SubParsersAction, module, name: str, help_: str) -> None:
    p = sub.add_parser(name, help=help_)
    module.add_arguments(p)
    p.set_defaults(handler=module.run)
