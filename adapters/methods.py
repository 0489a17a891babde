"""The PEFT method of a run: ``TrainConfig`` -> a ``peft`` config object.

A new PEFT method needs its name in ``config.METHODS`` (and its settings as
``TrainConfig`` fields with ranges), a branch here, and, if it changes what the model
sees before the text (as prompt and prefix tuning do), a case in
``packed_forward.answer_loss``.
"""

from __future__ import annotations

from typing import Any

from logic_claims.adapters.config import TrainConfig


def peft_config(cfg: TrainConfig, base_path: str) -> Any:
    """The PEFT config of ``cfg.method`` for a causal LM at ``base_path``."""
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
