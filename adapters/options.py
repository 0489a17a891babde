"""The trainer's command-line options, shared by its two forms.

``accelerate launch ... -m logic_claims.adapters.train`` (DeepSpeed, mixed precision,
several GPUs) and ``logic-claims train`` (the short form, in this process with plain
Accelerate) take the same arguments, described here once.
"""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Train a PEFT adapter (prompt tuning, LoRA, IA3, prefix tuning) on the logic-claims
train split, formatted with the same prompt as the lm-eval tasks, and write a
standard PEFT adapter directory (adapter_config.json + adapter_model.safetensors)
plus train_config.json, metrics.jsonl and loss.png.

This short form runs in this process with plain Accelerate (no DeepSpeed). For the
study's setup (ZeRO-3, CPU offload, fp16 on a GPU) use the long form:
  accelerate launch --config_file ds_zero3_cpu.yaml -m logic_claims.adapters.train \\
      --config adapters/configs/prompt_tuning.yaml [--set KEY=VALUE ...]
(on a machine without a GPU it falls back to plain Accelerate in fp32 and says so).
"""


EPILOG = """\
examples:
  # the study's setup (ZeRO-3, CPU offload, fp16) on a GPU; on a CPU-only machine the
  # same command trains with plain Accelerate in fp32 and says so
  accelerate launch --config_file ds_zero3_cpu.yaml -m logic_claims.adapters.train \\
      --config adapters/configs/prompt_tuning.yaml --output-dir runs/adapters/pt

  # a short LoRA run on the embedded model, then lm-eval on it
  logic-claims train --config lora --set max_steps=50 --set max_train_examples=600 \\
      --output-dir runs/adapters/lora-small
  lm_eval --model hf --include_path tasks --tasks logic_claims \\
      --model_args pretrained=$(logic-claims model path),peft=runs/adapters/lora-small

  # continue after an interruption (same config, same data order, same result)
  logic-claims train --config lora --set max_steps=50 --output-dir runs/adapters/lora-small --resume

  # two processes (DDP over gloo on a CPU; on GPUs one per GPU): see docs/scaling.md
  accelerate launch --multi_gpu --num_processes 2 -m logic_claims.adapters.train --config lora

  # memory per GPU of the study's run on 8 GPUs, before renting them
  logic-claims train --config peft8 --set base_model=llama-2-7b --plan --gpus 8
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        required=True,
        help="YAML config: a path, or a shipped name (prompt_tuning, lora, ia3, prefix_tuning, "
        "peft8, peft4, contrast_mix)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one config key (repeatable), e.g. --set max_steps=100 "
        "--set base_model=PATH --set seed=1",
    )
    parser.add_argument(
        "--output-dir", help="where the adapter goes (default: runs/adapters/<config name>)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue from the last checkpoint in --output-dir"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an adapter already in --output-dir"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    plan = parser.add_argument_group(
        "memory plan (--plan: nothing is trained and no weights are loaded)"
    )
    plan.add_argument(
        "--plan",
        action="store_true",
        help="print the memory per GPU of this config under ZeRO 0/2/3 with and without "
        "offload, and the micro-batch's activations (base_model: a local directory with "
        "config.json, or llama-2-7b / llama-2-13b / llama-2-70b)",
    )
    plan.add_argument("--gpus", type=_count, default=1, help="GPUs per machine (default 1)")
    plan.add_argument("--nodes", type=_count, default=1, help="machines (default 1)")
    plan.add_argument("--json", action="store_true", help="the plan as JSON")


def _count(text: str) -> int:
    """A whole number from 1 to 100000 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 100000, got {text!r}")
    return value
