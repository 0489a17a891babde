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
from typing import Any

from logic_claims.harness.annotate_common import RATINGS_HELP, names, store_files, sub_parser
from logic_claims.harness.evaluate import DEFAULT_BACKEND
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input
from logic_claims.tasks.models import DEFAULT_MODEL


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
--method loglikelihood (default) scores each label by the SUM of the probabilities of
all its surface forms after the prompt (yes/no for 0/1, in lower, Capitalised and UPPER
case, with and without the leading space: " Yes" counts as much as " yes") and takes
the best; each judgment is stored with its margin (0/1: log P(yes) - log P(no)), which
`annotate calibrate` reads for the AUC. --method generate generates a short reply and
parses its first word (a reply naming no label is left unjudged and retried by the next
run, never counted as "no").

Items are judged in batches, each committed to the store: a judge that is stopped or
killed continues where it stopped when run again, and judges nothing twice. The model is
resolved as in `eval` (embedded names, directories, hub ids) and built by lm-eval's
registry: --backend vllm passes through. A large judge behind an OpenAI-compatible
server (vLLM, TGI, `transformers serve`, llama.cpp) is lm-eval's local-chat-completions
backend with --model-args base_url=.../v1/chat/completions and --model the server's
model name; chat endpoints give no log-likelihoods, so it takes --method generate.

examples:
  logic-claims annotate judge --store study.sqlite
  logic-claims annotate judge --store study.sqlite --model runs/train/base --peft runs/train/a8
  logic-claims annotate judge --store ratings.sqlite --model Qwen/Qwen2.5-7B-Instruct \\
      --backend vllm --method generate --rater qwen7b
  logic-claims annotate judge --store ratings.sqlite --model Qwen/Qwen2.5-72B-Instruct \\
      --backend local-chat-completions --method generate --rater qwen72b \\
      --model-args base_url=http://gpu-host:8000/v1/chat/completions,num_concurrent=8
  logic-claims annotate calibrate study.sqlite --judge judge-smollm2-135m-instruct-loglik""",
    )
    judge.add_argument("--store", required=True, help="the annotation store to judge")
    judge.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="embedded model name, local directory or hub id (default: %(default)s)",
    )
    judge.add_argument("--peft", metavar="ADAPTER", help="a PEFT adapter directory")
    judge.add_argument("--rater", metavar="NAME", help="the judge's rater name in the store")
    judge.add_argument("--method", choices=("loglikelihood", "generate"), default="loglikelihood")
    judge.add_argument(
        "--backend",
        default=DEFAULT_BACKEND,
        help=f"lm-eval model backend (default: {DEFAULT_BACKEND}, the fast path of `eval`; "
        "or hf, vllm, ...)",
    )
    judge.add_argument(
        "--batch-size", type=int, default=16, help="items per batch and commit (default: 16)"
    )
    judge.add_argument(
        "--max-gen-toks", type=int, default=8, help="--method generate: tokens (default: 8)"
    )
    judge.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    judge.add_argument("--model-args", help="more lm-eval model_args, key=value,key=value")
    judge.add_argument("--limit", type=int, metavar="N", help="judge at most N more items")
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
        "how far a judge agrees with people (kappa, AC1, alpha, AUC, confusion)",
        """\
