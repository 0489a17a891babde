"""``logic-claims data build|stats``, ``logic-claims model path`` and ``logic-claims tasks
path``: what a run reads."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from logic_claims.harness.report.charts import histograms_png
from logic_claims.tasks import TASKS_DIR, data, sources
from logic_claims.tasks.io import atomic_path, write_json
from logic_claims.tasks.models import DEFAULT_MODEL, EMBEDDED_MODELS, model_path

SOURCE_HELP = (
    "directory holding negative.csv and positive.csv (default: $LOGIC_CLAIMS_DATA, else "
    "the upstream files, downloaded once to the cache and checked by sha256)"
)


def cmd_build(args: argparse.Namespace) -> None:
    source = sources.resolve_source(args.source)
    data.check_ratios(tuple(args.ratios))
    data.check_output_dir(Path(args.out), [source])  # refuse before the work, not after
    result = data.build(source, seed=args.seed, ratios=tuple(args.ratios))
    data.write_dataset(result, Path(args.out))
    m = result.manifest
    print(f"wrote {args.out}/{{{','.join(data.SPLITS)}}}.jsonl and manifest.json")
    g = m["generics"]
    print(
        f"generics: {g['as_written']} as written, {g['case_and_space_normalised']} after "
        f"case/space normalisation, {g['normalised']} after also ignoring the final period "
        f"(split on the last); per split {g['per_split']}"
    )
    for split in data.SPLITS:
        c = m["counts"][split]
        print(f"{split:>10}: {c['claims']:>6} claims  {c['per_quantifier']}")
    for name, families in m["contrast"].items():
        for family, c in families.items():
            left = sum(c["left_out"].values())
            print(f"{name:>19} {family:<20} {c['claims']:>6} claims, {left:>6} left out")


def describe(values: list[int]) -> dict[str, float]:
    return {"min": min(values), "mean": round(sum(values) / len(values), 2), "max": max(values)}


def cmd_stats(args: argparse.Namespace) -> None:
    source = sources.resolve_source(args.source)
    stats: dict[str, Any] = {}
    panels: list[tuple[str, list[int]]] = []
    for name in ("negative", "positive"):
        rows = sources.read_source(source / f"{name}.csv", name)
        stats[name] = {"rows": len(rows), "distinct_generics": len({r.generic for r in rows})}
        for column in ("generic", "exemplar"):
            texts = [getattr(r, column) for r in rows]
            if column == "generic":  # each generic once, as the study's analysis counted
                texts = list(dict.fromkeys(texts))
            words = [len(t.split()) for t in texts]
            stats[name][column] = {
                "chars": describe([len(t) for t in texts]),
                "words": describe(words),
            }
            panels.append((f"{name}.csv: {column}s ({len(texts):,})", words))
    out = Path(args.out)  # atomic_path creates it, or says in one line why it cannot
    with atomic_path(out / "length_histogram.png") as tmp:
        tmp.write_bytes(histograms_png(panels))
    write_json(out / "stats.json", stats)
    if args.json:
        print(json.dumps(stats, indent=2))
        return
    header = ("file", "column", "n", "chars min/mean/max", "words min/mean/max")
    print(f"{header[0]:<10}{header[1]:<10}{header[2]:>8}  {header[3]:>22}  {header[4]:>20}")
    for name, s in stats.items():
        for column in ("generic", "exemplar"):
            c, w = s[column]["chars"], s[column]["words"]
            n = s["distinct_generics"] if column == "generic" else s["rows"]
            print(
                f"{name:<10}{column:<10}{n:>8}  {c['min']:>6}/{c['mean']:>7}/{c['max']:>6}"
                f"  {w['min']:>5}/{w['mean']:>6}/{w['max']:>5}"
            )
    print(f"wrote {out / 'stats.json'} and {out / 'length_histogram.png'}")


def add_data_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="build the claims dataset and describe its sources",
        description="Build the logic-claims dataset and describe its sources.",
    )
    sub = parser.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    build = sub.add_parser(
        "build",
        help="build train/validation/test/contrast JSONL files and a manifest",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Turn the generics/exemplars CSVs into true/false claims.

  negative.csv (generic + exception) -> "All <g>" (false), "Not all <g>" (true)
  positive.csv (generic + instance)  -> "Some <g>" (true), "No <g>" (false)

Splits are by generic (hash of its normalised text), so no generic is in two
splits. validation/test hold one claim per generic and quantifier; train keeps
every exemplar. contrast.jsonl holds test-generic claims whose truth the
quantifier does not give (five construction families, tasks/contrast.py),
balanced per family and quantifier so a quantifier-only rule scores 0.5;
contrast_train/contrast_validation.jsonl hold the same from those splits'
generics. The output directory is replaced atomically; it must be new, empty,
or a previous build (holding only what a build writes).""",
    )
    build.add_argument("--source", help=SOURCE_HELP)
    build.add_argument(
        "--out", default="data/logic_claims", help="output directory (default: %(default)s)"
    )
    build.add_argument(
        "--seed", type=int, default=0, help="salt of the split hash (default: %(default)s)"
    )
    build.add_argument(
        "--ratios",
        type=float,
        nargs=3,
        default=(0.90, 0.05, 0.05),
        metavar=("TRAIN", "VALIDATION", "TEST"),
        help="split fractions of the generics (default: 0.90 0.05 0.05)",
    )
    build.set_defaults(func=cmd_build)

    stats = sub.add_parser(
        "stats",
        help="length statistics of generics and exemplars, and a histogram PNG",
        description="Character and word counts (min/mean/max) of the generics and exemplars "
        "of each source file, as the study's dataset analysis reported, plus a histogram.",
    )
    stats.add_argument("--source", help=SOURCE_HELP)
    stats.add_argument(
        "--out", default="reports/data_stats", help="output directory (default: %(default)s)"
    )
    stats.add_argument("--json", action="store_true", help="print the statistics as JSON")
    stats.set_defaults(func=cmd_stats)


