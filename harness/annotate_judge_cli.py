"""``logic-claims annotate judge`` and ``annotate calibrate``: a model as a rater, and how
far its judgments agree with people's.

Nothing here imports torch, lm-eval, pandas or the statistics at module level, so
``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from logic_claims.annotations.resampling import N_BOOT
from logic_claims.harness.annotate_common import RATINGS_HELP, names, store_files, sub_parser
from logic_claims.harness.evaluate import add_model_options
from logic_claims.harness.judge import METHODS, JudgeSettings
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input
from logic_claims.tasks.settings import SEED_RANGE, in_range, parse_options


def add_judge_commands(sub: Any) -> None:
    """``annotate judge`` and ``annotate calibrate``."""
    add_judge(sub)
    add_calibrate(sub)


# -- annotate judge -------------------------------------------------------------------


def add_judge(sub: Any) -> None:
    """The parser of ``annotate judge``."""
    judge = sub_parser(
        sub,
        "judge",
        "a model judges every item of a store, as one more rater",
        """\
A model rates every item of a store on each of its dimensions; its judgments enter the
store as the rater --rater (default: judge-<model>[+<adapter>]-<method>), with the model,
adapter, method, prompt version and settings recorded (annotate status --json shows them).

The prompt states the dimension's question and definition as the annotation page does.
--method loglikelihood (default) takes the label whose word (yes/no for 0/1) is most
likely after the prompt; --method generate generates a short reply and parses its first
word (a reply naming no label is left unjudged and retried by the next run).

Items are judged in batches, each committed to the store: a judge that is stopped or
killed continues where it stopped when run again, and judges nothing twice. The model is
resolved as in `eval` (embedded names, directories, hub ids) and built by lm-eval's
registry: --backend vllm passes through.

examples:
  logic-claims annotate judge --store study.sqlite
  logic-claims annotate judge --store study.sqlite --model runs/train/base --peft runs/train/a8
  logic-claims annotate judge --store ratings.sqlite --model Qwen/Qwen2.5-7B-Instruct \\
      --backend vllm --method generate --rater qwen7b
  logic-claims annotate calibrate study.sqlite --judge judge-smollm2-135m-instruct-loglik""",
    )
    judge.add_argument("--store", required=True, help="the annotation store to judge")
    judge.add_argument("--rater", metavar="NAME", help="the judge's rater name in the store")
    judge.add_argument("--method", choices=METHODS, default=JudgeSettings.method)
    judge.add_argument(
        "--batch-size",
        type=int,
        default=JudgeSettings.batch_size,
        help="items per batch and commit (default: %(default)s)",
    )
    judge.add_argument(
        "--max-gen-toks",
        type=int,
        default=JudgeSettings.max_gen_toks,
        help="--method generate: tokens (default: %(default)s)",
    )
    judge.add_argument("--limit", type=int, metavar="N", help="judge at most N more items")
    add_model_options(judge)
    judge.set_defaults(func=cmd_judge)


def cmd_judge(args: argparse.Namespace) -> None:
    from logic_claims.harness.evaluate import parse_kv
    from logic_claims.harness.judge import (
        JudgeSettings,
        default_rater,
        judge_store,
        load_model,
        model_decider,
    )

    settings = JudgeSettings(
        model=args.model,
        peft=args.peft,
        backend=args.backend,
        method=args.method,
        batch_size=args.batch_size,
        max_gen_toks=args.max_gen_toks,
        device=args.device,
        model_args=parse_kv(args.model_args),
    )
    settings.check()
    if args.limit is not None and args.limit < 1:
        raise InputError(f"--limit must be at least 1, got {args.limit}")
    rater = (args.rater or default_rater(settings)).strip()
    if not rater:
        raise InputError("--rater: give a non-empty name")
    from logic_claims.annotations.store import Store

    with Store.open(args.store) as store:  # a missing or damaged store fails before loading
        store.check()
    lm = load_model(settings)
    started = time.perf_counter()

    def progress(run: Any) -> None:
        print(f"\r{run.judged} judgments", end="", file=sys.stderr, flush=True)

    run = judge_store(
        args.store,
        model_decider(lm, settings),
        settings.record(),
        rater,
        batch_size=settings.batch_size,
        limit=args.limit,
        progress=progress if sys.stderr.isatty() else None,
    )
    seconds = time.perf_counter() - started
    print(
        f"{rater}: {run.judged} judgments written in {seconds:.1f} s; {run.already_done} of "
        f"{run.items} items were already judged; {run.unparsed} replies named no label"
    )
    print(f"next: logic-claims annotate calibrate {args.store} --judge {rater}")


# -- annotate calibrate ---------------------------------------------------------------


def add_calibrate(sub: Any) -> None:
    """The parser of ``annotate calibrate``."""
    cal = sub_parser(
        sub,
        "calibrate",
        "how far a judge agrees with people (kappa, AC1, alpha, confusion)",
        """\
Per dimension: the judge's agreement with the human majority and with each human
(Cohen's kappa, Gwet's AC1, Krippendorff's alpha, percent agreement, each with its
interval; the confusion table; each side's label prevalence), the humans' agreement with
each other where several rated the same items, and a plain sentence when the judge agrees
less with people than people do with each other, or no better than chance.

The reference raters are every rater that is not a judge unless --reference-raters names
them. The human majority of an item is the label most of its reference raters gave
(an item with a tie is left out of the majority comparison, and counted).

examples:
  logic-claims annotate calibrate study.sqlite --judge judge-smollm2-135m-instruct-loglik
  logic-claims annotate calibrate ratings.sqlite --judge qwen7b --reference-raters ann,bob \\
      --format markdown""",
    )
    cal.add_argument("ratings", metavar="RATINGS", help=RATINGS_HELP)
    cal.add_argument("--judge", required=True, metavar="NAME", help="the judge's rater name")
    cal.add_argument(
        "--reference-raters", metavar="A,B", help="the people (default: every non-judge rater)"
    )
    cal.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    cal.add_argument("--out", help="write the report here instead of standard output")
    cal.add_argument("--n-boot", type=int, default=N_BOOT, help="bootstrap resamples of alpha")
    cal.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    cal.set_defaults(func=cmd_calibrate)


@dataclass
class Resampling:
    """``annotate calibrate``'s bootstrap of alpha, checked before any work."""

    n_boot: int = field(metadata=in_range(0, 100_000))
    seed: int = field(metadata=SEED_RANGE)


def cmd_calibrate(args: argparse.Namespace) -> None:
    from logic_claims.annotations.calibration import calibrate_file
    from logic_claims.harness.report.calibration import render_report
    from logic_claims.tasks.io import write_text

    if args.out:
        check_not_input(args.out, store_files(args.ratings), "--out")
    parse_options(Resampling, {"n_boot": args.n_boot, "seed": args.seed})
    reference = (
        names(args.reference_raters, "--reference-raters") if args.reference_raters else None
    )
    report = calibrate_file(args.ratings, args.judge, reference, args.n_boot, args.seed)
    if args.format == "json":
        text = json.dumps(report, indent=2, default=str) + "\n"
    else:
        text = render_report(report, markdown=args.format == "markdown")
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