Per dimension: the judge's agreement with the human majority and with each human
(Cohen's kappa, Gwet's AC1, Krippendorff's alpha, percent agreement, each with its
interval; for 0/1 dimensions the AUC of the judge's margins, the log-odds of 1 over 0
that `annotate judge --method loglikelihood` records, against each reference; the
confusion table; each side's label prevalence), the humans' agreement with
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
    cal.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of alpha")
    cal.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    cal.set_defaults(func=cmd_calibrate)


def calibration_for(
    ratings_path: str, judge: str, reference: list[str] | None, n_boot: int, seed: int
) -> dict[str, Any]:
    """The calibration report of ``judge`` on a store or ratings file."""
    from logic_claims.annotations.calibration import calibration_report
    from logic_claims.annotations.ratings import file_format, load_ratings
    from logic_claims.annotations.records import DEFAULT_DIMENSIONS
    from logic_claims.annotations.store import Store

    dimensions, judges, info = DEFAULT_DIMENSIONS, set(), None
    if file_format(ratings_path) == "store":
        with Store.open(ratings_path) as store:
            dimensions = store.dimensions
            judges = {r for r in store.annotators() if store.rater_info(r) is not None}
            info = store.rater_info(judge)
    ratings = load_ratings(ratings_path, dimensions)
    labels = {d.name: list(d.labels) for d in dimensions}
    return calibration_report(
        ratings,
        judge=judge,
        reference=reference,
        exclude=judges,
        labels=labels,
        judge_info=info,
        n_boot=n_boot,
        seed=seed,
    )


def cmd_calibrate(args: argparse.Namespace) -> None:
    from logic_claims.harness.report.render import render
    from logic_claims.tasks.io import write_text

    if args.out:
        check_not_input(args.out, store_files(args.ratings), "--out")
    if not 0 <= args.n_boot <= 100_000:
        raise InputError(f"--n-boot must be from 0 to 100000, got {args.n_boot}")
    reference = (
        names(args.reference_raters, "--reference-raters") if args.reference_raters else None
    )
    report = calibration_for(args.ratings, args.judge, reference, args.n_boot, args.seed)
    if args.format == "json":
        text = json.dumps(report, indent=2, default=str) + "\n"
    else:
        name = f"calibration.{'md' if args.format == 'markdown' else 'txt'}"
        text = render(name, **calibration_context(report))
    if args.out:
        write_text(args.out, text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


# -- the calibration report's tables ----------------------------------------------------

CALIBRATION_HEADER = (
    "reference",
    "rater",
    "items",
    "agreement",
    "Cohen's kappa",
    "Gwet's AC1",
    "Krippendorff's alpha",
    "AUC",
    "reference's labels",
    "rater's labels",
)


def _shares(prevalence: dict[str, float | None]) -> str:
    from logic_claims.harness.report import format as fmt

    return ", ".join(f"{label}: {fmt.pct(share)}" for label, share in prevalence.items())


def _calibration_row(c: dict[str, Any]) -> list[str]:
    from logic_claims.harness.report import format as fmt

    def coefficient(name: str) -> str:
        res = c[name]
        return f"{fmt.num(res['statistic'])} {fmt.interval(res['confidence_interval'])}"

    pa = c["percent_agreement"]
    auc = c.get("auc")
    auc_cell = (
        ""
        if auc is None
        else f"{fmt.num(auc['statistic'])} " + fmt.interval(auc["confidence_interval"])
    )
    return [
        c["reference"],
        c["other"],
        str(c["n_items"]),
        fmt.rate_interval(pa["statistic"], pa["confidence_interval"]),
        coefficient("cohen_kappa"),
        coefficient("gwet_ac1"),
        coefficient("krippendorff_alpha"),
        auc_cell,
        _shares(c["prevalence"]["reference"]),
        _shares(c["prevalence"]["other"]),
    ]


def calibration_context(report: dict[str, Any]) -> dict[str, Any]:
    """What the calibration templates show: per dimension the comparison rows, the
    judge's confusion tables and the notes."""
    info = report.get("judge_info") or {}
    judge = report["judge"]
    described = (
        f"{judge} is {info.get('model')}"
        + (f" + {info['peft']}" if info.get("peft") else "")
        + f" ({info.get('backend')}, {info.get('method')}, prompt {info.get('prompt_version')})"
        if info
        else f"{judge} (no judge settings recorded)"
    )
    level = round(100 * report["confidence_level"])
    intro = (
        f"Estimand: {report['estimand']}. {described}; reference raters: "
        f"{', '.join(report['reference_raters'])}. Intervals ({level}%): kappa asymptotic, "
        "agreement and AC1 Gwet's linearised, alpha percentile bootstrap over items. "
        "AUC (0/1 dimensions): how well the judge's margins (log-odds of 1 over 0; its "
        "verdicts where it recorded none) rank the reference's 1s above its 0s, "
        "Mann-Whitney with DeLong's SE and a logit interval, withheld under 10 items of a "
        "class. Confusion tables: the reference's labels in rows, the rater's in columns."
    )
    dims = []
    for block in report["dimensions"]:
        confusions = []
        for c in block["comparisons"]:
            if c["kind"] == "human-human":
                continue
            labels = c["confusion"]["labels"]
            confusions.append(
                {
                    "title": f"{c['reference']} (rows) vs {c['other']} (columns)",
                    "header": ["", *labels],
                    "rows": [
                        [label, *map(str, counts)]
                        for label, counts in zip(labels, c["confusion"]["counts"], strict=True)
                    ],
                }
            )
        notes = list(block["notes"])
        if block.get("auc_from") == "verdicts":
            notes.append(f"{block['dimension']}: {judge} recorded no margins, so its AUC "
                         "ranks its verdicts (its balanced accuracy).")  # fmt: skip
        dims.append(
            {
                "dimension": block["dimension"],
                "rows": [_calibration_row(c) for c in block["comparisons"]],
                "confusions": confusions,
                "n_ties": block["n_ties"],
                "notes": notes,
            }
        )
    return {"r": report, "intro": intro, "dims": dims, "header": CALIBRATION_HEADER}


# -- a judge's calibration beside its scores (annotate scores --raters) ----------------


def only_raters(ratings: Any, raters: list[str], where: str) -> Any:
    """The judgments of ``raters`` only (``annotate scores --raters``)."""
    known = set(ratings["annotator"])
    unknown = [r for r in raters if r not in known]
    if unknown:
        raise InputError(
            f"--raters: no judgments by {', '.join(unknown)} (raters: {', '.join(sorted(known))})",
            where,
        )
    return ratings[ratings["annotator"].isin(raters)]


def judges_beside_scores(ratings_path: str, raters: list[str]) -> dict[str, Any]:
    """For each judge among ``raters`` (a store's raters with judge settings): its
    calibration against every person of the store, to print beside its scores."""
    from logic_claims.annotations.ratings import file_format
    from logic_claims.annotations.store import Store

    if file_format(ratings_path) != "store":
        return {}
    with Store.open(ratings_path) as store:
        judges = [r for r in raters if store.rater_info(r) is not None]
        people = store.conn.execute(
            "SELECT 1 FROM ratings r JOIN annotators a ON a.name = r.annotator"
            " WHERE a.kind = 'person' LIMIT 1"
        ).fetchone()
    if people is None:  # the scores stand; there is no one to calibrate the judge against
        reason = "no person has judged this set, so no calibration is possible"
        return {judge: {"no_calibration": reason} for judge in judges}
    return {judge: calibration_for(ratings_path, judge, None, 1000, 0) for judge in judges}


def render_beside_scores(ratings_path: str, calibrations: dict[str, Any]) -> str:
    """The short text of each judge's agreement with the human majority."""
    from logic_claims.harness.report.render import render

    parts = []
    for judge, report in calibrations.items():
        if "no_calibration" in report:
            parts.append(f"calibration of {judge}: {report['no_calibration']}.\n")
            continue
        rows, notes = [], []
        for block in report["dimensions"]:
            majority = block["comparisons"][0]
            rows.append([block["dimension"], *_calibration_row(majority)[2:8]])
            notes += block["notes"]
        parts.append(
            render(
                "calibration_beside.txt",
                judge=judge,
                ratings=ratings_path,
                reference=f"the majority of {', '.join(report['reference_raters'])}",
                estimand=report["estimand"],
                header=("dimension", *CALIBRATION_HEADER[2:8]),
                rows=rows,
                notes=notes,
            )
        )
    return "".join(parts)
