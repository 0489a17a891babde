"""How informative the offline judges are, on the study's own people's judgments.

Items: ``--items`` (default 150) of the study's judged answers (``human_model4.csv`` and
``human_model6.csv``, drawn with ``--seed``), plus every answer the person judged 0 on a
dimension (for the AUC: "not justified" is 2.9% of the study, too few in 150;
``--negatives N``: N of each dimension's, drawn at random). Each
model judges each item on both dimensions with both methods, through ``annotate judge``'s
own code (``harness.judge.model_decider``: the prompt people's question makes, every
surface form of yes/no summed for log-likelihood). Per model, method and dimension:

- ``yes_rate``: the share of the ``--items`` sample the judge calls 1 (the person: ``person``);
- ``auc``: the AUC of the judge's margin (log-likelihood: log P(yes) - log P(no);
  generation: its verdict) against the person's label, on the sample and the negatives,
  with its interval (``stats.roc_auc``);
- ``unparsed``: replies that named no label (generation);
- ``methods_agree``: on the sample, the share of items both methods gave the same verdict.

    python benchmarks/judge_quality.py                          # the embedded SmolLM2
    python benchmarks/judge_quality.py --model DIR --name gemma3-270m --json

The table and its reading are in docs/judges.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from logic_claims.annotations.records import DEFAULT_DIMENSIONS
from logic_claims.annotations.stats import roc_auc
from logic_claims.annotations.study_judgments import read_legacy
from logic_claims.harness.judge import JudgeSettings, Verdict, load_model, model_decider
from logic_claims.tasks.models import DEFAULT_MODEL

STUDY = Path(__file__).resolve().parents[2] / "shared/data/seed-results"
FILES = {"model4": "human_model4.csv", "model6": "human_model6.csv"}
METHODS = ("loglikelihood", "generate")


def study_items(
    study: Path, n: int, seed: int, negatives: int | None = None
) -> tuple[list[Any], set[str]]:
    """The study's judged rows: a random ``n`` (their ids) plus every row with a 0 on a
    dimension (``negatives``: at most that many of each dimension's, drawn at random)."""
    rows = [r for system, name in FILES.items() for r in read_legacy(study / name, system)]
    rng = random.Random(seed)
    sample = {r.item.item_id for r in rng.sample(rows, n)}
    extra: set[str] = set()
    for dim in DEFAULT_DIMENSIONS:
        zeros = [r.item.item_id for r in rows if getattr(r, dim.name) == "0"]
        if negatives is not None and len(zeros) > negatives:
            zeros = rng.sample(zeros, negatives)
        extra.update(zeros)
    return [r for r in rows if r.item.item_id in sample | extra], sample


def judge_all(model: str, method: str, rows: list[Any], batch: int) -> dict[tuple, Verdict | None]:
    settings = JudgeSettings(model, method=method, batch_size=batch, device="cpu")
    settings.check()
    decide = model_decider(load_model(settings), settings)
    requests = [(dim, r.item.claim, r.item.answer) for r in rows for dim in DEFAULT_DIMENSIONS]
    keys = [(r.item.item_id, dim.name) for r in rows for dim in DEFAULT_DIMENSIONS]
    out: dict[tuple, Verdict | None] = {}
    for start in range(0, len(requests), batch):
        verdicts = decide(requests[start : start + batch])
        out.update(zip(keys[start : start + batch], verdicts, strict=True))
        print(f"\r{method}: {len(out)}/{len(keys)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return out


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows, sample = study_items(args.study, args.items, args.seed, args.negatives)
    verdicts, seconds = {}, {}
    for method in METHODS:
        started = time.perf_counter()
        verdicts[method] = judge_all(args.model, method, rows, args.batch_size)
        seconds[method] = time.perf_counter() - started
    table = []
    for dim in DEFAULT_DIMENSIONS:
        truth = {r.item.item_id: getattr(r, dim.name) for r in rows}
        in_sample = [i for i in truth if i in sample]
        person_yes = sum(truth[i] == "1" for i in in_sample) / len(in_sample)
        table.append({"judge": "person", "dimension": dim.name, "method": "-",
                      "yes_rate": person_yes})  # fmt: skip
        for method in METHODS:
            got = {i: verdicts[method][(i, dim.name)] for i in truth}
            scored = [i for i in truth if got[i] is not None]
            score = [
                got[i].score if got[i].score is not None else float(got[i].label == "1")
                for i in scored
            ]
            auc = roc_auc(score, [truth[i] == "1" for i in scored])
            labelled = [i for i in in_sample if got[i] is not None]
            other = verdicts[METHODS[1 - METHODS.index(method)]]
            both = [i for i in labelled if other[(i, dim.name)] is not None]
            table.append({
                "judge": args.name, "dimension": dim.name, "method": method,
                "yes_rate": sum(got[i].label == "1" for i in labelled) / max(len(labelled), 1),
                "unparsed": sum(got[i] is None for i in in_sample),
                "auc": auc.statistic,
                "auc_low": auc.confidence_interval.low, "auc_high": auc.confidence_interval.high,
                "n_positive": auc.n_positive, "n_negative": auc.n_negative,
                "methods_agree": sum(got[i].label == other[(i, dim.name)].label for i in both)
                / max(len(both), 1),
                "seconds": round(seconds[method], 1),
            })  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedded name or directory")
    parser.add_argument("--name", help="the judge's name in the table (default: --model's)")
    parser.add_argument("--items", type=int, default=150, help="sample size (default: 150)")
    parser.add_argument(
        "--negatives", type=int, help="at most N of each dimension's 0s (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--study", type=Path, default=STUDY, help="the study's seed-results")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    args.name = args.name or Path(args.model).name
    table = measure(args)
    if args.json:
        print(json.dumps(table, indent=1))
        return
    for row in table:
        print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()))  # fmt: skip


if __name__ == "__main__":
    main()
