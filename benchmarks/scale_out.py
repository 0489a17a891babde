"""Two processes against one: the same training steps and evaluation results, and their speed.

Training, for each backend and method (LoRA, prompt tuning): two processes of batch b
(1 thread each) against the reference, one process of the same backend taking each
step's 2b examples as two accumulated batches of b (``gradient_accumulation_steps: 2``,
2 threads). Backends: ``ddp`` (``accelerate launch --multi_gpu``, gloo; one process:
plain Accelerate), ``zero2`` (``--use_deepspeed --zero_stage 2``) and ``zero3`` (the
study's ``ds_zero3_cpu.yaml`` unchanged, ``--num_processes 2``), DeepSpeed in fp32 on a
CPU. ``equal`` holds when the train loss of every step is within 1e-4 (relative) and
every final adapter weight within 1e-5 (absolute) of the reference
(``harness/scale_out.py``). ``one_pass`` compares the same two processes with one plain
Accelerate process of batch 2b in one forward: the same examples in the same steps,
summed in another order and, for DeepSpeed, by another engine (its rounding, amplified
by Adam, is what it shows).

Evaluation: ``logic-claims eval`` (hf-fast) on the MC and generation tasks of one
quantifier, one process (2 threads) against ``accelerate launch --multi_gpu
--num_processes 2`` (1 thread each): ``mc_identical`` (the same documents, every
log-likelihood within 1e-5, the same answers) and ``generation_agreement`` (the fraction
of generations with the same text).

Speed: training examples/s is the median over steps of the trainer's own count (all
processes' examples in a step over its wall time, model loading excluded); evaluation
examples/s is documents over the whole command's wall time (model loading included).
On 2 cores, 1 process x 2 threads and 2 processes x 1 thread use the same cores: no
speed-up is expected, the ratio shows the cost of the collectives.

    python benchmarks/scale_out.py [--json] [--steps 6] [--limit 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from logic_claims.harness import scale_out as so
from logic_claims.tasks.models import DEFAULT_MODEL, resolve_model

METHODS = ("lora", "prompt_tuning")
SPEED_NOTE = (
    "1x2: one process, 2 threads; 2x1-BACKEND: two processes, 1 thread each, on the same "
    "cores. train: median of the trainer's examples/s per step (all processes, loading "
    "excluded); eval: documents over the command's wall time (loading included)"
)
EVAL_TASKS = "logic_claims_mc_all,logic_claims_all"
TRAIN_REFERENCE = (
    "equal: against one process of the same backend accumulating two batches of b a step; "
    "one_pass: against one plain-Accelerate process of batch 2b"
)


def run(command: list[str], threads: int) -> float:
    """Run ``command``; its wall seconds (exit with its stderr if it fails)."""
    # Waiting threads sleep instead of spinning: on a shared, loaded machine a spinning
    # thread holds a core its partner needs (measured here: 2-thread steps 20-40x slower).
    env = {**so.one_thread_env(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-4000:]}")
    return time.perf_counter() - start


def examples_per_s(out: Path) -> float:
    """Median examples/s of the logged steps after the first (warm-up)."""
    rates = [json.loads(line)["examples_per_s"] for line in (out / "metrics.jsonl").open()]
    return statistics.median(rates[1:] or rates)


def train_side(args: argparse.Namespace, root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per backend, the ``equal`` record over methods; and examples/s of each layout."""
    base = {
        "base_model": args.model,
        "max_train_examples": 4 * args.batch * args.steps,
        "max_val_examples": 4,
        "max_steps": args.steps,
        "logging_steps": 1,
        "eval_steps": args.steps,
        "save_steps": args.steps,
    }
    result: dict[str, Any] = {}
    speed: dict[str, dict[str, float]] = {}
    one_pass = {}
    for method in args.methods:
        one_pass[method] = root / f"one-{method}"
        one = {**base, "batch_size": 2 * args.batch}
        run(so.train_command("ddp", 1, so.free_port(), method, one, one_pass[method]), 2)
        speed.setdefault("1x2", {})[method] = examples_per_s(one_pass[method])
    accumulating = {**base, "batch_size": args.batch, "gradient_accumulation_steps": 2}
    two = {**base, "batch_size": args.batch}
    for backend in args.backends:
        parts, passes = {}, {}
        for method in args.methods:
            ref = root / f"one-{backend}-{method}"
            run(so.train_command(backend, 1, so.free_port(), method, accumulating, ref), 2)
            out = root / f"two-{backend}-{method}"
            run(so.train_command(backend, 2, so.free_port(), method, two, out), threads=1)
            parts[method] = so.compare_training(ref, out)
            passes[method] = so.compare_training(one_pass[method], out)
            speed.setdefault(f"2x1-{backend}", {})[method] = examples_per_s(out)
        result[backend] = so.worst(parts) | {"one_pass": so.worst(passes)}
    return result, speed


def eval_side(args: argparse.Namespace, root: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The per-sample comparison; and examples/s of each layout (wall time, loading in)."""
    common = ["--model", args.model, "--tasks", EVAL_TASKS, "--limit", str(args.limit)]
    common += ["--gen-kwargs", f"max_gen_toks={args.max_gen_toks}"]
    one = run(so.eval_command(1, so.free_port(), [*common, "--output", str(root / "e1")]), 2)
    two = run(so.eval_command(2, so.free_port(), [*common, "--output", str(root / "e2")]), 1)
    report = so.compare_samples(so.read_samples(root / "e1"), so.read_samples(root / "e2"))
    docs = 2 * args.limit  # two tasks
    return report, {"1x2": docs / one, "2x1": docs / two, "wall_s": {"1x2": one, "2x1": two}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="embedded name or local dir")
    parser.add_argument("--steps", type=int, default=6, help="training steps a run")
    parser.add_argument("--batch", type=int, default=2, help="per-process batch b")
    parser.add_argument("--limit", type=int, default=8, help="documents per eval task")
    parser.add_argument("--max-gen-toks", type=int, default=16)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--backends", default=",".join(so.BACKENDS))
    parser.add_argument("--skip-eval", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    args.model = resolve_model(args.model)
    args.methods = [m for m in args.methods.split(",") if m]
    args.backends = [b for b in args.backends.split(",") if b]
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        train, train_speed = train_side(args, Path(tmp))
        report: dict[str, Any] = {"model": Path(args.model).name, "train": train}
        report["train_reference"] = TRAIN_REFERENCE
        report["sizes"] = {
            "steps": args.steps,
            "batch_per_process": args.batch,
            "eval_limit_per_task": args.limit,
            "max_gen_toks": args.max_gen_toks,
        }
        report["examples_per_s"] = {"train": train_speed, "note": SPEED_NOTE}
        if not args.skip_eval:
            report["eval"], report["examples_per_s"]["eval"] = eval_side(args, Path(tmp))
    report["tolerances"] = {
        "loss_rel": so.LOSS_RTOL,
        "weights_abs": so.WEIGHT_ATOL,
        "loglik_abs": so.LOGLIK_ATOL,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for backend in args.backends:
            r = report["train"][backend]
            print(
                f"train {backend}: equal={r['equal']} loss_max_rel_diff="
                f"{r['loss_max_rel_diff']:.2e} weights_max_abs_diff={r['weights_max_abs_diff']:.2e}"
                f" (one pass of 2b: {r['one_pass']['loss_max_rel_diff']:.2e}, "
                f"{r['one_pass']['weights_max_abs_diff']:.2e})"
            )
        print("examples/s:", json.dumps(report["examples_per_s"]))
        if "eval" in report:
            print("eval:", json.dumps(report["eval"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
