"""``logic-claims compare``: the command, its parser beside its handler."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from logic_claims.harness import quiet
from logic_claims.harness.compare.config import load_config
from logic_claims.harness.compare.runner import compare
from logic_claims.harness.report.compare import tables
from logic_claims.harness.report.render import md_table


def cmd_compare(args: argparse.Namespace) -> None:
    """Compare baselines and adapters: one report with tables, tests and a chart."""
    quiet.set_verbose(args.verbose)
    config = load_config(args.config, args.out)
    if args.cache:
        config.cache = Path(args.cache)
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    result = compare(config, dry_run=args.dry_run, only=only)
    if args.dry_run:
        summary = {"would_run": result.ran, "cached": result.cached}
        print(json.dumps(summary, indent=2) if args.json else _plan_text(summary))
        return
    if not result.report:
        return
    if args.json:
        print(
            json.dumps(
                {"report": result.report, "ran": result.ran, "cached": result.cached},
                indent=2,
                default=str,
            )
        )
        return
    print(_plan_text({"ran": result.ran, "cached": result.cached}))
    for title, _note, header, rows in tables(result.report)[1:4]:
        print(f"\n{title}\n{md_table(rows, header)}")
    print(f"\nwrote {result.output}/report.md, report.html, report.json, chart.png")


def _plan_text(summary: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for label, entries in summary.items():
        for entry in entries:
            lines.append(
                f"{label.replace('_', ' ')}: {entry['system']}: {', '.join(entry['tasks'])}"
            )
        if not entries:
            lines.append(f"{label.replace('_', ' ')}: nothing")
    return "\n".join(lines)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the ``logic-claims`` commands."""
    parser = subparsers.add_parser(
        "compare",
        help="compare baselines and adapters: one report with tables, tests and a chart",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Compare systems on the logic_claims tasks and write report.md, report.html,
report.json and chart.png: correct/tie/wrong per quantifier and for universal /
existential claims (main and contrast splits), log-likelihood accuracy, McNemar exact
tests against the baseline with Holm's correction, bootstrap intervals, the study's
published runs and, with `annotations:`, human factuality/justification.

lm-eval runs only for (system, task) pairs without cached results; the cache key covers
model, adapter content, task, limit, data manifest, model/generation arguments and the
task code. A rerun with nothing changed runs no model and writes the same report.

config (YAML):
  name: demo
  limit: 10                       # lm-eval --limit per quantifier subtask
  baseline: zero-shot             # McNemar tests are against this system
  defaults: {model: smollm2-135m-instruct}
  systems:
    - {name: quantifier-rule, kind: rule}
    - {name: zero-shot, tasks: [logic_claims_explain, logic_claims_contrast_explain]}
    - {name: rag3, tasks: [logic_claims_rag3, logic_claims_contrast_rag3]}
    - {name: peft, adapter: runs/demo/adapter}   # default tasks: main + contrast, gen + mc
  legacy: [{name: "study PEFT(8)", file: ../shared/data/seed-results/model4.txt}]
  annotations: runs/ratings.sqlite  # optional

examples:
  logic-claims compare --config harness/configs/demo.yaml
  logic-claims compare --config harness/configs/demo.yaml --dry-run    # what would run
  # data-parallel PEFT systems on 8 GPUs, then the report (nothing left to run):
  accelerate launch --num_processes 8 -m logic_claims.harness.cli compare \\
      --config harness/configs/study.yaml --only peft8,peft4
  logic-claims compare --config harness/configs/study.yaml""",
    )
    parser.add_argument("--config", required=True, help="compare config (YAML)")
    parser.add_argument(
        "--out", help="output directory (default: config `output:` or reports/NAME)"
    )
    parser.add_argument(
        "--cache",
        help="results cache directory (default: config `cache:` or $LOGIC_CLAIMS_CACHE/compare)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show lm-eval's and transformers' messages and bars (default: in the log file)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--dry-run", action="store_true", help="only say which systems and tasks would run"
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="comma-separated systems to run now; the report waits until all have results",
    )
    parser.set_defaults(func=cmd_compare)
