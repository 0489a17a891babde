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
