"""``logic-claims compare``: the command, its parser beside its handler."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.annotations import stats
from logic_claims.annotations.stats.clustered import POWER_NOTE
from logic_claims.harness import quiet
from logic_claims.harness.compare.config import load_config
from logic_claims.harness.compare.runner import compare
from logic_claims.harness.report.compare import significance_table, summary_tables
from logic_claims.harness.report.format import pct, pct_value, points
from logic_claims.harness.report.render import md_table
from logic_claims.tasks import data
from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.settings import in_range, parse_options

CLAIMS_PER_GENERIC = len(QUANTIFIERS)  # at most: All, Not all, Some, No
# Beyond this many claims a split (hundreds of times the study's) no sample size is
# practical: --plan says so instead of printing a number like 3.5e14.
PRACTICAL_CLAIMS = 1_000_000


def cmd_compare(args: argparse.Namespace) -> None:
    """Compare baselines and adapters: one report with tables, tests and a chart."""
    quiet.set_verbose(args.verbose)
    if args.plan:
        plan = power_plan(args)
        print(json.dumps(plan, indent=2) if args.json else _power_text(plan))
        return
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
    for table in summary_tables(result.report):
        print(f"\n{table.title}\n{md_table(table.rows, table.header)}")
    table = significance_table(result.report)
    print(f"\n{table.title}\n{table.note}\n{md_table(table.rows, table.header)}")
    print(f"\nwrote {result.output}/report.md, report.html, report.json, chart.png")


@dataclass
class PlanAssumptions:
    """What ``--plan`` assumes, each checked by the settings parser before it plans."""

    detect: float = field(metadata=in_range(0, 1, low_open=True))
    discordance: float = field(metadata=in_range(0, 1, low_open=True))
    design_effect: float = field(metadata=in_range(0, 100, low_open=True))


def power_plan(args: argparse.Namespace) -> dict[str, Any]:
    """How many claims and generics a difference of ``--detect`` needs, before any run.

    Connor's (1987) pairs for a two-sided McNemar at 0.05 and 80% power, times the design
    effect (claims of one generic are not independent), over the claims per generic; and
    the minimum detectable difference of the claims the config would evaluate.
    """
    config = load_config(args.config, args.out, check_adapters=False)
    names = ("detect", "discordance", "design_effect")
    assumed = PlanAssumptions(
        **parse_options(PlanAssumptions, {n: getattr(args, n) for n in names})
    )
    detect, psi, deff = assumed.detect, assumed.discordance, assumed.design_effect
    if detect > psi:
        raise InputError(
            f"--detect {detect} exceeds --discordance {psi}: a difference in rates cannot "
            "exceed the share of claims the two systems answer differently"
        )
    pairs = stats.pairs_needed(detect, psi)
    claims: int | None = math.ceil(pairs * deff) if pairs * deff <= PRACTICAL_CLAIMS else None
    planned, generics, per_generic = _planned_claims(config)
    mdd = stats.min_detectable_difference(planned / deff, psi) if planned else None
    return {
        "detect": detect,
        "discordance": psi,
        "design_effect": deff,
        "claims_needed": claims,
        "claims_per_generic": per_generic,
        "generics_needed": math.ceil(claims / per_generic) if claims is not None else None,
        "practical_limit_claims": PRACTICAL_CLAIMS,
        "config_claims_per_split": planned,
        "config_generics": generics,
        "config_min_detectable_difference": mdd if mdd is None or math.isfinite(mdd) else None,
        "method": f"Connor (1987) McNemar sample size x design effect; {POWER_NOTE}",
    }


def _planned_claims(config: Any) -> tuple[int | None, int | None, float]:
    """The test-split claims (and their generics) every system of the config answers: the
    first ``limit`` claims of each quantifier, as lm-eval takes them; and the split's claims
    per generic. From the built dataset when it is there, else ``limit`` x 4 claims, generics
    unknown, four claims per generic."""
    limits = [s.limit for s in config.systems if isinstance(s.limit, int)]
    limit = min(limits) if limits else None
    split = Path(config.data_dir) / "test.jsonl"
    if not split.is_file():
        planned = CLAIMS_PER_GENERIC * limit if limit else None
        return planned, None, float(CLAIMS_PER_GENERIC)
    claims = data.load_split(config.data_dir, "test")
    taken: list[Any] = []
    for quantifier in QUANTIFIERS:
        mine = [c for c in claims if c["quantifier"] == quantifier]
        taken += mine[:limit] if limit else mine
    per_generic = len(claims) / len({c["generic"] for c in claims})
    return len(taken), len({c["generic"] for c in taken}), per_generic


def _power_text(plan: dict[str, Any]) -> str:
    lines = [
        f"To detect a difference of {points(plan['detect'])} points in per-claim correctness "
        f"(discordance {pct(plan['discordance'])}, design effect {plan['design_effect']:g}; "
        f"{POWER_NOTE}):",
        f"  {plan['claims_needed']} claims per split, about {plan['generics_needed']} generics "
        f"({plan['claims_per_generic']:.1f} claims per generic)"
        if plan["claims_needed"] is not None
        else f"  no practical sample size (more than {plan['practical_limit_claims']:,} claims "
        "per split)",
    ]
    if plan["config_claims_per_split"] is not None:
        mdd = plan["config_min_detectable_difference"]
        generics = plan["config_generics"]
        lines.append(
            f"This config evaluates {plan['config_claims_per_split']} test claims"
            + (f" of {generics} generics" if generics else " (limit x 4 quantifiers)")
            + ": minimum detectable difference "
            + (f"{pct_value(mdd)} points" if mdd is not None else "none up to the discordance")
        )
    else:
        lines.append("The dataset is not built yet: build it to see what this config evaluates.")
    return "\n".join(lines)


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


def _add_plan_args(parser: argparse.ArgumentParser) -> None:
    """``--plan`` and the assumptions it plans with."""
    parser.add_argument(
        "--plan",
        action="store_true",
        help="only say how many claims/generics --detect needs (nothing runs)",
    )
    parser.add_argument(
        "--detect",
        type=float,
        default=0.10,
        metavar="D",
        help="with --plan: the difference in correct rate to detect (default 0.10)",
    )
    parser.add_argument(
        "--discordance",
        type=float,
        default=0.30,
        metavar="P",
        help="with --plan: share of claims the two systems answer differently (default 0.30)",
    )
    parser.add_argument(
        "--design-effect",
        type=float,
        default=1.5,
        metavar="DE",
        help="with --plan: clustered / independent variance, from a pilot report (default 1.5)",
    )


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add ``compare`` to the ``logic-claims`` commands."""
    parser = subparsers.add_parser(
        "compare",
        help="compare baselines and adapters: one report with tables, tests and a chart",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Compare systems on the logic_claims tasks and write report.md, report.html,
report.json and chart.png: correct/tie/wrong per quantifier and for universal /
existential claims (main and contrast splits), log-likelihood accuracy, the paired
difference of each system from the baseline clustered by generic (cluster-bootstrap
interval, the primary test Holm-corrected, design effect, minimum detectable difference,
McNemar on claims as a sensitivity analysis), the study's published runs and, with
`annotations:`, human factuality/justification.

lm-eval runs only for (system, task) pairs without cached results; the cache key covers
model, adapter content, task, limit, data manifest, model/generation arguments and the
task code. A rerun with nothing changed runs no model and writes the same report.

config (YAML):
  name: demo
  limit: 10                       # lm-eval --limit per quantifier subtask
  baseline: zero-shot             # every test is against this system
  primary_test: sign-flip         # or clustered-mcnemar (Durkalski 2003); declare it first
  mcnemar: midp                   # sensitivity McNemar on claims: midp (default) or exact
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
  logic-claims compare --config harness/configs/demo.yaml --plan --detect 0.10  # power
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
    _add_plan_args(parser)
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="comma-separated systems to run now; the report waits until all have results",
    )
    parser.set_defaults(func=cmd_compare)
