"""Throughput of ``annotate judge``: log-likelihood verdicts against generated ones, in one
process, on one model.

Both methods judge the same items of the study's human-evaluation files (the first
``--items`` answers of ``human_model4.csv``), each into its own temporary store, through
the same code as the command (``harness.judge.judge_store``: prompts, lm-eval requests,
one committed transaction per batch). The model is loaded once and shared; the methods
take turns, ``--round`` items at a time, so a busy machine slows both alike. Printed:
items/s of each (an item is judged on both dimensions: two prompts), and the ratio.

    python benchmarks/judge_throughput.py                  # embedded model, 48 items
    python benchmarks/judge_throughput.py --items 96 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from logic_claims.annotations.study_judgments import import_study_judgments
from logic_claims.harness.judge import (
    JudgeSettings,
    judge_store,
    load_model,
    model_decider,
)
from logic_claims.tasks.models import DEFAULT_MODEL

STUDY_FILE = Path(__file__).resolve().parents[2] / "shared/data/seed-results/human_model4.csv"
METHODS = ("loglikelihood", "generate")


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Judge ``args.items`` items with each method, alternating rounds; seconds per method."""
    settings = {
        m: JudgeSettings(args.model, method=m, batch_size=args.batch_size, device="cpu")
        for m in METHODS
    }
    for s in settings.values():
        s.check()
    lm = load_model(settings["loglikelihood"])
    with tempfile.TemporaryDirectory() as tmp:
        stores = {}
        for m in METHODS:
            stores[m] = Path(tmp) / f"{m}.sqlite"
            import_study_judgments(Path(args.study), "model4", "study", stores[m])
        seconds = dict.fromkeys(METHODS, 0.0)
        judged = dict.fromkeys(METHODS, 0)
        unparsed = dict.fromkeys(METHODS, 0)
        done = 0
        while done < args.items:
            step = min(args.round, args.items - done)
            for m in METHODS:
                decide = model_decider(lm, settings[m])
                start = time.perf_counter()
                run = judge_store(
                    stores[m], decide, settings[m].record(), m,
                    batch_size=args.batch_size, limit=step,
                )  # fmt: skip
                seconds[m] += time.perf_counter() - start
                judged[m] += run.judged
                unparsed[m] += run.unparsed
            done += step
    rates = {m: args.items / seconds[m] for m in METHODS}
    return {
        "model": args.model,
        "items": args.items,
        "batch_size": args.batch_size,
        "seconds": seconds,
        "items_per_second": rates,
        "judgments": judged,
        "unparsed": unparsed,
        "ratio_loglikelihood_over_generate": rates["loglikelihood"] / rates["generate"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the judge (default: embedded)")
    parser.add_argument("--study", default=str(STUDY_FILE), help="a study human_model*.csv")
    parser.add_argument("--items", type=int, default=48, help="items per method (default: 48)")
    parser.add_argument("--round", type=int, default=16, help="items per turn (default: 16)")
    parser.add_argument("--batch-size", type=int, default=16, help="items per batch")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.items < 1 or args.round < 1:
        parser.error("--items and --round must be at least 1")
    result = bench(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    import torch

    print(f"annotate judge on {args.model}, {args.items} items x 2 dimensions, "
          f"batch {args.batch_size}, {torch.get_num_threads()} threads")  # fmt: skip
    for m in METHODS:
        print(
            f"  {m:>13}: {result['items_per_second'][m]:.2f} items/s "
            f"({result['seconds'][m]:.1f} s; {result['unparsed'][m]} replies named no label)"
        )
    print(f"  ratio loglikelihood / generate: {result['ratio_loglikelihood_over_generate']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
