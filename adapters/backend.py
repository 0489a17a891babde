"""How a run executes: plain Accelerate or DeepSpeed, in which precision, on what.

``choose_backend`` reads what ``accelerate launch`` asked for (its environment
variables) and falls back to what this machine can run, with one notice line;
``start_accelerator`` builds the ``Accelerator`` and fits the DeepSpeed config to the
run. A new backend (say FSDP) goes here: decide it in ``choose_backend``, set it up in
``start_accelerator``; the training loop only talks to the ``Accelerator``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch

from logic_claims.adapters.config import TrainConfig
from logic_claims.tasks import launch
from logic_claims.tasks.errors import InputError

PROG = "logic-claims train"


def notice(message: str) -> None:
    """One ``logic-claims train: notice: ...`` line on stderr."""
    print(f"{PROG}: notice: {message}", file=sys.stderr, flush=True)


def _cpu_fallbacks(cfg: TrainConfig, requested_ds: bool, precision: str) -> tuple[bool, str, list]:
    """(use DeepSpeed, precision, notes) on a machine without a GPU."""
    use_ds, notes = requested_ds, []
    if precision == "fp16":
        precision = "no"
        notes.append("fp16 set aside for fp32 (DeepSpeed refuses fp16 on CPU)")
    if requested_ds and cfg.cpu_backend != "deepspeed":
        use_ds = False
        notes.append("DeepSpeed set aside: plain Accelerate (cpu_backend=deepspeed keeps it)")
    if precision == "bf16":
        notes.append("bf16 on CPU is ~30x slower than fp32 without AMX")
    return use_ds, precision, notes


def choose_backend(cfg: TrainConfig) -> dict[str, Any]:
    """Read what `accelerate launch` asked for and decide what this machine can run.

    Without a GPU: DeepSpeed refuses fp16 ("Type fp16 is not supported on your device")
    and Accelerate's fp16 on CPU silently runs fp32, so fp16 becomes fp32; bf16 is
    never chosen for you (about 30x slower than fp32 on a CPU without AMX). DeepSpeed is
    set aside for plain Accelerate unless ``cpu_backend: deepspeed`` (ZeRO in fp32 on
    CPU runs, about 30% slower, and saves no memory on one process).
    """
    requested_ds = os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() == "true"
    requested_precision = os.environ.get("ACCELERATE_MIXED_PRECISION", "no").lower()
    gpu = torch.cuda.is_available()
    use_ds, precision, notes = requested_ds, requested_precision, []
    if not gpu:
        use_ds, precision, notes = _cpu_fallbacks(cfg, requested_ds, requested_precision)
    if use_ds != requested_ds:  # the launcher's variables would re-enable DeepSpeed
        os.environ["ACCELERATE_USE_DEEPSPEED"] = "false"
    if precision != requested_precision:
        os.environ["ACCELERATE_MIXED_PRECISION"] = precision
    if use_ds and not gpu:
        notes.append("DeepSpeed kept in fp32 on CPU, without offload (nothing to offload to)")
    if use_ds and not gpu:
        # DeepSpeed's shared-memory collective op serves only its inference all-reduce;
        # training on CPU all-reduces over gloo. Without this DeepSpeed JIT-compiles the op
        # (minutes, and a C++ compiler) before the first step. The dict is DeepSpeed's
        # documented, mutable probe cache.
        import deepspeed.ops

        deepspeed.ops.__compatible_ops__["deepspeed_shm_comm"] = False
    return {
        "name": "deepspeed" if use_ds else "plain-accelerate",
        "device": "cuda" if gpu else "cpu",
        "precision": {"no": "fp32"}.get(precision, precision),
        "requested": {
            "deepspeed": requested_ds,
            "mixed_precision": requested_precision,
            "zero_stage": os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE")
            if requested_ds
            else None,
        },
        "notice": ("no GPU: " + "; ".join(notes)) if notes else None,
    }


def fit_deepspeed_config(accelerator: Any, cfg: TrainConfig, backend: dict[str, Any]) -> None:
    """Batch sizes, ZeRO settings and (on CPU) no offload in the launcher's DeepSpeed config.

    Records the ZeRO stage and gradient clipping DeepSpeed will use in ``backend``.
    """
    ds = accelerator.state.deepspeed_plugin.deepspeed_config
    accumulate, launched = cfg.gradient_accumulation_steps, ds.get("gradient_accumulation_steps")
    if launched not in (None, "auto", 1, accumulate):
        raise InputError(
            f"the launch config's DeepSpeed gradient_accumulation_steps is {launched}, the "
            f"training config's {accumulate}: give it once, in the training config "
            f"(--set gradient_accumulation_steps={launched}), and 1 or auto in the launch config"
        )
    ds["gradient_accumulation_steps"] = accumulate
    ds["train_micro_batch_size_per_gpu"] = cfg.batch_size
    ds["train_batch_size"] = cfg.batch_size * accelerator.num_processes * accumulate
    zero = ds.setdefault("zero_optimization", {})
    if cfg.ds_param_persistence_threshold is not None:
        zero["stage3_param_persistence_threshold"] = cfg.ds_param_persistence_threshold
    if backend["device"] == "cpu":
        # Offloading to the CPU from the CPU moves nothing, and optimizer offload
        # would JIT-compile DeepSpeedCPUAdam (minutes) for it.
        zero.pop("offload_optimizer", None)
        zero.pop("offload_param", None)
    backend["zero_stage"] = ds.get("zero_optimization", {}).get("stage")
    backend["gradient_clipping"] = ds.get("gradient_clipping")


def start_accelerator(cfg: TrainConfig) -> tuple[Any, dict[str, Any]]:
    """The ``Accelerator`` of this run and its backend record (for train_config.json).

    DeepSpeed on CPU: Accelerate finds no device backend on a machine without a GPU and,
    while DeepSpeed's CPU accelerator starts gloo with every launched process, records
    one process of rank 0 on each (so every rank wrote files, and DeepSpeed refused the
    batch sizes: ``train_batch_size ... 2 != 2 * 1 * 2``). Naming gloo makes Accelerate
    read the real world size and rank.
    """
    backend = choose_backend(cfg)
    from accelerate import Accelerator
    from accelerate.utils import InitProcessGroupKwargs

    cpu_ds = backend["device"] == "cpu" and backend["name"] == "deepspeed"
    accelerator = Accelerator(
        mixed_precision={"fp32": "no"}.get(backend["precision"], backend["precision"]),
        cpu=backend["device"] == "cpu" and not cpu_ds,
        kwargs_handlers=[InitProcessGroupKwargs(backend="gloo")] if cpu_ds else None,
    )
    # The training config says it (a launcher's ACCELERATE_GRADIENT_ACCUMULATION_STEPS would
    # override the constructor's argument); DeepSpeed's config is set to match below.
    accelerator.gradient_accumulation_steps = cfg.gradient_accumulation_steps
    alone = launch.alone_notice()
    if accelerator.is_main_process:
        for message in (backend["notice"], alone):
            if message:
                notice(message)
    backend["launch_notice"] = alone
    if accelerator.state.deepspeed_plugin is not None:
        fit_deepspeed_config(accelerator, cfg, backend)
    backend["num_processes"] = accelerator.num_processes
    if accelerator.num_processes != launch.world_size():
        raise RuntimeError(
            f"Accelerate sees {accelerator.num_processes} processes, the launcher started "
            f"{launch.world_size()}"
        )
    return accelerator, backend
