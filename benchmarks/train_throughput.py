"""Training throughput: the study's loop against ours, in one process, same model/method/batch.

(a) reference, in the study's style (its parameter_efficient_fine_tuning.py): every
    example left-padded (and cut) to 64 tokens, random batches, ``model(**batch).loss``
    from PEFT, i.e. logits over the whole sequence;
(b) ours (logic_claims.adapters.train): each batch packed a few examples to a row
    (no padding to speak of), the prompt prefix the examples share run once, logits
    only where an answer token is predicted.

Both start from the same adapter initialisation and see the same batches;
their steps alternate, so a busy machine slows both alike. Printed per method:
examples/s of each, the ratio, FLOP/s achieved as a fraction of a measured fp32 matmul
peak, and both final validation losses (same validation claims, our exact loss) with
the standard error of their paired difference, so "equal within noise" can be read.

    python benchmarks/train_throughput.py                # embedded model, prompt tuning + LoRA
    python benchmarks/train_throughput.py --steps 10 --json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

import torch

from logic_claims.tasks.models import DEFAULT_MODEL

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

STUDY_MAX_LENGTH = 64


def matmul_peak(seconds: float = 2.0, n: int = 1024) -> float:
    """Best fp32 matmul FLOP/s of this machine (torch.mm, n x n), over ~``seconds``."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        for _ in range(4):
            torch.mm(a, b)
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - start))
    return best


def study_batch(examples: list, pad_id: int) -> dict[str, torch.Tensor]:
    """The study's preprocessing: left pad to 64, truncate to 64, labels only on the answer."""
    ids, mask, labels = [], [], []
    for e in examples:
        seq, lab = list(e.ids), [-100] * e.n_context + list(e.ids[e.n_context :])
        pad = STUDY_MAX_LENGTH - len(seq)
        ids.append(([pad_id] * pad + seq)[:STUDY_MAX_LENGTH])
        mask.append(([0] * pad + [1] * len(seq))[:STUDY_MAX_LENGTH])
        labels.append(([-100] * pad + lab)[:STUDY_MAX_LENGTH])
    return {
        "input_ids": torch.tensor(ids),
        "attention_mask": torch.tensor(mask),
        "labels": torch.tensor(labels),
    }


def count_flops(fn: Any) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def per_example_val_losses(model: Any, val: list, pad_id: int) -> list[float]:
    """Mean answer-token cross-entropy of each validation example (our exact loss)."""
    from logic_claims.adapters.batches import TENSOR_KEYS, collate
    from logic_claims.adapters.packed_forward import answer_loss

    model.eval()
    out = []
    with torch.no_grad():
        for e in val:
            b = collate([e], pad_id, packed=False)
            loss_sum, n = answer_loss(model, **{k: b[k] for k in TENSOR_KEYS})
            out.append((loss_sum / n).item())
    model.train()
    return out


def load_examples(method: str, args: argparse.Namespace) -> tuple[Any, str, list, list, int]:
    """(config, base model path, train examples, validation examples, pad id) for a method."""
    from transformers import AutoTokenizer

    from logic_claims.adapters.batches import encode, select_records
    from logic_claims.adapters.config import load_config
    from logic_claims.adapters.inputs import resolve_base_model, resolve_data_dir
    from logic_claims.tasks.data import load_split

    steps = args.warmup + args.steps
    cfg = load_config(
        method,
        {
            "base_model": args.model,
            "batch_size": args.batch_size,
            "max_train_examples": steps * args.batch_size,
            "max_val_examples": args.val_examples,
            "seed": args.seed,
        },
    )
    base_path = resolve_base_model(cfg.base_model)
    data_dir = resolve_data_dir(cfg)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    train, _ = encode(tokenizer, select_records(load_split(data_dir, "train"), cfg, True), cfg)
    val, _ = encode(tokenizer, select_records(load_split(data_dir, "validation"), cfg, False), cfg)
    return cfg, base_path, train, val, pad_id


def build_model(cfg: Any, base_path: str, steps: int) -> tuple[Any, Any, Any]:
    """A fresh PEFT model, AdamW and linear schedule; the seed makes both loops start alike."""
    from accelerate.utils import set_seed
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, get_scheduler

    from logic_claims.adapters.methods import peft_config

    set_seed(cfg.seed)  # both loops start from the same adapter
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    model = get_peft_model(base, peft_config(cfg, base_path))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate)
    sched = get_scheduler("linear", opt, num_warmup_steps=0, num_training_steps=steps)
    return model, opt, sched


def make_step(model: Any, opt: Any, sched: Any, loss: Any) -> Any:
    """One optimisation step of ``model`` on a batch, with ``loss(model, batch)``."""

    def step(batch: dict[str, Any]) -> None:
        loss(model, batch).backward()
        torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()

    return step


