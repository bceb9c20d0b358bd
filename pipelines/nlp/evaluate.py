"""``ascolto nlp eval``: the shipped heads measured on the research validation splits and the domain held-out set.

Prints, per language, field, split and profile: macro-F1 with a bootstrap 95% interval,
accuracy, the issue's target, then each confusion matrix (rows gold, columns predicted; per-label counts for the
multi-label Italian emotion head), then throughput of the production path (``LinearScorer``
on the validation texts, one process). ``--check`` exits 1 when a target is missed by the
profile meant for that data: ``general`` on the research validation splits (social posts at
large) or, for a set with its own source profile (Italian offensive: HODI and HaSpeeDe 3
annotate different tasks), that profile; ``brand`` on the domain held-out set (brand and
customer-care posts); every profile is printed for every split (``pipelines.nlp.heads``
explains the profiles).
The numbers are never used to choose anything: selection happens in training, by
cross-validation on the training data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from pipelines.nlp import datasets as ds
from pipelines.nlp.features import FeatureConfig, Featuriser
from pipelines.nlp.heads import PROFILES, LinearHead
from pipelines.nlp.metrics import multiclass_metrics, multilabel_metrics

DOMAIN_SPLIT = "domain_heldout"
# The targets (macro-F1), by (language, head, split).
TARGETS = {
    ("en", "sentiment", "xlmt_en_val"): 0.65,
    ("it", "sentiment", "xlmt_it_val"): 0.62,
    ("en", "sentiment", DOMAIN_SPLIT): 0.80,
    ("it", "sentiment", DOMAIN_SPLIT): 0.80,
    ("en", "emotion", "tweeteval_en_val"): 0.65,
    ("it", "emotion", "multiemotions_it_val"): 0.55,
    ("en", "offensive", "tweeteval_en_val"): 0.75,
    ("it", "offensive", "hodi_it_val"): 0.83,
    ("it", "offensive", "haspeede3_it_val"): 0.83,
    ("it", "offensive", DOMAIN_SPLIT): 0.83,
    ("en", "offensive", DOMAIN_SPLIT): 0.75,
}


BOTH = "both"  # the row of a head with one weight set


def predict(model: LinearHead, featuriser: Featuriser, texts: list[str], profile: str) -> list:
    x = featuriser.transform(texts, model.lang)
    return model.decide(model.probabilities(np.asarray(x @ model.weights(profile)) + model.bias(profile)))


def profile_for(split: str, profiles=PROFILES) -> str:
    """The profile meant for a split's data (the one ``--check`` holds to the target), among a head's ``profiles``.

    ``brand`` for the domain held-out posts; for a research validation split, the source profile of
    the same set when the head has one (``hodi_it_val`` -> ``hodi_it``), else ``general``.
    """
    if split == DOMAIN_SPLIT:
        return "brand"
    source = split.removesuffix("_val")
    return source if source in profiles else "general"


def _metrics(model: LinearHead, featuriser: Featuriser, examples: list[ds.Example], profile: str, bootstrap: int) -> dict:
    pred = predict(model, featuriser, [e.text for e in examples], profile)
    if model.kind == "multilabel":
        gold = [tuple(lab for lab in e.label.split("|") if lab in model.classes) for e in examples]
        return multilabel_metrics(gold, pred, model.classes, bootstrap)
    return multiclass_metrics([e.label for e in examples], pred, model.classes, bootstrap)


def evaluate_head(model: LinearHead, featuriser: Featuriser, data_dir: Path, posts_held: list[dict], bootstrap: int = 1000) -> dict:
    """{profile: {split: metrics}} on the research validation files that exist and on the held-out posts.

    ``bootstrap``: resamples for the 95% interval of macro-F1 (0: no interval).
    """
    splits = {}
    for rel in ds.RESEARCH_VAL.get((model.lang, model.name), ()):
        path = data_dir / rel
        if path.exists():
            examples = [e for e in ds.load_examples(path, model.name) if e.lang == model.lang]
            if examples:
                splits[Path(rel).stem] = examples
    held = [e for e in ds.examples_from_rows(posts_held, model.name, ds.DOMAIN_SOURCE) if e.lang == model.lang]
    if held and set(e.label for e in held) <= set(model.classes):
        splits[DOMAIN_SPLIT] = held
    profiles = model.profiles if model.domain_delta is not None or model.source_deltas else (BOTH,)
    return {
        p: {name: _metrics(model, featuriser, ex, "general" if p == BOTH else p, bootstrap) for name, ex in splits.items()}
        for p in profiles
    }


def load_heads(models_dir: Path) -> list[LinearHead]:
    return [LinearHead.load(p) for lang in ds.LANGS for p in sorted((models_dir / lang).glob("*.npz"))]


def throughput(models_dir: Path, texts_by_lang: dict[str, list[str]], repeats: int = 3) -> dict[str, dict[str, float]]:
    """Posts/s of featurisation alone and of featurisation + every head (the scorer), best of ``repeats``."""
    from pipelines.nlp.scorer import LinearScorer

    scorer = LinearScorer(models_dir)
    out = {}
    for lang, texts in texts_by_lang.items():
        featuriser = scorer.featuriser(lang)
        scorer.score(texts[:100], [lang] * 100)  # load and warm up
        f = _best_of(repeats, featuriser.transform, texts, lang)
        s = _best_of(repeats, scorer.score, texts, [lang] * len(texts))
        out[lang] = {"posts": len(texts), "featurise_posts_per_s": len(texts) / f, "all_heads_posts_per_s": len(texts) / s}
    return out


def _best_of(repeats: int, fn, *args) -> float:
    """Shortest wall time of ``fn(*args)`` over ``repeats`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best


def validation_texts(data_dir: Path) -> dict[str, list[str]]:
    """Every research validation text per language (varied topics and lengths), for benchmarks."""
    out: dict[str, list[str]] = {lang: [] for lang in ds.LANGS}
    for files in ds.RESEARCH_VAL.values():
        for rel in files:
            if (data_dir / rel).exists():
                for r in ds.read_rows(data_dir / rel):
                    if r["lang"] in out:
                        out[r["lang"]].append(r["text"])
    return out


def print_report(results: dict, speed: dict, console: Console) -> list[str]:
    """Rich tables; returns the missed targets."""
    table = Table(title="Ascolto classifiers: macro-F1 (95% bootstrap interval), accuracy")
    for col in ("lang", "field", "split", "profile", "n", "macro-F1", "95% CI", "accuracy", "target", ""):
        table.add_column(col, justify="right" if col in ("n", "macro-F1", "accuracy", "target") else "left")
    missed = []
    for (lang, head), profiles in results.items():
        for split in next(iter(profiles.values())):
            for profile, splits in profiles.items():
                m = splits[split]
                target = TARGETS.get((lang, head, split))
                ok = target is None or m["macro_f1"] >= target
                held_to_target = profile in (BOTH, profile_for(split, profiles))
                if not ok and held_to_target:
                    missed.append(f"{lang}/{head}/{split} ({profile}): {m['macro_f1']:.3f} < {target}")
                lo, hi = m["macro_f1_ci95"]
                status = "" if target is None else ("[green]met[/]" if ok else "[red]below[/]") + ("" if held_to_target else " (info)")
                row = (lang, head, split, profile, str(m["n"]), f"{m['macro_f1']:.3f}", f"{lo:.3f}-{hi:.3f}", f"{m['accuracy']:.3f}")
                table.add_row(*row, "" if target is None else f"{target:.2f}", status)
    console.print(table)
    for (lang, head), profiles in results.items():
        for profile, splits in profiles.items():
            for split, m in splits.items():
                if profile in (BOTH, profile_for(split, profiles)):
                    console.print(_confusion_table(f"{lang}/{head} on {split}, {profile} profile", m))
    speed_table = Table(title="Throughput, one process (posts/s, research validation texts)")
    for col in ("lang", "posts", "featurisation", "featurisation + all heads"):
        speed_table.add_column(col, justify="right")
    for lang, s in speed.items():
        speed_table.add_row(lang, str(s["posts"]), f"{s['featurise_posts_per_s']:,.0f}", f"{s['all_heads_posts_per_s']:,.0f}")
    console.print(speed_table)
    return missed


def _confusion_table(title: str, m: dict) -> Table:
    if "confusion" in m:
        labels, matrix = m["confusion"]["labels"], m["confusion"]["matrix"]
        t = Table(title=f"{title} (rows gold, columns predicted)")
        t.add_column("gold \\ pred")
        for lab in labels:
            t.add_column(lab, justify="right")
        for lab, row in zip(labels, matrix):
            t.add_row(lab, *map(str, row))
        return t
    t = Table(title=f"{title} (per label)")
    for col in ("label", "tp", "fp", "fn", "F1"):
        t.add_column(col, justify="right")
    for lab, c in m["per_label_counts"].items():
        t.add_row(lab, str(c["tp"]), str(c["fp"]), str(c["fn"]), f"{m['per_class_f1'][lab]:.3f}")
    return t


def write_index(models_dir: Path) -> None:
    """``models/README.md``: one line per model card (what it predicts, metrics, data terms)."""
    lines = ["# Shipped classifier heads", "", "Generated by `ascolto nlp train` from the model cards (`<lang>/<head>.json`).", "",
             "| model | classes | trained | metrics (macro-F1) | training data | size |", "|---|---|---|---|---|---|"]  # fmt: skip
    notes: list[str] = []
    for path in sorted(p for lang in ds.LANGS for p in (models_dir / lang).glob("*.json")):  # not other models' folders (aspects/)
        c = json.loads(path.read_text(encoding="utf-8"))
        metrics = "; ".join(f"{s} {m['macro_f1']:.3f} ({p})" for p, splits in c["metrics"].items() for s, m in splits.items())
        data = "; ".join(f"{d['source']} ({d['examples']})" for d in c["training_data"])
        lines.append(f"| `{path.parent.name}/{path.stem}` | {', '.join(c['classes'])} | {c['trained_on']} | {metrics} | {data} | "
                     f"{c['artifact']['bytes'] / 1e6:.1f} MB |")  # fmt: skip
        if c.get("notes"):
            notes.append(f"- `{path.parent.name}/{path.stem}` (version {c['version']}): {c['notes']}")
    lines += ["", "Terms: every model inherits the terms of its training data, stated in its card (`terms`). The research",
              "sets are research-only and several are non-commercial (CC BY-NC-SA 4.0, SENTIPOLC): check before any",
              "commercial deployment, or retrain on your own posts (`ascolto nlp train --no-research --posts FILE`).", "",
              "Selection: a card whose `selection.candidates` lists one family and C was retrained with `--grid` narrowed to",
              "what an earlier full-grid run on the same research data chose (its domain designs are still compared).", ""]  # fmt: skip
    if notes:
        lines += ["Notes from the model cards (`notes`: targets missed and why):", "", *notes, ""]
    (models_dir / "README.md").write_text("\n".join(lines), encoding="utf-8")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from pipelines.nlp.train import MODELS_DIR

    p.add_argument(
        "--data-dir", type=Path, default=ds.default_data_dir(), help="research data directory (env ASCOLTO_DATA_DIR; default %(default)s)"
    )
    p.add_argument("--posts", type=Path, default=Path("tests/data/domain_posts.tsv"), help="labeled posts TSV (default %(default)s)")
    p.add_argument("--models", type=Path, default=MODELS_DIR, help="model directory (default: the packaged models)")
    p.add_argument("--holdout", type=float, default=0.3, help="held-out share of the posts, as in training (default %(default)s)")
    p.add_argument("--seed", type=int, default=13, help="seed of the held-out split, as in training (default %(default)s)")
    p.add_argument("--json", type=Path, help="also write all metrics to this JSON file")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")


def run(args: argparse.Namespace) -> int:
    if not args.data_dir.is_dir():
        raise ds.DataError(f"research data directory {args.data_dir} not found: pass --data-dir")
    heads = load_heads(args.models)
    if not heads:
        raise ds.DataError(f"no models in {args.models}: run 'ascolto nlp train' (make models)")
    rows = ds.read_rows(args.posts) if args.posts.exists() else []
    held_ids = ds.heldout_ids(rows, args.holdout, args.seed, ds.frozen_last_id(args.posts)) if rows and "id" in rows[0] else set()
    held = [r for r in rows if r.get("id") in held_ids]
    results = {}
    for h in heads:
        featuriser = Featuriser(FeatureConfig(**{k: v for k, v in h.features.items() if k != "version"}))
        results[(h.lang, h.name)] = evaluate_head(h, featuriser, args.data_dir, held)
    speed = throughput(args.models, validation_texts(args.data_dir))
    missed = print_report(results, speed, Console(width=None if sys.stdout.isatty() else 150))
    if args.json:
        doc = {"metrics": {f"{k[0]}/{k[1]}": v for k, v in results.items()}, "throughput": speed}
        args.json.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if missed:
        print("targets missed: " + "; ".join(missed), file=sys.stderr)
    return 1 if (missed and args.check) else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="ascolto nlp eval", description=__doc__.split("\n")[0])
    add_arguments(p)
    try:
        return run(p.parse_args(argv))
    except ds.DataError as exc:
        print(f"ascolto: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
