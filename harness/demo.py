"""``make demo``: the whole path on the embedded model, on a subset, in minutes on a CPU.

1. build the dataset (from $LOGIC_CLAIMS_DATA or the verified download);
2. convert the embedded SmolLM2-135M-Instruct once;
3. evaluate it with lm-eval on the logic_claims tasks (a few claims per quantifier);
and print lm-eval's tables.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from logic_claims.harness import data
from logic_claims.harness.evaluate import format_tables, run_eval
from logic_claims.harness.models import DEFAULT_MODEL, model_path

DEMO_TASKS = ("logic_claims", "logic_claims_mc")


def step(title: str) -> float:
    print(f"\n== {title}", flush=True)
    return time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", default="runs/demo", help="where results go (default: %(default)s)"
    )
    parser.add_argument("--limit", type=int, default=8, help="claims per quantifier (default: 8)")
    args = parser.parse_args(argv)
    out = Path(args.out)

    start = step("1/3 build the dataset")
    source = data.resolve_source(None)
    result = data.build(source)
    data.write_dataset(result, Path("data/logic_claims"))
    print(f"data/logic_claims: {result.manifest['counts']['test']['claims']} test claims")

    step(f"2/3 embedded model {DEFAULT_MODEL}")
    print(model_path())

    step(f"3/3 lm-eval on {', '.join(DEMO_TASKS)} (--limit {args.limit} per quantifier)")
    results = run_eval(
        DEFAULT_MODEL,
        tasks=DEMO_TASKS,
        limit=args.limit,
        output_dir=out / "eval" / "baseline",
        data_dir="data/logic_claims",
    )
    print(format_tables(results))
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s; results under {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