def reference_loss(model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """PEFT's own loss: logits over the whole (padded) sequence."""
    return model(**batch).loss


def our_loss(model: Any, batch: dict[str, Any]) -> torch.Tensor:
    """Ours: packed, shared prefix once, logits at answer tokens only."""
    from logic_claims.adapters.batches import TENSOR_KEYS
    from logic_claims.adapters.packed_forward import answer_loss

    loss_sum, n = answer_loss(model, **{k: batch[k] for k in TENSOR_KEYS})
    return loss_sum / n


def run_loops(method: str, args: argparse.Namespace, loops: list[tuple[Any, list]]) -> list:
    """FLOPs of the warm-up steps, then seconds of the timed ones, for each (step, batches).

    Warm-up steps are counted for FLOPs (the counter slows them) and not timed; the
    loops' timed steps alternate, so a busy machine slows both alike.
    """
    from tqdm.auto import tqdm

    flops = [
        sum(count_flops(lambda b=batches[i], step=step: step(b)) for i in range(args.warmup))
        for step, batches in loops
    ]
    seconds = [0.0] * len(loops)
    steps = args.warmup + args.steps
    for i in tqdm(range(args.warmup, steps), desc=method, disable=args.json, leave=False):
        for k, (step, batches) in enumerate(loops):
            start = time.perf_counter()
            step(batches[i])
            seconds[k] += time.perf_counter() - start
    return [flops, seconds]


def bench_method(method: str, args: argparse.Namespace, peak: float) -> dict[str, Any]:
    """Both loops on ``method`` from the same start and batches; the fields of ``--json``."""
    from logic_claims.adapters.batches import collate, epoch_batches

    steps = args.warmup + args.steps
    cfg, base_path, train, val, pad_id = load_examples(method, args)
    ref_model, ref_opt, ref_sched = build_model(cfg, base_path, steps)
    our_model, our_opt, our_sched = build_model(cfg, base_path, steps)
    ref_model.train()
    our_model.train()

    # The same random batches for both (the study's DataLoader(shuffle=True)), each
    # collated its way: (a) padded to 64, (b) packed with the shared prefix once.
    batches = epoch_batches(train, cfg.batch_size, cfg.seed, 0)[:steps]
    ref_batches = [study_batch([train[i] for i in idx], pad_id) for idx in batches]
    our_batches = [collate([train[i] for i in idx], pad_id) for idx in batches]
    (ref_flops, our_flops), (ref_time, our_time) = run_loops(
        method,
        args,
        [
            (make_step(ref_model, ref_opt, ref_sched, reference_loss), ref_batches),
            (make_step(our_model, our_opt, our_sched, our_loss), our_batches),
        ],
    )

    examples = args.steps * cfg.batch_size
    ref_eps, our_eps = examples / ref_time, examples / our_time
    ref_val = per_example_val_losses(ref_model, val, pad_id)
    our_val = per_example_val_losses(our_model, val, pad_id)
    diffs = [a - b for a, b in zip(our_val, ref_val, strict=True)]
    mean = sum(diffs) / len(diffs)
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1) / len(diffs))
    per_example = args.batch_size * args.warmup
    return {
        "method": method,
        "batch_size": cfg.batch_size,
        "timed_steps": args.steps,
        "reference_examples_per_s": round(ref_eps, 3),
        "ours_examples_per_s": round(our_eps, 3),
        "ratio": round(our_eps / ref_eps, 3),
        "peak_fraction": round(our_flops / per_example * our_eps / peak, 4),
        "reference_peak_fraction": round(ref_flops / per_example * ref_eps / peak, 4),
        "reference_flops_per_example": round(ref_flops / per_example),
        "ours_flops_per_example": round(our_flops / per_example),
        "reference_val_loss": round(sum(ref_val) / len(ref_val), 4),
        "ours_val_loss": round(sum(our_val) / len(our_val), 4),
        "val_loss_diff": round(mean, 4),
        "val_loss_diff_se": round(se, 4),
        "val_examples": len(val),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="base model")
    parser.add_argument(
        "--methods", default="prompt_tuning,lora", help="comma-separated (default: %(default)s)"
    )
    parser.add_argument("--steps", type=int, default=30, help="timed steps (default: 30)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps, FLOP-counted")
    parser.add_argument("--batch-size", type=int, default=12, help="the study's 12")
    parser.add_argument("--val-examples", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (default: torch's choice). On a machine shared with other work, "
        "1 avoids OpenMP threads spinning on busy cores (4-5x slower steps here)",
    )
    parser.add_argument(
        "--peak-seconds", type=float, default=2.0, help="matmul peak measurement time (x2)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    # On a shared machine a busy moment lowers the measured peak: take the best of a
    # measurement before and after (the fractions use the same peak for both loops).
    peak = matmul_peak(args.peak_seconds)
    results = {}
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        results[method] = bench_method(method, args, peak)
    after = matmul_peak(args.peak_seconds)
    if after > peak:
        for r in results.values():
            for key in ("peak_fraction", "reference_peak_fraction"):
                r[key] = round(r[key] * peak / after, 4)
        peak = after
    summary = {
        "model": args.model,
        "threads": torch.get_num_threads(),
        "matmul_peak_flops": round(peak),
        "methods": results,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for method, r in results.items():
        print(
            f"{method:>14}: reference {r['reference_examples_per_s']:.2f} ex/s, "
            f"ours {r['ours_examples_per_s']:.2f} ex/s, ratio {r['ratio']:.2f}; "
            f"peak fraction {r['reference_peak_fraction']:.3f} -> {r['peak_fraction']:.3f}; "
            f"val loss {r['reference_val_loss']:.3f} vs {r['ours_val_loss']:.3f} "
            f"(diff {r['val_loss_diff']:+.3f} +/- {r['val_loss_diff_se']:.3f} se)"
        )
    print(f"fp32 matmul peak: {peak / 1e9:.1f} GFLOP/s on {torch.get_num_threads()} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
