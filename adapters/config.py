"""The typed training configuration: YAML file + ``--set key=value`` overrides.

Kept free of torch so ``logic-claims train --help`` and config errors are instant.
Every key is a field of ``TrainConfig``: its type is the field's type hint and its range
the field's metadata (``in_range``); ``tasks/settings.py`` parses and checks each key as
it is read. An unknown key, a value of the wrong type or out of range, or a setting that
cannot work is a one-line ``InputError`` naming the file and line (or ``--set``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.contrast import FAMILY_NAMES
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import load_yaml, read_text
from logic_claims.tasks.models import DEFAULT_MODEL
from logic_claims.tasks.prompt import INSTRUCTION
from logic_claims.tasks.settings import SEED_RANGE, Range, in_range, parse, ranges

METHODS = ("prompt_tuning", "lora", "ia3", "prefix_tuning")
CPU_BACKENDS = ("plain", "deepspeed")
SCHEDULES = ("linear", "constant", "cosine")
CONFIGS_DIR = Path(__file__).resolve().parent / "configs"

POSITIVE, COUNT = in_range(1), in_range(0)  # a count of at least one; any count
POSITIVE_REAL = in_range(0.0, math.inf, low_open=True)


@dataclass
class TrainConfig:
    """All settings of one adapter training run (the YAML keys)."""

    method: str = "prompt_tuning"
    # Embedded model name (see `logic-claims model path`), local HF directory or hub id.
    base_model: str = field(default=DEFAULT_MODEL, metadata={"nonblank": True})
    # A built dataset (`logic-claims data build --out DIR`); null: the cached build of
    # $LOGIC_CLAIMS_DATA (or of the verified download).
    data_dir: str | None = None

    # prompt tuning / prefix tuning
    num_virtual_tokens: int = field(default=8, metadata=POSITIVE)
    prompt_init: str = "text"  # text | random (prompt tuning only)
    prompt_init_text: str = INSTRUCTION
    # LoRA / IA3 (null target_modules: PEFT's default for the architecture)
    lora_r: int = field(default=8, metadata=POSITIVE)
    lora_alpha: int = field(default=16, metadata=POSITIVE)
    # a dropout of 1 drops everything
    lora_dropout: float = field(default=0.0, metadata=in_range(0.0, 1.0, high_open=True))
    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None  # IA3 only

    # optimisation (AdamW)
    learning_rate: float = field(default=3e-2, metadata=POSITIVE_REAL)
    weight_decay: float = field(default=0.0, metadata=in_range(0.0, math.inf))
    batch_size: int = field(default=12, metadata=POSITIVE)
    # Micro-batches of batch_size whose gradients are summed into one optimizer step:
    # a step takes batch_size x this x processes examples (docs/scaling.md).
    gradient_accumulation_steps: int = field(default=1, metadata=POSITIVE)
    num_epochs: int = field(default=1, metadata=POSITIVE)
    max_steps: int = field(default=0, metadata=COUNT)  # > 0 overrides num_epochs
    lr_schedule: str = "linear"
    warmup_steps: int = field(default=0, metadata=COUNT)
    max_grad_norm: float | None = field(default=1.0, metadata=POSITIVE_REAL)
    seed: int = field(default=0, metadata=SEED_RANGE)
    gradient_checkpointing: bool = False

    # data
    quantifiers: list[str] = field(default_factory=lambda: list(QUANTIFIERS))
    # per generic and quantifier; 0 = every exemplar
    examples_per_generic: int = field(default=0, metadata=COUNT)
    max_train_examples: int = field(default=0, metadata=COUNT)  # 0 = all
    max_val_examples: int = field(default=256, metadata=COUNT)
    # longer examples are dropped (counted in train_config.json)
    max_length: int = field(default=256, metadata=POSITIVE)
    add_eos: bool = True  # the model learns to stop after its explanation
    # The contrast mix (adapters/configs/contrast_mix.yaml): contrast claims of the
    # train split's generics (contrast_train.jsonl, families in tasks/contrast.py) added
    # to the standard claims, this many per standard claim; 0: standard claims only.
    contrast_ratio: float = field(default=0.0, metadata=in_range(0.0, 10.0))
    # the families mixed in (those left out stay unseen); null: every family
    contrast_families: list[str] | None = None

    # speed (see docs/performance.md)
    # Pack each batch into one row (no padding) with the shared prompt prefix run once.
    # false: padded rows (also what gradient_checkpointing uses).
    packing: bool = True

    # bookkeeping
    logging_steps: int = field(default=10, metadata=POSITIVE)
    eval_steps: int = field(default=100, metadata=POSITIVE)
    save_steps: int = field(default=100, metadata=POSITIVE)
    # the last checkpoint is what --resume uses
    save_total_limit: int = field(default=1, metadata=POSITIVE)

    # Launch: on a machine without a GPU, `ds_zero3_cpu.yaml` asks for something the CPU
    # cannot do (DeepSpeed refuses fp16). "plain" trains with plain Accelerate in fp32;
    # "deepspeed" keeps DeepSpeed (ZeRO stage from the launch config) in fp32.
    cpu_backend: str = "plain"
    # DeepSpeed's stage3_param_persistence_threshold (null: DeepSpeed's default, 1e5
    # elements). 0 partitions every parameter, as a 7B model's would be.
    ds_param_persistence_threshold: int | None = field(default=None, metadata=COUNT)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """sha256 of the resolved config: what `--resume` compares."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


