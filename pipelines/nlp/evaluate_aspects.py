"""``python -m pipelines.nlp.evaluate_aspects [--check] [--json FILE]``: aspects and mentions measured to the targets.

- **Aspect detection**: micro-F1 of the categories found per text (``AspectTagger.summarise``),
  on ABSITA val (Italian hotels, ``hotel`` catalog), SemEval-2014 restaurants val (English,
  ``restaurant`` catalog) and the domain held-out split (project catalog, both languages).
- **Aspect polarity**: macro-F1 over the correctly detected aspects whose gold polarity is
  negative, neutral or positive (ABSITA ``mixed`` and SemEval ``conflict`` are left out, see
  ``aspects_data``), averaged over the polarities present in the gold of that split (ABSITA has
  no neutral gold: a predicted neutral there is an error, not a class of its own).
- **Mentions**: F1 of exact (start, end, kind, id) spans of ``MentionMatcher`` on the whole
  domain set (a rule matcher has nothing to overfit) and on its held-out split.
- **Throughput**: posts/s of mention matching + aspect tagging (project catalog) on the domain
  texts, one process.

Nothing here chooses anything: the models were chosen by cross-validation on training data
(``pipelines.nlp.aspects_train``). ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sklearn.metrics import f1_score

from pipelines.catalog import MentionMatcher, load_catalog
from pipelines.nlp import aspects_data as D
from pipelines.nlp.aspects import POLARITIES, AspectTagger
from pipelines.nlp.datasets import DataError, heldout_ids, read_rows

# (catalog, language) -> (detection micro-F1 target, polarity macro-F1 target). The issue sets the
# aspect targets on the research aspect sets with a catalog for their domain; the project catalog
# on the domain held-out posts is reported beside them (None: no target, informational).
TARGETS = {
    ("hotel", "it"): (0.80, 0.70),
    ("restaurant", "en"): (0.80, 0.60),
    ("project", "it"): (None, None),
    ("project", "en"): (None, None),
}
MENTION_TARGET = 0.95
SPLITS = {"hotel": "absita_it_val", "restaurant": "semeval14rest_en_val", "project": "domain_heldout"}


def aspect_scores(tagger: AspectTagger, examples: list[D.AspectExample]) -> dict:
    """Detection and polarity figures of a tagger on examples (see the module docstring)."""
    hits = tagger.tag([e.text for e in examples], [e.lang for e in examples])
    tp = fp = fn = 0
    gold_pol, pred_pol = [], []
    for e, h in zip(examples, hits):
        pred = AspectTagger.summarise(h)
        gold = set(e.gold)
        tp, fp, fn = tp + len(gold & pred.keys()), fp + len(pred.keys() - gold), fn + len(gold - pred.keys())
        for c in gold & pred.keys():
            if e.gold[c] in POLARITIES:
                gold_pol.append(e.gold[c])
                pred_pol.append(pred[c])
    labels = sorted(set(gold_pol))
    return {
        "texts": len(examples),
        "detection_precision": round(tp / max(tp + fp, 1), 4),
        "detection_recall": round(tp / max(tp + fn, 1), 4),
        "detection_micro_f1": round(2 * tp / max(2 * tp + fp + fn, 1), 4),
        "polarity_scored": len(gold_pol),
        "polarity_labels": labels,
        "polarity_macro_f1": round(float(f1_score(gold_pol, pred_pol, labels=labels, average="macro", zero_division=0)), 4),
        "polarity_accuracy": round(sum(g == p for g, p in zip(gold_pol, pred_pol)) / max(len(gold_pol), 1), 4),
    }


def mention_scores(matcher: MentionMatcher, rows: list[dict]) -> dict:
    tp = fp = fn = 0
    for r in rows:
        gold = {(int(a), int(b), k, i) for a, b, k, i in (m.split(":") for m in r["mentions"].split(";") if m)}
        pred = {(m.start, m.end, m.kind, m.id) for m in matcher.spans(r["text"])}
        tp, fp, fn = tp + len(gold & pred), fp + len(pred - gold), fn + len(gold - pred)
    return {"posts": len(rows), "spans": tp + fn, "f1": round(2 * tp / max(2 * tp + fp + fn, 1), 4), "fp": fp, "fn": fn}


def throughput(matcher: MentionMatcher, tagger: AspectTagger, texts: list[str], langs: list[str], seconds: float = 2.0) -> float:
    """Posts/s of spans + aspect tagging in batches of 500, repeated for about ``seconds``."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for i in range(0, len(texts), 500):
            batch, blangs = texts[i : i + 500], langs[i : i + 500]
            tagger.tag(batch, blangs, [matcher.spans(t) for t in batch])
            n += len(batch)
    return n / (time.perf_counter() - start)


