"""Train a PEFT adapter on the logic-claims train split, with Accelerate (and DeepSpeed).

    accelerate launch --config_file ds_zero3_cpu.yaml -m logic_claims.adapters.train \\
        --config adapters/configs/prompt_tuning.yaml --set max_steps=200 --output-dir runs/pt

The result is a standard PEFT adapter directory that lm-eval loads with
``--model_args pretrained=BASE,peft=OUT``, plus train_config.json, metrics.jsonl and
loss.png. The loop is the one of HF PEFT's examples, with four changes that make it
fast and exact: examples are the lm-eval task's own prompt + gold answer, a batch's
examples are packed a few to a row instead of padded to 64, the prompt prefix they
all share (the instruction, after the soft prompt) runs once per batch, and logits
are computed only where an answer token is predicted.

``train`` reads top to bottom: check the run (``plan_run``), start Accelerate
(``backend``), tokenize (``batches``), build the PEFT model (``methods``, wrapped in
``packed_forward.AnswerLoss``), then ``fit``: one ``train_step`` per batch, a
``log_step`` every ``logging_steps``, a checkpoint every ``save_steps``
(``checkpoints``), and the adapter at the end.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from logic_claims.adapters.backend import PROG, notice, start_accelerator
from logic_claims.adapters.batches import TrainData, load_data, on_device
from logic_claims.adapters.checkpoints import (
    append_metrics,
    check_output_dir,
    check_resume_config,
    clear_output_dir,
    discard_run,
    finish_run_info,
    git_commit,
    keep_adapter_only,
    load_checkpoint,
    save_adapter,
    save_checkpoint,
    versions,
)
from logic_claims.adapters.config import TrainConfig, config_path, load_config, parse_set
from logic_claims.adapters.inputs import resolve_base_model, resolve_data_dir
from logic_claims.adapters.methods import peft_config
from logic_claims.adapters.options import EPILOG, add_arguments
from logic_claims.adapters.packed_forward import AnswerLoss
from logic_claims.tasks import io as atomic
from logic_claims.tasks import launch
from logic_claims.tasks.data import manifest_sha256
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import PROMPT_VERSION


@dataclass
class Run:
    """One run's settings and paths, checked before anything heavy loads."""

    cfg: TrainConfig
    out: Path
    config_file: str | None
    overrides: dict[str, Any]
    resume_from: Path | None  # the checkpoint --resume continues from
    made_dir: bool  # whether this run creates ``out`` (a diverged run removes it again)
    base_path: str
    data_dir: Path


@dataclass
class Model:
    """The prepared (Accelerate-wrapped) model, optimizer and scheduler of a run."""

    module: Any  # AnswerLoss around the PEFT model
    optimizer: Any
    scheduler: Any
    params: list[torch.Tensor]  # the trainable ones
    trainable: int  # their number of elements


class Diverged(Exception):
    """A loss that is not finite at some step (taken back in ``fit``)."""

    def __init__(self, what: str, step: int):
        super().__init__(what, step)
        self.what, self.step = what, step


def plan_run(
    config: str | Path | dict[str, Any] | TrainConfig,
    overrides: dict[str, Any] | None,
    output_dir: str | Path | None,
    resume: bool,
    overwrite: bool,
) -> Run:
    """Resolve the config, the inputs and the output directory; refuse what cannot work."""
    cfg = load_config(config, overrides)
    if output_dir is None:
        name = Path(config).stem if isinstance(config, (str, Path)) else cfg.method
        output_dir = Path("runs") / "adapters" / name
    out = Path(output_dir)
    resume_from = check_output_dir(out, resume, overwrite)
    made_dir = not out.exists()
    base_path = resolve_base_model(cfg.base_model)
    data_dir = resolve_data_dir(cfg)
    inputs = [data_dir] + ([Path(base_path)] if Path(base_path).exists() else [])  # not a hub id
    atomic.check_not_input(out, inputs, option="--output-dir")
    if resume_from is not None:
        check_resume_config(resume_from, cfg, launch.world_size())
    config_file = str(config) if isinstance(config, (str, Path)) else None
    return Run(cfg, out, config_file, overrides or {}, resume_from, made_dir, base_path, data_dir)


def build_model(cfg: TrainConfig, base_path: str, accelerator: Any, total_steps: int) -> Model:
    """Base model (frozen) + adapter, AdamW and the LR schedule, prepared by Accelerate.

    The seed is set first so that the adapter's initialisation is reproducible.
    """
    from accelerate.utils import set_seed
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, get_scheduler

    set_seed(cfg.seed)
    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    if cfg.gradient_checkpointing:
        base.gradient_checkpointing_enable()
        base.enable_input_require_grads()
    peft_model = get_peft_model(base, peft_config(cfg, base_path))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    # Accelerate steps a prepared scheduler once per process per step.
    world = accelerator.num_processes
    scheduler = get_scheduler(
        cfg.lr_schedule if cfg.lr_schedule != "constant" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=cfg.warmup_steps * world,
        num_training_steps=total_steps * world,
    )
    module, optimizer, scheduler = accelerator.prepare(AnswerLoss(peft_model), optimizer, scheduler)
    keep_adapter_only(accelerator, module)
    return Model(module, optimizer, scheduler, params, trainable)