# Every numeric field's range, from the field metadata (a test checks none is missing).
_HINTS = typing.get_type_hints(TrainConfig)
INT_RANGES: dict[str, Range] = {
    k: r for k, r in ranges(TrainConfig).items() if int in (_HINTS[k], *typing.get_args(_HINTS[k]))
}
FLOAT_RANGES: dict[str, Range] = {
    k: r for k, r in ranges(TrainConfig).items() if k not in INT_RANGES
}


def _parse(mapping: dict[str, Any], where: str | Path, text: str | None = None) -> dict[str, Any]:
    """``mapping``'s keys as ``TrainConfig`` fields, each checked (``tasks.settings.parse``)."""
    return parse(TrainConfig, mapping, where, text=text, noun="config key")


def parse_set(items: list[str] | None) -> dict[str, Any]:
    """``["lr=1", "seed=3"]`` (from ``--set``) -> dict; values are parsed as YAML scalars.

    A value that is not valid YAML stays a string; one whose aliases expand beyond a
    small bound is refused.
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set expects key=value, got {clip(item)}")
        try:
            out[key.strip()] = load_yaml(raw, f"--set {key.strip()[:40]}", max_nodes=1000)
        except InputError as exc:
            if not isinstance(exc.__cause__, yaml.YAMLError):
                raise
            out[key.strip()] = raw
        if out[key.strip()] is None and not raw.strip():
            out[key.strip()] = ""
    return out


def config_path(name_or_path: str | Path) -> Path:
    """A config file path, or the name of one shipped in adapters/configs/ (``lora``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = CONFIGS_DIR / f"{path.stem}.yaml"
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml")))
    raise InputError(f"no such config file (shipped configs: {names})", path)


def load_config(
    source: str | Path | dict[str, Any] | TrainConfig | None,
    overrides: dict[str, Any] | None = None,
) -> TrainConfig:
    """Resolve a config: YAML path (or shipped name), dict or TrainConfig, plus overrides.

    Each key is checked as it is read (type, range; the file and line of a bad one), then
    the whole config by :func:`validate`.
    """
    values: dict[str, Any] = {}
    if isinstance(source, TrainConfig):
        values = _parse(source.to_dict(), "config")
    elif isinstance(source, dict):
        values = _parse(source, "config")
    elif source is not None:
        path = config_path(source)
        text = read_text(path, empty=None)
        loaded = load_yaml(text, path) or {}
        if not isinstance(loaded, dict):
            raise InputError("expected a mapping of config keys", path)
        values = _parse(loaded, path, text)
    values.update(_parse(overrides or {}, "--set"))
    config = TrainConfig(**values)
    validate(config)
    return config


def validate(c: TrainConfig) -> None:
    """Refuse settings that cannot work together, before any model is loaded.

    Types and ranges were checked key by key (:func:`load_config`); this checks names
    and the settings that depend on each other.
    """
    if c.method not in METHODS:
        raise InputError(f"unknown method {clip(c.method)}; choose from {', '.join(METHODS)}")
    if c.prompt_init not in ("text", "random"):
        raise InputError(f"prompt_init must be text or random, got {clip(c.prompt_init)}")
    if c.method == "prompt_tuning" and c.prompt_init == "text" and not c.prompt_init_text.strip():
        raise InputError("prompt_init_text may not be empty with prompt_init: text")
    if c.lr_schedule not in SCHEDULES:
        raise InputError(f"lr_schedule must be one of {', '.join(SCHEDULES)}")
    if c.cpu_backend not in CPU_BACKENDS:
        raise InputError(f"cpu_backend must be one of {', '.join(CPU_BACKENDS)}")
    bad = [q for q in c.quantifiers if q not in QUANTIFIERS]
    if bad or not c.quantifiers:
        raise InputError(f"quantifiers must be a non-empty subset of {', '.join(QUANTIFIERS)}")
    if c.contrast_families is not None:
        unknown = [f for f in c.contrast_families if f not in FAMILY_NAMES]
        if unknown or not c.contrast_families:
            raise InputError(
                f"contrast_families must be a non-empty list of {', '.join(FAMILY_NAMES)}"
                + (f"; unknown {clip(', '.join(map(str, unknown)))}" if unknown else "")
            )
        if c.contrast_ratio == 0:
            raise InputError("contrast_families given but contrast_ratio is 0; set a ratio")
    if c.method == "prefix_tuning" and c.gradient_checkpointing:
        # PEFT raises deep inside the first forward otherwise.
        raise InputError("prefix_tuning does not work with gradient_checkpointing; set it false")