def evaluate(data_dir: Path | None, speed_seconds: float = 2.0) -> dict:
    report: dict = {"aspects": {}, "mentions": {}, "targets": {}}
    for catalog, split in SPLITS.items():
        tagger = AspectTagger.load(catalog)
        examples = D.load_catalog_data(catalog, "val", data_dir)
        for lang in sorted({e.lang for e in examples}):
            report["aspects"][f"{split}/{lang}"] = {
                "catalog": catalog,
                "lang": lang,
                **aspect_scores(tagger, [e for e in examples if e.lang == lang]),
            }
    rows = read_rows(D.DOMAIN_FILE)
    held = heldout_ids(rows)
    matcher = MentionMatcher(load_catalog())
    report["mentions"]["domain_all"] = mention_scores(matcher, rows)
    report["mentions"]["domain_heldout"] = mention_scores(matcher, [r for r in rows if r["id"] in held])
    tagger = AspectTagger.load()
    texts, langs = [r["text"] for r in rows], [r["lang"] for r in rows]
    report["throughput_posts_per_s"] = round(throughput(matcher, tagger, texts, langs, speed_seconds)) if speed_seconds else None
    misses = []
    for key, s in report["aspects"].items():
        det, pol = TARGETS[(s["catalog"], s["lang"])]
        s["targets"] = {"detection_micro_f1": det, "polarity_macro_f1": pol}
        if det is not None and s["detection_micro_f1"] < det:
            misses.append(f"{key} detection micro-F1 {s['detection_micro_f1']:.3f} < {det}")
        if pol is not None and s["polarity_macro_f1"] < pol:
            misses.append(f"{key} polarity macro-F1 {s['polarity_macro_f1']:.3f} < {pol}")
    for key, s in report["mentions"].items():
        if s["f1"] < MENTION_TARGET:
            misses.append(f"mentions {key} F1 {s['f1']:.3f} < {MENTION_TARGET}")
    report["misses"] = misses
    return report


def render(report: dict, console: Console) -> None:
    t = Table(title="Aspects (detection: categories per text; polarity: on correctly detected aspects)")
    for col in ("split", "catalog", "texts", "det P", "det R", "det micro-F1", "target", "pol n", "pol macro-F1", "pol acc", "target"):
        t.add_column(col, justify="left" if col in ("split", "catalog") else "right")
    for key, s in report["aspects"].items():
        tg = s["targets"]
        ok_d = "white" if tg["detection_micro_f1"] is None else "green" if s["detection_micro_f1"] >= tg["detection_micro_f1"] else "red"
        ok_p = "white" if tg["polarity_macro_f1"] is None else "green" if s["polarity_macro_f1"] >= tg["polarity_macro_f1"] else "red"
        t.add_row(
            key,
            s["catalog"],
            str(s["texts"]),
            f"{s['detection_precision']:.3f}",
            f"{s['detection_recall']:.3f}",
            f"[{ok_d}]{s['detection_micro_f1']:.3f}[/]",
            "info" if tg["detection_micro_f1"] is None else f"{tg['detection_micro_f1']:.2f}",
            str(s["polarity_scored"]),
            f"[{ok_p}]{s['polarity_macro_f1']:.3f}[/]",
            f"{s['polarity_accuracy']:.3f}",
            "info" if tg["polarity_macro_f1"] is None else f"{tg['polarity_macro_f1']:.2f}",
        )
    console.print(t)
    m = Table(title="Mentions (exact start, end, kind, id)")
    for col in ("split", "posts", "spans", "F1", "false +", "missed", "target"):
        m.add_column(col, justify="left" if col == "split" else "right")
    for key, s in report["mentions"].items():
        colour = "green" if s["f1"] >= MENTION_TARGET else "red"
        m.add_row(key, str(s["posts"]), str(s["spans"]), f"[{colour}]{s['f1']:.3f}[/]", str(s["fp"]), str(s["fn"]), f"{MENTION_TARGET:.2f}")
    console.print(m)
    if report["throughput_posts_per_s"] is not None:
        console.print(
            f"throughput, mention spans + aspect tagging (project catalog, domain texts, one process): {report['throughput_posts_per_s']:,} posts/s"
        )
    for miss in report["misses"]:
        console.print(f"[red]target missed:[/] {miss}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, default=None, help="research data directory (default: ASCOLTO_DATA_DIR or ../shared/data)")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the figures as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        report = evaluate(args.data_dir)
    except (DataError, ValueError) as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2
    render(report, Console(width=max(Console().width, 150)))
    if args.json:
        try:
            args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
        except OSError as exc:
            print(f"ascolto: error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    return 1 if args.check and report["misses"] else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines.nlp.evaluate_aspects", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
