"""Several processes: the launch commands that start them, and whether they agree with one.

``train_command`` and ``eval_command`` build ``accelerate launch`` command lines that
really start N processes on any machine (``--multi_gpu`` for DDP, which is gloo on a
CPU; DeepSpeed through ``--use_deepspeed`` or the study's ``ds_zero3_cpu.yaml``), each
rendezvous on a port of its own (:func:`free_port`). ``compare_training`` and
``compare_samples`` say whether two runs are ``equal`` by the tolerances of
:data:`LOSS_RTOL`, :data:`WEIGHT_ATOL` and :data:`LOGLIK_ATOL`. The tests
(tests/test_scale_out.py) and ``benchmarks/scale_out.py`` use both; docs/scaling.md
explains the commands.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STUDY_CONFIG = REPO / "ds_zero3_cpu.yaml"  # the study's Accelerate config, unchanged
BACKENDS = ("ddp", "zero2", "zero3")
# What "equal" means for N processes of batch b against one process taking the same steps
# (the same backend accumulating N batches of b; docs/scaling.md):
LOSS_RTOL = 1e-4  # the train loss of every step, relative
WEIGHT_ATOL = 1e-5  # every weight of the final adapter, absolute
LOGLIK_ATOL = 1e-5  # every log-likelihood of an evaluation, absolute


def free_port() -> int:
    """A TCP port nothing listens on now (for one rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def launch_prefix(backend: str, processes: int, port: int) -> list[str]:
    """``accelerate launch`` with the options that start ``processes`` processes.

    ``ddp``: plain Accelerate, DDP (gloo on a CPU); ``zero2``: DeepSpeed ZeRO-2 from the
    command line; ``zero3``: the study's ``ds_zero3_cpu.yaml`` as it is. One process:
    the same backend, launched alone.
    """
    launcher = [sys.executable, "-m", "accelerate.commands.launch"]
    common = ["--num_processes", str(processes), "--main_process_port", str(port)]
    common += ["--num_machines", "1", "--dynamo_backend", "no"]
    if backend == "ddp":
        spread = ["--multi_gpu"] if processes > 1 else []
        return [*launcher, *spread, *common, "--mixed_precision", "no"]
    if backend == "zero2":
        ds = ["--use_deepspeed", "--zero_stage", "2", "--gradient_accumulation_steps", "1"]
        ds += ["--gradient_clipping", "1.0", "--zero3_init_flag", "false"]
        return [*launcher, *ds, *common, "--mixed_precision", "no"]
    if backend == "zero3":
        return [*launcher, "--config_file", str(STUDY_CONFIG), *common]
    raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")


def train_command(
    backend: str, processes: int, port: int, config: str, overrides: dict[str, Any], out: Path
) -> list[str]:
    """The trainer under ``accelerate launch`` (DeepSpeed kept on a CPU for zero2/zero3)."""
    if backend != "ddp":
        overrides = {**overrides, "cpu_backend": "deepspeed"}
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    return [
        *launch_prefix(backend, processes, port),
        *("-m", "logic_claims.adapters.train", "--config", config, *sets),
        *("--output-dir", str(out), "--no-progress"),
    ]


def eval_command(processes: int, port: int, args: list[str]) -> list[str]:
    """``logic-claims eval ARGS`` under ``accelerate launch --multi_gpu`` (DDP)."""
    return [
        *launch_prefix("ddp", processes, port),
        *("-m", "logic_claims.harness.cli", "eval", *args),
    ]


def one_thread_env(threads: int = 1) -> dict[str, str]:
    """The environment of a launched run: offline, ``threads`` threads a process."""
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
    )
    return env


# --------------------------------------------------------------------------- comparing


def _losses(run: Path) -> dict[int, float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return {r["step"]: r["train_loss"] for r in map(json.loads, lines)}


def compare_training(reference: Path, other: Path) -> dict[str, Any]:
    """Train loss per step (relative) and final adapter weights (absolute), the worst of each.

    ``equal`` when both are within :data:`LOSS_RTOL` and :data:`WEIGHT_ATOL` and the two
    runs logged the same steps and saved the same tensors.
    """
    from safetensors.torch import load_file

    a, b = _losses(reference), _losses(other)
    loss = max((abs(a[s] - b[s]) / max(abs(a[s]), 1e-12) for s in a if s in b), default=math.inf)
    wa = load_file(reference / "adapter_model.safetensors")
    wb = load_file(other / "adapter_model.safetensors")
    same_shapes = wa.keys() == wb.keys() and all(wa[k].shape == wb[k].shape for k in wa)
    weights = (
        max(float((wa[k] - wb[k]).abs().max()) for k in wa) if same_shapes and wa else math.inf
    )
    equal = a.keys() == b.keys() and same_shapes and loss <= LOSS_RTOL and weights <= WEIGHT_ATOL
    return {"equal": equal, "loss_max_rel_diff": loss, "weights_max_abs_diff": weights}


def worst(parts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``compare_training`` record of several methods: equal only if all are, worst diffs."""
    return {
        "equal": all(p["equal"] for p in parts.values()),
        "loss_max_rel_diff": max(p["loss_max_rel_diff"] for p in parts.values()),
        "weights_max_abs_diff": max(p["weights_max_abs_diff"] for p in parts.values()),
        "methods": parts,
    }


def _by_doc(samples: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {s["doc_id"]: s for s in samples}


def compare_samples(
    reference: dict[str, list[dict[str, Any]]],
    other: dict[str, list[dict[str, Any]]],
    atol: float = LOGLIK_ATOL,
) -> dict[str, Any]:
    """lm-eval's per-sample results of two runs of the same tasks, doc by doc.

    ``mc_identical``: the same documents, every log-likelihood within ``atol``
    (:data:`LOGLIK_ATOL`) and the same answer; ``generation_agreement``: the fraction of
    generated documents with the same text (None without generation);
    ``duplicates``: documents that appear more than once in ``other``.
    """
    mc_ok, gen_same, gen_total, dup, worst_ll = True, 0, 0, 0, 0.0
    for task, samples in reference.items():
        ref, got = _by_doc(samples), _by_doc(other.get(task, []))
        dup += len(other.get(task, [])) - len(got)
        if ref.keys() != got.keys():
            mc_ok = False
        for doc_id in ref.keys() & got.keys():
            r, g = ref[doc_id]["filtered_resps"], got[doc_id]["filtered_resps"]
            if r and isinstance(r[0], list | tuple):  # log-likelihood: (value, is_greedy)
                # lm-eval writes both as strings: ["-6.0587...", "False"]
                diffs = [abs(float(x[0]) - float(y[0])) for x, y in zip(r, g, strict=True)]
                worst_ll = max(worst_ll, *diffs)
                mc_ok &= max(diffs) <= atol and [x[1] for x in r] == [y[1] for y in g]
            else:
                gen_total += 1
                gen_same += r == g
    return {
        "mc_identical": mc_ok and dup == 0,
        "loglik_max_abs_diff": worst_ll,
        "generation_agreement": gen_same / gen_total if gen_total else None,
        "duplicates": dup,
    }


def read_samples(output_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Per-task samples of every ``samples_<task>_*.jsonl`` under ``output_dir``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(Path(output_dir).rglob("samples_*.jsonl")):
        task = path.name[len("samples_") :].rsplit("_", 1)[0]
        found.setdefault(task, []).extend(
            json.loads(line) for line in path.read_text().splitlines() if line.strip()
        )
    return found
