"""``ascolto explain "text"``: why a post got its labels.

For one post: its language, every field's label with probabilities, the cues that fired
(lexicon and emoji hits, negations, contrast, intent words) and, per field, the features that
moved the decision most: word unigrams (``NEG_`` inside a negation scope), bigrams, the
character n-grams of each word (summed per word) and dense cues. A feature's weight is its
value times its coefficient for the chosen label minus the average over the labels (binary:
towards the positive class), so positive weights pushed towards the label shown.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import defaultdict

import numpy as np

from pipelines.language import detect_language
from pipelines.nlp.features import CUES, FeatureConfig, analyse, normalise
from pipelines.nlp.hashing import bigram_column, hash_strings
from pipelines.nlp.scorer import LinearScorer, ScorerError, default_scorer


def feature_names(text: str, lang: str, config: FeatureConfig) -> tuple[dict[int, list[str]], list[str]]:
    """(column -> readable names of what hashed there, cue hits) for one text."""
    bits = config.hash_bits
    norm, _, _ = normalise(text)
    feats, words, _, hits = analyse(norm, lang, config.negation_window)
    names: dict[int, list[str]] = defaultdict(list)
    for f, col in zip(feats, hash_strings(feats, bits).tolist()):
        names[col].append(f"word '{f}'")
    for a, b in zip(words, words[1:]):
        names[bigram_column(a, b, bits)].append(f"bigram '{a} {b}'")
    for w in norm.split():
        padded = f" {w} "
        for n in range(config.char_min, config.char_max + 1):
            grams = [padded[i : i + n] for i in range(len(padded) - n + 1) if " " not in padded[i + 1 : i + n - 1]]
            for col in hash_strings(grams, bits, salt=n).tolist() if grams else []:
                names[col].append(f"chars of '{w}'")
    for k, cue in enumerate(CUES):
        names[2**bits + k].append(f"cue {cue}")
    return names, hits


@functools.cache
def _mention_matcher():
    from pipelines.catalog import MentionMatcher, load_catalog

    return MentionMatcher(load_catalog())


def _tagger():
    from pipelines.transforms.enrich import default_tagger

    return default_tagger()


def explain(text: str, lang: str | None = None, scorer: LinearScorer | None = None, top: int = 8) -> dict:
    scorer = scorer or default_scorer()
    lang = lang or detect_language(text)
    fields = scorer.score([text], [lang])[0]
    mentions = _mention_matcher().spans(text)
    hits = _tagger().tag([text], [lang], [mentions])[0]
    result = {
        "text": text,
        "lang": lang,
        "entities": [{"text": text[m.start : m.end], "kind": m.kind, "id": m.id, "start": m.start, "end": m.end} for m in mentions],
        "aspects": [
            {"category": h.category, "polarity": h.polarity, "term": text[h.start : h.end] if h.term else "", "confidence": h.confidence}
            for h in hits
        ],
        "fields": fields,
        "cues": [],
        "evidence": {},
    }
    try:
        featuriser, stack = scorer.featuriser(lang), scorer.stack(lang)
    except ScorerError:
        return result  # no models for this language: labels are "unknown", nothing to explain
    x = featuriser.transform([text], lang)
    x.sum_duplicates()
    names, result["cues"] = feature_names(text, lang, featuriser.config)
    cols, values = x.indices, x.data
    for head in stack.heads:
        w = stack.weights_of(head.name)[cols]  # (nnz, k)
        if head.kind == "binary":
            direction = w[:, 0]
        else:
            label = fields[head.name]["label"]
            if label not in head.classes:  # multi-label "none": explain the most likely label
                label = max(fields[head.name]["probs"], key=fields[head.name]["probs"].get)
            j = head.classes.index(label)
            direction = w[:, j] - (w.mean(axis=1) if head.kind == "multiclass" else 0.0)
        totals: dict[str, float] = defaultdict(float)
        for col, contribution in zip(cols.tolist(), (values * direction).tolist()):
            sources = sorted(set(names.get(col, ["(hash collision)"])))
            for s in sources:
                totals[s] += contribution / len(sources)
        ranked = sorted(totals.items(), key=lambda kv: -abs(kv[1]))[:top]
        result["evidence"][head.name] = [{"feature": f, "weight": round(float(c), 4)} for f, c in ranked]
    return result


def render(result: dict) -> None:
    """Rich output for the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{result['text']}[/]\nlanguage: {result['lang']}")
    entities = ", ".join(f"{e['text']!r} = {e['kind']} {e['id']}" for e in result["entities"])
    console.print(f"entities: {entities or '(no catalog brand, competitor or product)'}")
    aspects = ", ".join(
        f"{a['category']} [{'green' if a['polarity'] == 'positive' else 'red' if a['polarity'] == 'negative' else 'yellow'}]"
        f"{a['polarity']}[/] ({a['term'] or 'whole post'!s}, {a['confidence']:.2f})"
        for a in result["aspects"]
    )
    console.print(f"aspects: {aspects or '(none)'}")
    if result["cues"]:
        console.print("cues: " + ", ".join(result["cues"]))
    for name, field in result["fields"].items():
        probs = ", ".join(f"{k} {v:.2f}" for k, v in sorted(field["probs"].items(), key=lambda kv: -kv[1]))
        extra = f" labels={field['labels']}" if "labels" in field else ""
        table = Table(title=f"{name}: {field['label']}{extra}  ({probs})", show_header=True)
        table.add_column("feature")
        table.add_column("weight", justify="right")
        for ev in result["evidence"].get(name, []):
            color = "green" if ev["weight"] > 0 else "red"
            table.add_row(ev["feature"], f"[{color}]{ev['weight']:+.3f}[/]")
        console.print(table)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("text", help="the post to explain")
    p.add_argument("--lang", help="it or en (default: detected)")
    p.add_argument("--top", type=int, default=8, help="features per field (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")


def run(args: argparse.Namespace) -> int:
    result = explain(args.text, args.lang, top=args.top)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=lambda o: float(o) if isinstance(o, np.floating) else str(o)))
    else:
        render(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ascolto explain", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