def add_model_commands(subparsers: argparse._SubParsersAction) -> None:
    model = subparsers.add_parser(
        "model",
        help="embedded default models (local HF directories for pretrained=)",
        description="Embedded default models, shipped as GGUF files in PyPI packages.",
    )
    sub = model.add_subparsers(dest="model_command", required=True, metavar="COMMAND")
    path = sub.add_parser(
        "path",
        help="print the local HF directory of an embedded model, converting it on first use",
        description=(
            "Print a plain Hugging Face model directory for an embedded model. The first "
            "call converts the GGUF file (about 30 s; gemma3-270m's, joined from its part "
            "packages, a few minutes and 1 GB) into the cache "
            "($LOGIC_CLAIMS_CACHE, default ~/.cache/logic-claims); later calls are instant.\n\n"
            "example:\n  lm_eval --model hf --model_args pretrained=$(logic-claims model path) ..."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    path.add_argument("name", nargs="?", default=DEFAULT_MODEL, choices=sorted(EMBEDDED_MODELS))
    path.set_defaults(func=lambda args: print(model_path(args.name)))


def add_tasks_commands(subparsers: argparse._SubParsersAction) -> None:
    tasks = subparsers.add_parser(
        "tasks",
        help="the lm-eval task folder (for lm_eval --include_path)",
        description="The lm-eval task folder of the installed package.",
    )
    sub = tasks.add_subparsers(dest="tasks_command", required=True, metavar="COMMAND")
    path = sub.add_parser(
        "path",
        help="print the installed task folder, for lm_eval --include_path",
        description=(
            "Print the folder holding the logic_claims task YAMLs of the installed package, "
            "so lm-eval finds the tasks from any folder, in a checkout or from a wheel.\n\n"
            "example:\n  lm_eval --model hf --model_args pretrained=$(logic-claims model path) "
            '\\\n      --tasks logic_claims --include_path "$(logic-claims tasks path)"'
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    path.set_defaults(func=lambda args: print(TASKS_DIR))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    add_data_commands(subparsers)
    add_model_commands(subparsers)
    add_tasks_commands(subparsers)
