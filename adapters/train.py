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
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from logic_claims.adapters.config import TrainConfig, config_path, load_config, parse_set
from logic_claims.adapters.options import EPILOG, add_arguments
from logic_claims.tasks import io as atomic
from logic_claims.tasks.data import built_dataset_dir, load_split, sha256_file, stable_hash
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import PROMPT_VERSION, TARGET_DELIMITER, format_prompt

PROG = "logic-claims train"
ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
# What a run writes at the top of its output directory (--overwrite removes only these).
OUTPUT_FILES = (*ADAPTER_FILES, "README.md", "train_config.json", "metrics.jsonl", "loss.png")
CHECKPOINTS = "checkpoints"
IGNORE = -100


def notice(message: str) -> None:
    print(f"{PROG}: notice: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Example:
    ids: tuple[int, ...]
    n_context: int  # prompt tokens; the rest (answer + EOS) carry the loss


def select_records(records: list[dict[str, Any]], cfg: TrainConfig, train: bool) -> list[dict]:
    """The claims a run uses, in a stable order that does not depend on the seed."""
    records = [r for r in records if r["quantifier"] in cfg.quantifiers]
    records.sort(key=lambda r: stable_hash(r["id"]))
    if train and cfg.examples_per_generic:
        # The study's later iterations kept one exemplar per generic (and quantifier).
        seen: dict[tuple[str, str], int] = {}
        kept = []
        for r in records:
            key = (r["generic"], r["quantifier"])
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= cfg.examples_per_generic:
                kept.append(r)
        records = kept
    limit = cfg.max_train_examples if train else cfg.max_val_examples
    return records[:limit] if limit else records


def encode(tokenizer: Any, records: list[dict], cfg: TrainConfig) -> tuple[list[Example], int]:
    """Tokenize as lm-eval does: the context alone (tokenizer defaults), then the answer.

    The generation task's context is ``format_prompt(claim)`` and the model continues
    after ``TARGET_DELIMITER``, so the answer tokens are exactly what it should generate.
    """
    contexts = tokenizer([format_prompt(r["claim"]) for r in records])["input_ids"]
    answers = tokenizer(
        [TARGET_DELIMITER + r["target"] for r in records], add_special_tokens=False
    )["input_ids"]
    eos = [tokenizer.eos_token_id] if cfg.add_eos and tokenizer.eos_token_id is not None else []
    examples, dropped = [], 0
    for context, answer in zip(contexts, answers, strict=True):
        ids = tuple(context + answer + eos)
        if len(ids) > cfg.max_length:
            dropped += 1
            continue
        examples.append(Example(ids, len(context)))
    return examples, dropped


def epoch_batches(
    examples: list[Example], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Random batches of example indices for one epoch (the study's shuffled loader).

    A function of (seed, epoch) only, so a resumed run sees exactly the batches an
    uninterrupted one would. Batches are not grouped by length: packing leaves no
    padding anyway, and length tracks the kind of claim (exceptions are long,
    instances short), so length-grouped batches skew each step (measured: prompt
    tuning's validation loss after 22 steps was 1.78-1.81 with them, 1.61 without).
    """
    order = list(range(len(examples)))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(batch: list[Example], pad_id: int, packed: bool = True) -> dict[str, Any]:
    """Tensors for ``answer_loss``: the prefix all rows share, then the rest.

    packed (default): the prompt prefix common to the batch (the instruction) once, then
    the examples' remaining tokens back to back, ``EXAMPLES_PER_ROW`` to a row, with
    ``segments`` telling which example each token belongs to (-1: padding, ~1%).
    padded: one right-padded row per example (for gradient checkpointing, which
    cannot use the key/value cache the shared prefix needs).
    ``targets[r, k]`` is the token that position k should predict when it is an
    answer token, else IGNORE; ``positions`` count from the start of the text.
    """
    prefix = 0
    if packed:
        # Longest common prefix, ending before the last context token (which must
        # predict the first answer token in the per-example part).
        limit = min(e.n_context for e in batch) - 1
        first = batch[0].ids
        while prefix < limit and all(e.ids[prefix] == first[prefix] for e in batch):
            prefix += 1
    rows, targets, positions, segments = [], [], [], []
    for index, e in enumerate(batch):
        rest = range(prefix, len(e.ids))
        rows.append([e.ids[a] for a in rest])
        targets.append(
            [e.ids[a + 1] if e.n_context <= a + 1 < len(e.ids) else IGNORE for a in rest]
        )
        positions.append(list(rest))
        segments.append([index] * len(rest))
    if packed:
        # A few examples per row: no padding to speak of, while attention (quadratic in
        # the row length) stays small. Longest first into the shortest row balances them.
        n_rows = -(-len(batch) // EXAMPLES_PER_ROW)
        bins: list[list[int]] = [[] for _ in range(n_rows)]
        for i in sorted(range(len(batch)), key=lambda i: -len(rows[i])):
            min(bins, key=lambda b: sum(len(rows[j]) for j in b)).append(i)
        rows, targets, positions, segments = (
            [[x for i in b for x in table[i]] for b in bins]
            for table in (rows, targets, positions, segments)
        )
    width = max(len(r) for r in rows)
    pad = [width - len(r) for r in rows]
    rows = [r + [pad_id] * n for r, n in zip(rows, pad, strict=True)]
    targets = [t + [IGNORE] * n for t, n in zip(targets, pad, strict=True)]
    positions = [p + list(range(len(p), len(p) + n)) for p, n in zip(positions, pad, strict=True)]
    segments = [g + [-1] * n for g, n in zip(segments, pad, strict=True)]  # -1: padding
    return {
        "prefix_ids": torch.tensor([batch[0].ids[:prefix]], dtype=torch.long),
        "input_ids": torch.tensor(rows, dtype=torch.long),
        "targets": torch.tensor(targets, dtype=torch.long),
        "positions": torch.tensor(positions, dtype=torch.long),
        "segments": torch.tensor(segments, dtype=torch.long) if packed else None,
        "tokens": sum(len(e.ids) for e in batch),
        "examples": len(batch),
    }


EXAMPLES_PER_ROW = 4
TENSOR_KEYS = ("prefix_ids", "input_ids", "targets", "positions", "segments")


# --------------------------------------------------------------------------- model


def peft_config(cfg: TrainConfig, base_path: str) -> Any:
    from peft import (
        IA3Config,
        LoraConfig,
        PrefixTuningConfig,
        PromptTuningConfig,
        PromptTuningInit,
        TaskType,
    )

    task = TaskType.CAUSAL_LM
    if cfg.method == "prompt_tuning":
        text = cfg.prompt_init == "text"
        return PromptTuningConfig(
            task_type=task,
            num_virtual_tokens=cfg.num_virtual_tokens,
            prompt_tuning_init=PromptTuningInit.TEXT if text else PromptTuningInit.RANDOM,
            prompt_tuning_init_text=cfg.prompt_init_text if text else None,
            tokenizer_name_or_path=base_path if text else None,
        )
    if cfg.method == "lora":
        return LoraConfig(
            task_type=task,
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=cfg.target_modules,
        )
    if cfg.method == "ia3":
        return IA3Config(
            task_type=task,
            target_modules=cfg.target_modules,
            feedforward_modules=cfg.feedforward_modules,
        )
    return PrefixTuningConfig(task_type=task, num_virtual_tokens=cfg.num_virtual_tokens)


def answer_loss(
    peft_model: Any,
    prefix_ids: torch.Tensor,
    input_ids: torch.Tensor,
    targets: torch.Tensor,
    positions: torch.Tensor,
    segments: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed cross-entropy over the answer tokens, and how many there are (see ``collate``).

    Same value as PEFT's ``model(input_ids, labels=labels).loss`` times the count, but:
    the prefix every example shares (the instruction, led by the soft prompt or the
    prefix key/values) runs once, at batch size 1, and the packed rest attends to its
    key/value cache (gradients flow back through it); and the LM head (49k wide for
    SmolLM2) runs only at positions that predict an answer token. PEFT's prompt tuning
    prepends IGNORE labels, so ``logits_to_keep`` with ``labels`` would misalign: the
    loss is computed here.
    """
    from peft import PeftType

    lm = peft_model.get_base_model()
    decoder, head, embed = lm.get_decoder(), lm.get_output_embeddings(), lm.get_input_embeddings()
    config = peft_model.active_peft_config
    rows = input_ids.shape[0]
    lead, cache, offset = None, None, 0
    first = 1 if segments is not None else rows  # packed: the shared part runs once
    if config.peft_type == PeftType.PROMPT_TUNING:
        lead = peft_model.get_prompt(batch_size=first)
        offset = config.num_virtual_tokens
    elif config.peft_type == PeftType.PREFIX_TUNING:
        cache = peft_model.get_prompt(batch_size=first, max_cache_len=input_ids.shape[1])
        offset = config.num_virtual_tokens

    if segments is not None:
        if lead is not None or prefix_ids.shape[1]:
            # Shared part: soft prompt + common prefix, once, into the key/value cache.
            parts = [] if lead is None else [lead]
            if prefix_ids.shape[1]:
                parts.append(embed(prefix_ids))
            embeds = torch.cat([p.to(parts[-1].dtype) for p in parts], dim=1)
            cache = decoder(inputs_embeds=embeds, cache=cache, use_cache=True).cache
            lead = None
        if cache is not None and rows > 1:
            cache.batch_repeat_interleave(rows)
    embeds = embed(input_ids)
    if lead is not None:  # padded rows: the soft prompt leads each row
        embeds = torch.cat([lead.to(embeds.dtype), embeds], dim=1)
    kwargs: dict[str, Any] = {}
    if segments is not None:
        # Packed examples: causal inside each example, all of them see the cache.
        past = cache.get_seq_length() if cache is not None else 0
        own = (segments[:, :, None] == segments[:, None, :]).tril()
        visible = torch.ones(*own.shape[:2], past, dtype=torch.bool, device=own.device)
        kwargs["attention_mask"] = torch.cat([visible, own], dim=2)[:, None]
        kwargs["position_ids"] = positions + offset
    out = decoder(inputs_embeds=embeds, cache=cache, use_cache=cache is not None, **kwargs)
    hidden = out.last_hidden_state
    if lead is not None:
        hidden = hidden[:, lead.shape[1] :]
    mask = targets != IGNORE
    logits = head(hidden[mask])
    loss_sum = torch.nn.functional.cross_entropy(logits.float(), targets[mask], reduction="sum")
    return loss_sum, mask.sum()


class AnswerLoss(torch.nn.Module):
    """The PEFT model behind a forward that returns (loss sum, answer tokens).

    Accelerate/DeepSpeed wrap this module, so ZeRO-3 sees one root forward per step.
    """

    def __init__(self, peft_model: Any):
        super().__init__()
        self.model = peft_model

    def forward(self, **batch: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        return answer_loss(self.model, **batch)


def on_device(batch: dict[str, Any], device: Any) -> dict[str, torch.Tensor | None]:
    return {k: None if batch[k] is None else batch[k].to(device) for k in TENSOR_KEYS}


# --------------------------------------------------------------------------- launch


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
        if precision == "fp16":
            precision = "no"
            notes.append("fp16 set aside for fp32 (DeepSpeed refuses fp16 on CPU)")
        if requested_ds and cfg.cpu_backend != "deepspeed":
            use_ds = False
            notes.append("DeepSpeed set aside: plain Accelerate (cpu_backend=deepspeed keeps it)")
        if precision == "bf16":
            notes.append("bf16 on CPU is ~30x slower than fp32 without AMX")
    if use_ds != requested_ds:  # the launcher's variables would re-enable DeepSpeed
        os.environ["ACCELERATE_USE_DEEPSPEED"] = "false"
    if precision != requested_precision:
        os.environ["ACCELERATE_MIXED_PRECISION"] = precision
    if use_ds and not gpu:
        notes.append("DeepSpeed kept in fp32 on CPU, without offload (nothing to offload to)")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if use_ds and not gpu and world == 1:
        # One CPU process has nothing to all-reduce; DeepSpeed would otherwise JIT-compile
        # its shared-memory collective op (minutes) before the first step. The dict is
        # DeepSpeed's documented, mutable probe cache.
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


def git_commit() -> dict[str, Any]:
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def resolve_base_model(name: str) -> str:
    """The base model's local path (embedded names are converted once) or hub id."""
    from logic_claims.tasks.models import resolve_model

    path = resolve_model(name)
    local = Path(path)
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise InputError("base model directory has no config.json", local)
        return str(local)
    from transformers import AutoConfig

    try:  # a hub id: only its config, from the cache when offline
        AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise InputError(
            "base model not found (not a directory, nor a reachable hub id)", path
        ) from exc
    return path


def resolve_data_dir(cfg: TrainConfig) -> Path:
    if cfg.data_dir is None:
        return built_dataset_dir()
    path = Path(cfg.data_dir)
    for name in ("train.jsonl", "validation.jsonl", "manifest.json"):
        if not (path / name).is_file():
            raise InputError(
                f"not a built dataset (no {name}); run `logic-claims data build`", path
            )
    return path


# --------------------------------------------------------------------------- output dir


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints, oldest first (trainer_state.json is written last)."""
    root = out / CHECKPOINTS
    found = [p for p in root.glob("step-*") if (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def check_output_dir(out: Path, resume: bool, overwrite: bool) -> Path | None:
    """Refuse to clobber a finished adapter; return the checkpoint to resume from."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite contradict each other; pass one")
    finished = (out / "adapter_config.json").is_file()
    found = checkpoints(out) if out.is_dir() else []
    if resume:
        if finished:
            raise InputError("already holds a finished adapter; nothing to resume", out)
        if not found:
            raise InputError(f"no checkpoint to resume from in {CHECKPOINTS}/", out)
        return found[-1]
    if (finished or found) and not overwrite:
        what = "an adapter" if finished else "checkpoints of an unfinished run (--resume?)"
        raise InputError(f"already holds {what}; pass --overwrite to replace it", out)
    # A fresh run removes OUTPUT_FILES first: only ever those a run wrote.
    ours = finished or found or (out / "train_config.json").is_file()
    clash = [name for name in (*OUTPUT_FILES, CHECKPOINTS) if (out / name).exists()]
    if clash and not ours:
        raise InputError(
            f"holds {', '.join(clash)} that no training run wrote; "
            "give a new or empty --output-dir",
            out,
        )
    return None


def clear_output_dir(out: Path) -> None:
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)


def discard_run(out: Path, start_step: int, made_dir: bool) -> None:
    """Take back what a run that failed after ``start_step`` wrote to ``out``.

    A fresh run leaves no file of its own (and no ``out`` it created); a resumed run
    keeps the checkpoints and metrics it resumed from and drops the later ones.
    """
    if start_step == 0:
        clear_output_dir(out)
        if made_dir and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        return
    for checkpoint in checkpoints(out):
        if int(checkpoint.name.split("-")[1]) > start_step:
            shutil.rmtree(checkpoint, ignore_errors=True)
    metrics = out / "metrics.jsonl"
    atomic.write_jsonl(metrics, [r for r in _read_metrics(metrics) if r["step"] <= start_step])


def any_not_finite(accelerator: Any, loss: torch.Tensor) -> bool:
    """Whether ``loss`` is inf or NaN on any process (every process gets the same answer).

    AdamW turns one non-finite gradient into NaN weights, which would then be saved as
    if they were a working adapter.
    """
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if accelerator.num_processes > 1:
        bad = accelerator.reduce(bad, "sum")
    return bool(bad.item())


def plot_losses(records: list[dict[str, Any]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    train = [(r["step"], r["train_loss"]) for r in records if r.get("train_loss") is not None]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("val_loss") is not None]
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, label="train (answer tokens)", color="#4C72B0")
    if val:
        steps, losses = zip(*val, strict=True)
        ax.plot(steps, losses, "o-", label="validation", color="#DD8452")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy per answer token")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------- train


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
        state = json.loads((resume_from / "trainer_state.json").read_text())
        if state["config_digest"] != cfg.digest():
            diff = sorted(k for k, v in cfg.to_dict().items() if state["config"].get(k) != v)
            raise InputError(
                f"--resume with a config that differs from the checkpoint's ({', '.join(diff)})",
                resume_from,
            )

    backend = choose_backend(cfg)
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import AutoModelForCausalLM, AutoTokenizer, get_scheduler

    accelerator = Accelerator(
        mixed_precision={"fp32": "no"}.get(backend["precision"], backend["precision"]),
        cpu=backend["device"] == "cpu" and backend["name"] != "deepspeed",
    )
    main = accelerator.is_main_process
    if main and backend["notice"]:
        notice(backend["notice"])
    world, rank = accelerator.num_processes, accelerator.process_index
    ds_plugin = accelerator.state.deepspeed_plugin
    if ds_plugin is not None:
        ds = ds_plugin.deepspeed_config
        ds["train_micro_batch_size_per_gpu"] = cfg.batch_size
        ds["train_batch_size"] = cfg.batch_size * world * ds.get("gradient_accumulation_steps", 1)
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
    backend["num_processes"] = world
    if main and resume_from is None:
        clear_output_dir(out)
        out.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()

    # Data: the train split as lm-eval will ask it, tokenized once.
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    train_records = select_records(load_split(data_dir, "train"), cfg, train=True)
    val_records = select_records(load_split(data_dir, "validation"), cfg, train=False)
    examples, dropped = encode(tokenizer, train_records, cfg)
    val_examples, _ = encode(tokenizer, val_records, cfg)
    if len(examples) < world:
        raise InputError(f"too few training examples ({len(examples)}) for {world} processes")
    steps_per_epoch = len(epoch_batches(examples, cfg.batch_size, 0, 0)) // world
    total_steps = cfg.max_steps or cfg.num_epochs * steps_per_epoch
    # Gradient checkpointing runs layers without a KV cache: padded rows, no sharing.
    packed = cfg.packing and not cfg.gradient_checkpointing
    val_order = sorted(range(len(val_examples)), key=lambda i: len(val_examples[i].ids))
    val_batches = [
        collate([val_examples[i] for i in val_order[s : s + cfg.batch_size]], pad_id, packed)
        for s in range(rank * cfg.batch_size, len(val_order), cfg.batch_size * world)
    ]

    # Model: base (frozen) + adapter; seed first so adapter init is reproducible.
    set_seed(cfg.seed)
    from peft import get_peft_model

    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=torch.float32)
    if cfg.gradient_checkpointing:
        base.gradient_checkpointing_enable()
        base.enable_input_require_grads()
    peft_model = get_peft_model(base, peft_config(cfg, base_path))
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    # Accelerate steps a prepared scheduler once per process per step.
    scheduler = get_scheduler(
        cfg.lr_schedule if cfg.lr_schedule != "constant" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=cfg.warmup_steps * world,
        num_training_steps=total_steps * world,
    )
    module, optimizer, scheduler = accelerator.prepare(AnswerLoss(peft_model), optimizer, scheduler)
    trainable_names = {
        n for n, p in accelerator.unwrap_model(module).named_parameters() if p.requires_grad
    }

    def keep_adapter_only(models: list, weights: list, _dir: str) -> None:
        # Plain Accelerate would checkpoint the whole base model; the adapter is enough.
        for i, state in enumerate(weights):
            weights[i] = {k: v for k, v in state.items() if k in trainable_names}

    accelerator.register_save_state_pre_hook(keep_adapter_only)

    run_info = {
        "config": cfg.to_dict(),
        "config_file": str(config) if isinstance(config, (str, Path)) else None,
        "overrides": overrides or {},
        "base_model": {"name": cfg.base_model, "path": base_path},
        "data": {
            "dir": str(data_dir.resolve()),
            "manifest_sha256": sha256_file(data_dir / "manifest.json"),
            "prompt_version": PROMPT_VERSION,
            "train_examples": len(examples),
            "train_examples_dropped_too_long": dropped,
            "val_examples": len(val_examples),
        },
        "backend": backend,
        "git": git_commit(),
        "trainable_parameters": trainable,
        "total_steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "versions": _versions(),
    }
    if main:
        atomic.write_json(out / "train_config.json", run_info)

    start_step = 0
    metrics_path = out / "metrics.jsonl"
    if resume_from is not None:
        if backend["name"] == "deepspeed":
            accelerator.load_state(str(resume_from), load_module_strict=False)
        else:
            accelerator.load_state(str(resume_from), strict=False)
        start_step = json.loads((resume_from / "trainer_state.json").read_text())["step"]
        if main:
            kept = [r for r in _read_metrics(metrics_path) if r["step"] <= start_step]
            atomic.write_jsonl(metrics_path, kept)
            notice(f"resumed from {resume_from} at step {start_step}")

    device = accelerator.device
    cache: dict[int, list[list[int]]] = {}

    def batch_for(step: int) -> dict[str, Any]:
        epoch, index = divmod(step, steps_per_epoch)
        if epoch not in cache:
            cache.clear()
            cache[epoch] = epoch_batches(examples, cfg.batch_size, cfg.seed, epoch)
        chosen = [examples[i] for i in cache[epoch][index * world + rank]]
        return collate(chosen, pad_id, packed)

    from tqdm.auto import tqdm

    bar = tqdm(
        total=total_steps,
        initial=start_step,
        desc=f"train {cfg.method}",
        disable=not (main and progress),
        dynamic_ncols=True,
    )

    def give_up(what: str, step: int) -> InputError:
        """A diverged run: its files are taken back and no adapter is written."""
        bar.close()
        if main:
            discard_run(out, start_step, made_dir)
        return InputError(
            f"training diverged: the {what} at step {step} is not finite (inf or NaN); "
            "no adapter written (lower learning_rate, or set max_grad_norm)",
            out,
        )

    window = torch.zeros(2, dtype=torch.float64, device=device)  # loss sum, answer tokens
    window_tokens = window_examples = 0
    window_start = time.perf_counter()
    module.train()
    val_loss = None
    for step in range(start_step + 1, total_steps + 1):
        b = batch_for(step - 1)
        loss_sum, n = module(**on_device(b, device))
        if any_not_finite(accelerator, loss_sum):
            raise give_up("training loss", step)
        accelerator.backward(loss_sum / n.clamp(min=1))
        if cfg.max_grad_norm and ds_plugin is None:
            accelerator.clip_grad_norm_(params, cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        window += torch.stack([loss_sum.detach().double(), n.double()])
        window_tokens += b["tokens"]
        window_examples += b["examples"]
        bar.update(1)

        last = step == total_steps
        do_eval = bool(val_examples) and (step % cfg.eval_steps == 0 or last)
        if step % cfg.logging_steps == 0 or do_eval or last:
            totals = accelerator.reduce(
                torch.cat([window, torch.tensor([window_tokens, window_examples], device=device)]),
                "sum",
            )
            elapsed = time.perf_counter() - window_start
            train_loss = (totals[0] / totals[1].clamp(min=1)).item()
            val_loss = evaluate(accelerator, module, val_batches) if do_eval else None
            if val_loss is not None and not math.isfinite(val_loss):  # same on every process
                raise give_up("validation loss", step)
            record = {
                "step": step,
                "epoch": round(step / steps_per_epoch, 4),
                "train_loss": round(train_loss, 6),
                "val_loss": None if val_loss is None else round(val_loss, 6),
                "tokens_per_s": round(totals[2].item() / elapsed, 1),
                "examples_per_s": round(totals[3].item() / elapsed, 3),
                "lr": scheduler.get_last_lr()[0],
            }
            bar.set_postfix(
                loss=f"{train_loss:.3f}", tok_s=f"{record['tokens_per_s']:.0f}", refresh=False
            )
            if main:
                with metrics_path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(record) + "\n")
            window.zero_()
            window_tokens = window_examples = 0
            window_start = time.perf_counter()
        if step % cfg.save_steps == 0 and not last:
            save_checkpoint(accelerator, out, step, cfg)
    bar.close()

    save_adapter(accelerator, module, out, backend)
    if main:
        records = _read_metrics(metrics_path)
        finals = [r["val_loss"] for r in records if r.get("val_loss") is not None]
        run_info["final_val_loss"] = finals[-1] if finals else None
        run_info["steps_done"] = total_steps
        atomic.write_json(out / "train_config.json", run_info)
        plot_losses(records, out / "loss.png", f"{cfg.method} on {Path(base_path).name}")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return out


def save_checkpoint(accelerator: Any, out: Path, step: int, cfg: TrainConfig) -> None:
    """Adapter + optimizer + scheduler + RNG state, written aside then renamed into place."""
    root = out / CHECKPOINTS
    final, tmp = root / f"step-{step:07d}", root / f".step-{step:07d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    if accelerator.state.deepspeed_plugin is not None:
        accelerator.save_state(str(tmp), exclude_frozen_parameters=True)
    else:
        accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state = {"step": step, "config_digest": cfg.digest(), "config": cfg.to_dict()}
        atomic.write_json(tmp / "trainer_state.json", state)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in checkpoints(out)[: -cfg.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def save_adapter(accelerator: Any, module: Any, out: Path, backend: dict[str, Any]) -> None:
    """``save_pretrained`` of the adapter; under ZeRO-3 its shards are gathered first.

    Without the gather each partitioned tensor saves as shape (0,), which PEFT/lm-eval
    then refuse to load. Files are written aside; adapter_config.json moves in last,
    so its presence means a complete adapter.
    """
    peft_model = accelerator.unwrap_model(module).model
    tmp = out / ".adapter.tmp"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    if backend["name"] == "deepspeed":
        import deepspeed

        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        with deepspeed.zero.GatheredParameters(trainable, modifier_rank=None):
            peft_model.save_pretrained(tmp, is_main_process=main)
    else:
        peft_model.save_pretrained(tmp, is_main_process=main)
    if main:
        names = ("adapter_model.safetensors", "README.md", "adapter_config.json")
        for name in names:
            if (tmp / name).exists():
                os.replace(tmp / name, out / name)
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    return atomic.read_jsonl(path) if path.is_file() else []


def _versions() -> dict[str, str]:
    import importlib.metadata

    names = ("torch", "transformers", "peft", "accelerate", "deepspeed")
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# --------------------------------------------------------------------------- CLI


def run_from_args(args: argparse.Namespace) -> None:
    out = train(
        config_path(args.config),
        parse_set(args.set),
        args.output_dir,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    if int(os.environ.get("RANK", "0")) == 0:
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
    args = build_parser().parse_args(argv)
    try:
        run_from_args(args)
    except InputError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
