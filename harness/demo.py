"""``make demo``: the whole path on the embedded model, on a subset, in minutes on a CPU.

1. build the dataset (from $LOGIC_CLAIMS_DATA or the verified download);
2. convert the embedded SmolLM2-135M-Instruct once;
3. evaluate it with lm-eval on the logic_claims tasks (a few claims per quantifier);
4. train a small LoRA adapter on a few hundred train claims;
5. evaluate the adapter with the same tasks and print both side by side;
6. compare baselines and the adapter: ``logic-claims compare --config harness/configs/demo.yaml``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from logic_claims.harness import quiet
from logic_claims.harness.evaluate import run_eval
from logic_claims.tasks import data, sources
from logic_claims.tasks.claims import CLAIM_TYPES, QUANTIFIERS, WORDS
from logic_claims.tasks.models import DEFAULT_MODEL, model_path
from logic_claims.tasks.scoring import OUTCOMES

DATA_DIR = Path("data/logic_claims")
EVAL_TASKS = ("logic_claims", "logic_claims_mc")
GEN_KWARGS = {"max_gen_toks": 32}  # the first sentence, which the score reads, is shorter
# Small enough for <= 5 minutes on 2 cores, large enough to move the answers.
ADAPTER_OVERRIDES: dict[str, Any] = {
    "max_train_examples": 480,
    "learning_rate": 3e-3,
    "examples_per_generic": 1,
    "num_epochs": 1,
    "max_val_examples": 48,
    "eval_steps": 10,
    "save_steps": 1000,
    "logging_steps": 4,
}
# The task groups and subtasks, from the quantifier table: all claims, each claim type
# ("universal (all, not all)"), then each quantifier ("  not all").
ROWS = [
    ("logic_claims", "all claims"),
    *(
        (f"logic_claims_{kind}", f"{kind} ({', '.join(WORDS[q].lower() for q in qs)})")
        for kind, qs in CLAIM_TYPES.items()
    ),
    *((f"logic_claims_{q}", f"  {WORDS[q].lower()}") for q in QUANTIFIERS),
]


class Steps:
    """Numbered step headings, each step's seconds, and a timing line at the end."""

    def __init__(self, total: int) -> None:
        self.total, self.times, self.began = total, [], time.perf_counter()
        self.current: tuple[str, float] | None = None

    def start(self, title: str) -> None:
        self.finish()
        print(f"\n== {len(self.times) + 1}/{self.total} {title}", flush=True)
        self.current = (title.split(":")[0].split(" (")[0], time.perf_counter())

    def finish(self) -> None:
        if self.current:
            self.times.append((self.current[0], time.perf_counter() - self.current[1]))
            self.current = None

    def summary(self) -> str:
        self.finish()
        parts = ", ".join(f"{name} {secs:.0f} s" for name, secs in self.times)
        return f"demo finished in {time.perf_counter() - self.began:.0f} s ({parts})"


def side_by_side(baseline: dict[str, Any], adapter: dict[str, Any]) -> str:
    """correct / tie / wrong (generation) and acc (log-likelihood) of both models."""

    def cell(results: dict[str, Any], task: str) -> str:
        gen = results["results"].get(task, {})
        mc = results["results"].get(task.replace("logic_claims", "logic_claims_mc", 1), {})
        rates = "/".join(f"{gen.get(f'{m},none', float('nan')):.2f}" for m in OUTCOMES)
        return f"{rates}  {mc.get('acc,none', float('nan')):.2f}"

    header = f"{'claims':<28}{'baseline c/t/w  acc':>24}{'adapter c/t/w  acc':>24}"
    lines = [header, "-" * len(header)]
    for task, label in ROWS:
        lines.append(f"{label:<28}{cell(baseline, task):>24}{cell(adapter, task):>24}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="runs/demo", help="where runs go (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=6, help="claims per quantifier (default: 6)")
    parser.add_argument("--skip-compare", action="store_true", help="stop after step 5")
    parser.add_argument(
        "--verbose", action="store_true", help="show lm-eval's and transformers' messages"
    )
    args = parser.parse_args(argv)
    quiet.set_verbose(args.verbose)
    out = Path(args.out)
    steps = Steps(5 if args.skip_compare else 6)

    steps.start("build the dataset")
    result = data.build(sources.resolve_source(None))
    data.write_dataset(result, DATA_DIR)
    counts = result.manifest["counts"]
    print(f"{DATA_DIR}: " + ", ".join(f"{s} {counts[s]['claims']}" for s in data.SPLITS))

    steps.start(f"embedded model {DEFAULT_MODEL}")
    print(model_path())

    steps.start(f"lm-eval: {', '.join(EVAL_TASKS)}, {args.limit} claims per quantifier")
    baseline = run_eval(
        DEFAULT_MODEL, tasks=EVAL_TASKS, limit=args.limit,
        output_dir=out / "eval" / "baseline", data_dir=DATA_DIR, gen_kwargs=GEN_KWARGS,
    )  # fmt: skip
    print(f"results and samples: {out / 'eval' / 'baseline'} (table after step 5)")

    # LoRA: merged into the weights for evaluation (harness/fast_lm.py), and trained in
    # about a minute; adapters/configs/prompt_tuning.yaml is the study's method.
    steps.start("train a LoRA adapter (adapters/configs/lora.yaml)")
    with quiet.quiet_libraries("demo: train"):
        from logic_claims.adapters.train import train

        adapter_dir = train(
            "lora",
            {**ADAPTER_OVERRIDES, "data_dir": str(DATA_DIR)},
            out / "adapter",
            overwrite=True,
        )
    print(f"adapter: {adapter_dir}")

    steps.start("lm-eval on the adapter (peft=), same tasks")
    adapted = run_eval(
        DEFAULT_MODEL, peft=adapter_dir, tasks=EVAL_TASKS, limit=args.limit,
        output_dir=out / "eval" / "adapter", data_dir=DATA_DIR, gen_kwargs=GEN_KWARGS,
    )  # fmt: skip
    print(side_by_side(baseline, adapted))

    if not args.skip_compare:
        steps.start("compare baselines and the adapter (harness/configs/demo.yaml)")
        print_comparison()
    print(f"\n{steps.summary()}; runs under {out}/")
    if not quiet.is_verbose():
        print(f"lm-eval's and transformers' messages: {quiet.log_path()}")
    return 0


def print_comparison() -> None:
    """Run ``compare`` on the demo config; print its main tables and the report's path."""
    from logic_claims.harness.compare import compare, load_config
    from logic_claims.harness.report.compare import tables
    from logic_claims.harness.report.render import md_table

    report = compare(load_config("harness/configs/demo.yaml"))
    if report.output is not None:
        for title, _note, header, rows in tables(report.report)[1:4]:
            print(f"\n{title}\n{md_table(rows, header)}")
        print(f"\nreport: {report.output}/report.html (and report.md, chart.png)")


if __name__ == "__main__":
    raise SystemExit(main())
