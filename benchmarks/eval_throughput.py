"""Evaluation throughput: plain lm-eval (``HFLM``) against the fast path, same requests.

For each system (base model, LoRA adapter, prompt-tuning adapter) this builds both models
in one process: ``HFLM`` as ``lm_eval --model hf`` builds it (batch 8 for log-likelihood,
lm-eval's default batch 1 for generation) and :class:`logic_claims.harness.fast_lm.FastHFLM`
(``hf-fast``). It gives both the same lm-eval requests, in alternating chunks (contention
from other processes then falls on both sides alike), and prints:

- MC (``logic_claims_mc``): claims/s of each side and their ratio; ``mc_identical`` is
  true when every log-likelihood agrees within 1e-4 and every claim gets the same answer
  (hence the same accuracy);
- generation (``logic_claims``, up to 48 new tokens, greedy): generated tokens/s and
  claims/s; ``generation_agreement`` is the fraction of claims with the same text, and the
  correctness metric of both sides;
- each side's model-FLOPs utilisation: 2 x (parameters a token passes through) x tokens
  of the requests, per second, over the rate of a float32 matmul of the model's own shapes
  timed here (the machine's measured peak).

Ratios are the result; absolute rates depend on what else runs on the machine.

    python benchmarks/eval_throughput.py --lora runs/demo/adapter --prompt-tuning DIR
    python benchmarks/eval_throughput.py --limit 16 --skip-generation --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from logic_claims.harness.evaluate import task_requests
from logic_claims.harness.fast_lm import FastHFLM
from logic_claims.tasks.models import DEFAULT_MODEL, resolve_model

MC_TASK, GEN_TASK = "logic_claims_mc", "logic_claims"
TOLERANCE = 1e-4


def matmul_peak(hidden: int, inner: int, rows: int = 256, repeats: int = 20) -> float:
    """FLOP/s of the fastest float32 ``[rows, hidden] @ [hidden, inner]`` of several."""
    a, b = torch.randn(rows, hidden), torch.randn(hidden, inner)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * rows * hidden * inner / best


def flops_per_token(lm: Any) -> float:
    """2 x the parameters one token passes through: the decoder layers and the head."""
    model = lm.model.get_base_model() if hasattr(lm.model, "get_base_model") else lm.model
    layers = sum(p.numel() for p in model.model.layers.parameters())
    return 2.0 * (layers + model.get_output_embeddings().weight.numel())


def timed_chunks(sides: dict[str, Any], method: str, requests: list, chunks: int) -> dict:
    """Run each side on the same chunks of requests, alternating; outputs and seconds."""
    outputs: dict[str, list] = {name: [] for name in sides}
    seconds = dict.fromkeys(sides, 0.0)
    size = max(1, -(-len(requests) // chunks))
    for number, start in enumerate(range(0, len(requests), size)):
        chunk = requests[start : start + size]
        names = list(sides) if number % 2 == 0 else list(reversed(sides))
        for name in names:
            began = time.perf_counter()
            outputs[name] += getattr(sides[name], method)(chunk, disable_tqdm=True)
            seconds[name] += time.perf_counter() - began
    return {"outputs": outputs, "seconds": seconds}


def mc_answers(requests: list, scores: list) -> dict[tuple[str, int], int]:
    """(task, doc_id) -> index of the likelier choice."""
    best: dict[tuple[str, int], tuple[float, int]] = {}
    for inst, (logprob, _) in zip(requests, scores, strict=True):
        key = (inst.task_name, inst.doc_id)
        if key not in best or logprob > best[key][0]:
            best[key] = (logprob, inst.idx)
    return {key: index for key, (_, index) in best.items()}


def bench_mc(sides: dict, requests: list, peak: float, chunks: int) -> dict[str, Any]:
    run = timed_chunks(sides, "loglikelihood", requests, chunks)
    plain, fast = (run["outputs"][name] for name in ("plain", "fast"))
    answers = {name: mc_answers(requests, run["outputs"][name]) for name in sides}
    gold = {(i.task_name, i.doc_id): i.task.doc_to_target(i.doc) for i in requests}
    diff = max(abs(a[0] - b[0]) for a, b in zip(plain, fast, strict=True))
    claims = len(answers["plain"])
    per_token = flops_per_token(sides["plain"])
    encode = sides["plain"].tokenizer.encode
    tokens = sum(len(encode(i.args[0] + i.args[1])) for i in requests) / 2  # 2 choices, 1 pass
    out: dict[str, Any] = {"claims": claims, "max_abs_diff": diff}
    for name in sides:
        rate = claims / run["seconds"][name]
        correct = sum(int(answers[name][k] == gold[k]) for k in gold)
        tokens_s = tokens / run["seconds"][name]
        out[name] = {
            "seconds": round(run["seconds"][name], 2),
            "claims_per_s": round(rate, 2),
            "accuracy": correct / claims,
            "mfu": round(per_token * tokens_s / peak, 4),
        }
    out["ratio"] = round(out["fast"]["claims_per_s"] / out["plain"]["claims_per_s"], 2)
    out["mc_identical"] = diff <= TOLERANCE and answers["plain"] == answers["fast"]
    return out


def bench_generation(sides: dict, requests: list, peak: float, chunks: int) -> dict[str, Any]:
    run = timed_chunks(sides, "generate_until", requests, chunks)
    tokenizer = sides["plain"].tokenizer
    per_token = flops_per_token(sides["plain"])
    plain, fast = run["outputs"]["plain"], run["outputs"]["fast"]
    out: dict[str, Any] = {"claims": len(requests)}
    for name in sides:
        texts = run["outputs"][name]
        generated = sum(len(tokenizer.encode(t, add_special_tokens=False)) for t in texts)
        prompt = sum(len(tokenizer.encode(i.args[0])) for i in requests)
        correct = [
            i.task.process_results(i.doc, [t])["correct"]
            for i, t in zip(requests, texts, strict=True)
        ]
        secs = run["seconds"][name]
        out[name] = {
            "seconds": round(secs, 2),
            "tokens_per_s": round(generated / secs, 2),
            "claims_per_s": round(len(requests) / secs, 3),
            "generated_tokens": generated,
            "correct": statistics.fmean(correct),
            "mfu": round(per_token * (generated + prompt) / secs / peak, 4),
        }
    out["ratio_tokens_per_s"] = round(
        out["fast"]["tokens_per_s"] / max(out["plain"]["tokens_per_s"], 1e-9), 2
    )
    out["generation_agreement"] = sum(a == b for a, b in zip(plain, fast, strict=True)) / len(
        requests
    )
    out["correct_unchanged"] = out["plain"]["correct"] == out["fast"]["correct"]
    return out


def make_sides(model: str, adapter: str | None, gen: bool, fast_batch: int) -> dict[str, Any]:
    from lm_eval.models.huggingface import HFLM

    extra = {"peft": adapter} if adapter else {}
    plain_batch = 1 if gen else 8  # lm_eval's default batch for generation; 8 for MC
    return {
        "plain": HFLM(pretrained=model, batch_size=plain_batch, device="cpu", **extra),
        "fast": FastHFLM(
            pretrained=model, batch_size=fast_batch, mc_batch_size=fast_batch, device="cpu",
            **extra,
        ),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name, directory or hub id")
    parser.add_argument("--lora", help="a LoRA adapter directory (system 'lora')")
    parser.add_argument("--prompt-tuning", help="a prompt-tuning adapter directory")
    parser.add_argument(
        "--systems",
        default="base,lora,prompt_tuning",
        help="which to run, of base, lora, prompt_tuning (default: all given)",
    )
    parser.add_argument("--limit", type=int, help="claims per quantifier (default: whole split)")
    parser.add_argument(
        "--gen-limit", type=int, default=8, help="claims per quantifier (generation)"
    )
    parser.add_argument("--skip-mc", action="store_true", help="no log-likelihood (MC) run")
    parser.add_argument("--skip-generation", action="store_true", help="no generation run")
    parser.add_argument("--batch", type=int, default=32, help="fast path batch (default: 32)")
    parser.add_argument("--chunks", type=int, default=4, help="alternating chunks (default: 4)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--data-dir", help="a built dataset (default: $LOGIC_CLAIMS_DATA)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    model = resolve_model(args.model)
    systems = {"base": None, "lora": args.lora, "prompt_tuning": args.prompt_tuning}
    report: dict[str, Any] = {"threads": torch.get_num_threads(), "systems": {}}
    config = json.loads((Path(model) / "config.json").read_text())
    peak = matmul_peak(config["hidden_size"], config["intermediate_size"])
    report["matmul_peak_gflops"] = round(peak / 1e9, 1)
    mc = [] if args.skip_mc else task_requests(MC_TASK, args.limit, args.data_dir)
    gen = [] if args.skip_generation else task_requests(GEN_TASK, args.gen_limit, args.data_dir)
    for name, adapter in systems.items():
        if (name != "base" and not adapter) or name not in args.systems.split(","):
            continue
        result: dict[str, Any] = {}
        if mc:
            sides = make_sides(model, adapter, False, args.batch)
            result["mc"] = bench_mc(sides, mc, peak, args.chunks)
        if gen:
            sides = make_sides(model, adapter, True, args.batch)
            result["generation"] = bench_generation(sides, gen, peak, args.chunks)
        report["systems"][name] = result
        if not args.json:
            print(summary(name, result), flush=True)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"matmul peak {report['matmul_peak_gflops']} GFLOP/s, {report['threads']} threads")
    return 0


def summary(name: str, result: dict[str, Any]) -> str:
    """Two lines a system: MC and generation, each side's rate, the ratio, the checks."""
    lines = []
    if "mc" in result:
        r = result["mc"]
        lines.append(
            f"{name:<14} MC  {r['claims']} claims: plain {r['plain']['claims_per_s']} claims/s "
            f"(MFU {r['plain']['mfu']:.1%}), fast {r['fast']['claims_per_s']} "
            f"(MFU {r['fast']['mfu']:.1%}), {r['ratio']}x; acc {r['plain']['accuracy']:.3f} / "
            f"{r['fast']['accuracy']:.3f}, max |dlogp| {r['max_abs_diff']:.1e}, "
            f"mc_identical {str(r['mc_identical']).lower()}"
        )
    if "generation" in result:
        r = result["generation"]
        lines.append(
            f"{name:<14} gen {r['claims']} claims: plain {r['plain']['tokens_per_s']} tok/s "
            f"({r['plain']['claims_per_s']} claims/s, MFU {r['plain']['mfu']:.1%}), fast "
            f"{r['fast']['tokens_per_s']} tok/s ({r['fast']['claims_per_s']} claims/s, MFU "
            f"{r['fast']['mfu']:.1%}), {r['ratio_tokens_per_s']}x; agreement "
            f"{r['generation_agreement']:.3f}, correct {r['plain']['correct']:.3f} / "
            f"{r['fast']['correct']:.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