def describe_run(
    run: Run, data: TrainData, backend: dict[str, Any], trainable: int
) -> dict[str, Any]:
    """What train_config.json records: config, inputs, backend, code and sizes."""
    return {
        "config": run.cfg.to_dict(),
        "config_file": run.config_file,
        "overrides": run.overrides,
        "base_model": {"name": run.cfg.base_model, "path": run.base_path},
        "data": {
            "dir": str(run.data_dir.resolve()),
            "manifest_sha256": manifest_sha256(run.data_dir),
            "prompt_version": PROMPT_VERSION,
            "train_examples": len(data.examples),
            "train_examples_dropped_too_long": data.dropped,
            "val_examples": len(data.val_examples),
        },
        "backend": backend,
        "git": git_commit(),
        "trainable_parameters": trainable,
        "total_steps": data.total_steps,
        "steps_per_epoch": data.steps_per_epoch,
        "versions": versions(),
    }


def train(
    config: str | Path | dict[str, Any] | TrainConfig,
    overrides: dict[str, Any] | None = None,
    output_dir: str | Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Train one adapter; return its directory (a PEFT adapter + run records).

    Runs in-process with whatever Accelerate environment is set (none: plain
    Accelerate on this process's device). ``accelerate launch`` sets DeepSpeed.
    """
    run = plan_run(config, overrides, output_dir, resume, overwrite)
    cfg, out = run.cfg, run.out
    accelerator, backend = start_accelerator(cfg)
    main = accelerator.is_main_process
    world, rank = accelerator.num_processes, accelerator.process_index
    data = load_data(cfg, run.base_path, run.data_dir, world, rank)  # may refuse: nothing written
    if main and run.resume_from is None:
        clear_output_dir(out)
        out.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()

    model = build_model(cfg, run.base_path, accelerator, data.total_steps)
    run_info = describe_run(run, data, backend, model.trainable)
    if main:
        atomic.write_json(out / "train_config.json", run_info)
    start_step = 0
    if run.resume_from is not None:
        start_step = load_checkpoint(accelerator, out, run.resume_from, backend)
        if main:
            notice(f"resumed from {run.resume_from} at step {start_step}")

    fit(accelerator, run, data, model, start_step, progress)

    save_adapter(accelerator, model.module, out, backend)
    if main:
        title = f"{cfg.method} on {Path(run.base_path).name}"
        finish_run_info(out, run_info, data.total_steps, title)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out


def fit(
    accelerator: Any, run: Run, data: TrainData, model: Model, start_step: int, progress: bool
) -> None:
    """Steps ``start_step + 1`` to the last: train, log (and evaluate), checkpoint.

    A loss that is not finite stops the run: its files are taken back and no adapter
    is written.
    """
    from tqdm.auto import tqdm

    cfg, total = run.cfg, data.total_steps
    bar = tqdm(
        total=total,
        initial=start_step,
        desc=f"train {cfg.method}",
        disable=not (accelerator.is_main_process and progress),
        dynamic_ncols=True,
    )
    val_batches = data.val_batches()
    window = Window(accelerator.device)
    model.module.train()
    try:
        for step in range(start_step + 1, total + 1):
            batches = data.batches(step - 1)
            for batch, (loss_sum, n) in zip(
                batches, train_step(accelerator, model, batches, cfg, step), strict=True
            ):
                window.add(loss_sum, n, batch)
            bar.update(1)
            last = step == total
            do_eval = bool(data.val_examples) and (step % cfg.eval_steps == 0 or last)
            if step % cfg.logging_steps == 0 or do_eval or last:
                stats = window.read(accelerator)  # before evaluating: train throughput only
                val_loss = evaluate(accelerator, model.module, val_batches) if do_eval else None
                log_step(accelerator, run.out, data, model, step, stats, val_loss, bar)
                window.reset()
            if step % cfg.save_steps == 0 and not last:
                save_checkpoint(accelerator, run.out, step, cfg)
    except Diverged as exc:
        bar.close()
        if accelerator.is_main_process:
            discard_run(run.out, start_step, run.made_dir)
        raise InputError(
            f"training diverged: the {exc.what} at step {exc.step} is not finite (inf or NaN); "
            "no adapter written (lower learning_rate, or set max_grad_norm)",
            run.out,
        ) from None
    bar.close()


def train_step(
    accelerator: Any, model: Model, batches: list[dict[str, Any]], cfg: TrainConfig, step: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Forward and backward on each micro-batch, then one update; each one's (loss sum,
    answer tokens).

    The loss is the mean over the answer tokens of the whole step, all micro-batches and
    processes together. DDP and DeepSpeed average the processes' gradients and Accelerate
    divides each micro-batch's loss by ``gradient_accumulation_steps``, so each divides its
    sum by the step's token count over both. N processes of batch b then take the step one
    process accumulating N batches of b takes, to the bit (a test), and one process of
    batch N*b takes it up to rounding; a mean per process or per micro-batch would weigh
    each one's tokens by the inverse of its own count.
    """
    world, accumulate = accelerator.num_processes, cfg.gradient_accumulation_steps
    mine = torch.tensor(float(sum(b["answer_tokens"] for b in batches)), dtype=torch.float64)
    tokens = accelerator.reduce(mine.to(accelerator.device), "sum") if world > 1 else mine
    scale = world * accumulate / tokens.clamp(min=1)
    results = []
    for batch in batches:
        with accelerator.accumulate(model.module):  # the last micro-batch syncs and steps
            loss_sum, n = model.module(**on_device(batch, accelerator.device))
            if any_not_finite(accelerator, loss_sum):
                raise Diverged("training loss", step)
            accelerator.backward(loss_sum * scale.to(loss_sum.dtype))
            results.append((loss_sum, n))
    if cfg.max_grad_norm and accelerator.state.deepspeed_plugin is None:
        accelerator.clip_grad_norm_(model.params, cfg.max_grad_norm)  # DeepSpeed clips itself
    model.optimizer.step()
    model.scheduler.step()
    model.optimizer.zero_grad()
    return results


class Window:
    """Loss and throughput since the last log line, summed over processes when read."""

    def __init__(self, device: Any):
        self.device = device
        self.losses = torch.zeros(2, dtype=torch.float64, device=device)  # sum, answer tokens
        self.reset()

    def reset(self) -> None:
        self.losses.zero_()
        self.tokens = self.examples = 0
        self.start = time.perf_counter()

    def add(self, loss_sum: torch.Tensor, n: torch.Tensor, batch: dict[str, Any]) -> None:
        self.losses += torch.stack([loss_sum.detach().double(), n.double()])
        self.tokens += batch["tokens"]
        self.examples += batch["examples"]

    def read(self, accelerator: Any) -> tuple[float, float, float]:
        """(train loss per answer token, tokens/s, examples/s) over all processes."""
        counts = torch.tensor([self.tokens, self.examples], device=self.device)
        totals = accelerator.reduce(torch.cat([self.losses, counts]), "sum")
        elapsed = time.perf_counter() - self.start
        train_loss = (totals[0] / totals[1].clamp(min=1)).item()
        return train_loss, totals[2].item() / elapsed, totals[3].item() / elapsed


def log_step(
    accelerator: Any,
    out: Path,
    data: TrainData,
    model: Model,
    step: int,
    stats: tuple[float, float, float],
    val_loss: float | None,
    bar: Any,
) -> None:
    """One line of metrics.jsonl (and the progress bar's loss) from ``Window.read``."""
    train_loss, tokens_per_s, examples_per_s = stats
    if val_loss is not None and not math.isfinite(val_loss):  # same on every process
        raise Diverged("validation loss", step)
    record = {
        "step": step,
        "epoch": round(step / data.steps_per_epoch, 4),
        "train_loss": round(train_loss, 6),
        "val_loss": None if val_loss is None else round(val_loss, 6),
        "tokens_per_s": round(tokens_per_s, 1),
        "examples_per_s": round(examples_per_s, 3),
        "lr": model.scheduler.get_last_lr()[0],
    }
    bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{record['tokens_per_s']:.0f}", refresh=False)
    if accelerator.is_main_process:
        append_metrics(out / "metrics.jsonl", record)


def any_not_finite(accelerator: Any, loss: torch.Tensor) -> bool:
    """Whether ``loss`` is inf or NaN on any process (every process gets the same answer).

    AdamW turns one non-finite gradient into NaN weights, which would then be saved as
    if they were a working adapter.
    """
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if accelerator.num_processes > 1:
        bad = accelerator.reduce(bad, "sum")
    return bool(bad.item())


def evaluate(accelerator: Any, module: Any, batches: list[dict[str, Any]]) -> float:
    """Mean cross-entropy per answer token over the validation batches (all processes)."""
    device = accelerator.device
    module.eval()
    total = torch.zeros(2, dtype=torch.float64, device=device)
    with torch.no_grad():
        for b in batches:
            loss_sum, n = module(**on_device(b, device))
            total += torch.stack([loss_sum.double(), n.double()])
    module.train()
    total = accelerator.reduce(total, "sum")
    return (total[0] / total[1].clamp(min=1)).item()


# --------------------------------------------------------------------------- CLI


def run_from_args(args: argparse.Namespace) -> None:
    """Train as the command line asks (both forms); print where the adapter went.

    ``--plan``: print the memory plan of the config instead (``plan.py``).
    """
    if args.plan:
        from logic_claims.adapters import plan

        result = plan.plan(load_config(config_path(args.config), parse_set(args.set)),
                           args.gpus, args.nodes)  # fmt: skip
        print(plan.plan_json(result) if args.json else plan.format_plan(result))
        return
    out = train(
        config_path(args.config),
        parse_set(args.set),
        args.output_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    if launch.is_main():
        print(f"adapter written to {out}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m logic_claims.adapters.train",
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``accelerate launch ... -m logic_claims.adapters.train``: exit 0, or 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        run_from_args(args)
    except InputError as exc:
        if launch.is_main():  # every process refuses alike; one of them says so
            print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
