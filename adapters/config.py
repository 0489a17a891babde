"""The typed training configuration: YAML file + ``--set key=value`` overrides.

Kept free of torch so ``logic-claims train --help`` and config errors stay instant.
Every key is a field of ``TrainConfig``; an unknown key, a value of the wrong type or
a setting that cannot work is a one-line ``InputError`` naming the file (or ``--set``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import load_yaml, read_text
from logic_claims.tasks.prompt import INSTRUCTION

METHODS = ("prompt_tuning", "lora", "ia3", "prefix_tuning")
CPU_BACKENDS = ("plain", "deepspeed")
SCHEDULES = ("linear", "constant", "cosine")
CONFIGS_DIR = Path(__file__).resolve().parent / "configs"


@dataclass
class TrainConfig:
    """All settings of one adapter training run (the YAML keys)."""

    method: str = "prompt_tuning"
    # Embedded model name (see `logic-claims model path`), local HF directory or hub id.
    base_model: str = "smollm2-135m-instruct"
    # A built dataset (`logic-claims data build --out DIR`); null: the cached build of
    # $LOGIC_CLAIMS_DATA (or of the verified download).
    data_dir: str | None = None

    # prompt tuning / prefix tuning
    num_virtual_tokens: int = 8
    prompt_init: str = "text"  # text | random (prompt tuning only)
    prompt_init_text: str = INSTRUCTION
    # LoRA / IA3 (null target_modules: PEFT's default for the architecture)
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.0
    target_modules: list[str] | None = None
    feedforward_modules: list[str] | None = None  # IA3 only

    # optimisation (AdamW)
    learning_rate: float = 3e-2
    weight_decay: float = 0.0
    batch_size: int = 12
    num_epochs: int = 1
    max_steps: int = 0  # > 0 overrides num_epochs
    lr_schedule: str = "linear"
    warmup_steps: int = 0
    max_grad_norm: float | None = 1.0
    seed: int = 0
    gradient_checkpointing: bool = False

    # data
    quantifiers: list[str] = field(default_factory=lambda: list(QUANTIFIERS))
    examples_per_generic: int = 0  # per generic and quantifier; 0 = every exemplar
    max_train_examples: int = 0  # 0 = all
    max_val_examples: int = 256
    max_length: int = 256  # longer examples are dropped (counted in train_config.json)
    add_eos: bool = True  # the model learns to stop after its explanation

    # speed (see adapters/README.md)
    # Pack each batch into one row (no padding) with the shared prompt prefix run once.
    # false: padded rows (also what gradient_checkpointing uses).
    packing: bool = True

    # bookkeeping
    logging_steps: int = 10
    eval_steps: int = 100
    save_steps: int = 100
    save_total_limit: int = 1

    # Launch: on a machine without a GPU, `ds_zero3_cpu.yaml` asks for something the CPU
    # cannot do (DeepSpeed refuses fp16). "plain" trains with plain Accelerate in fp32;
    # "deepspeed" keeps DeepSpeed (ZeRO stage from the launch config) in fp32.
    cpu_backend: str = "plain"
    # DeepSpeed's stage3_param_persistence_threshold (null: DeepSpeed's default, 1e5
    # elements). 0 partitions every parameter, as a 7B model's would be.
    ds_param_persistence_threshold: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self) -> str:
        """sha256 of the resolved config: what `--resume` compares."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = typing.get_type_hints(TrainConfig)

MAX_COUNT = 2**31 - 1  # sizes, steps and counts: anything larger is a typo, not a setting


class Range(typing.NamedTuple):
    """Where a numeric setting may lie: from ``low`` to ``high``, ends included unless open."""

    low: float
    high: float = MAX_COUNT
    low_open: bool = False
    high_open: bool = False

    def refusal(self, value: float) -> str | None:
        """Why ``value`` is outside, or None."""
        if value < self.low or (self.low_open and value == self.low):
            return f"must be {'>' if self.low_open else '>='} {self.low}"
        if value > self.high or (self.high_open and value == self.high):
            return f"must be {'<' if self.high_open else '<='} {self.high}"
        return None


POSITIVE, COUNT = Range(1), Range(0)  # a count of at least one; any count
# Every numeric field and its range.
INT_RANGES: dict[str, Range] = {
    "num_virtual_tokens": POSITIVE,
    "lora_r": POSITIVE,
    "lora_alpha": POSITIVE,
    "batch_size": POSITIVE,
    "num_epochs": POSITIVE,
    "max_steps": COUNT,
    "warmup_steps": COUNT,
    "seed": Range(0, 2**32 - 1),  # what numpy (through accelerate's set_seed) accepts
    "examples_per_generic": COUNT,
    "max_train_examples": COUNT,
    "max_val_examples": COUNT,
    "max_length": POSITIVE,
    "logging_steps": POSITIVE,
    "eval_steps": POSITIVE,
    "save_steps": POSITIVE,
    "save_total_limit": POSITIVE,  # the last checkpoint is what --resume uses
    "ds_param_persistence_threshold": COUNT,
}
FLOAT_RANGES: dict[str, Range] = {
    "learning_rate": Range(0.0, math.inf, low_open=True),
    "weight_decay": Range(0.0, math.inf),
    "lora_dropout": Range(0.0, 1.0, high_open=True),  # a dropout of 1 drops everything
    "max_grad_norm": Range(0.0, math.inf, low_open=True),
}


def _coerce(key: str, value: Any, where: str) -> Any:
    """Check ``value`` against the field's type; YAML already parsed numbers and lists."""
    hint = _HINTS[key]
    base, optional = hint, False
    if isinstance(hint, types.UnionType):  # X | None
        optional = True
        base = next(a for a in typing.get_args(hint) if a is not type(None))
    if value is None:
        if optional:
            return None
        raise InputError(f"{key} may not be null", where)
    try:
        return _coerce_to(base, key, value, where)
    except OverflowError as exc:  # float() of a 400-digit integer
        raise InputError(f"{key} is out of range, got {clip(value)}", where) from exc


def _coerce_to(base: Any, key: str, value: Any, where: str) -> Any:
    """``value`` as the field's (non-optional) type ``base``, or an InputError."""
    if typing.get_origin(base) is list:
        if isinstance(value, str):  # --set target_modules=q_proj,v_proj
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and False in value:  # YAML 1.1 reads a bare no as false
            raise InputError(f'{key}: write the quantifier no as "no" (quoted)', where)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{key} must be a list of strings, got {clip(value)}", where)
        return value
    if base is bool:
        if isinstance(value, bool):
            return value
        raise InputError(f"{key} must be true or false, got {clip(value)}", where)
    if base is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():  # 1.0e3 (YAML) -> 1000
            return int(value)
        raise InputError(f"{key} must be an integer, got {clip(value)}", where)
    if base is float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
            with contextlib.suppress(ValueError):
                number = float(value)
        if number is None:
            raise InputError(f"{key} must be a number, got {clip(value)}", where)
        if not math.isfinite(number):  # .inf, nan, 1e400
            raise InputError(f"{key} must be a finite number, got {clip(value)}", where)
        return number
    if base is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise InputError(f"{key} must be a string, got {clip(value)}", where)
    raise AssertionError(f"unhandled type {base} for {key}")


def _apply(values: dict[str, Any], mapping: dict[str, Any], where: str) -> None:
    for key, value in mapping.items():
        if key not in FIELDS:
            close = [k for k in FIELDS if k.split("_")[0] == str(key).split("_")[0]]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise InputError(f"unknown config key {clip(key)}{hint}", where)
        values[key] = _coerce(key, value, where)


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
    """Resolve a config: YAML path (or shipped name), dict or TrainConfig, plus overrides."""
    values: dict[str, Any] = {}
    if isinstance(source, TrainConfig):
        values = source.to_dict()
    elif isinstance(source, dict):
        _apply(values, source, "config")
    elif source is not None:
        path = config_path(source)
        loaded = load_yaml(read_text(path, empty=None), path) or {}
        if not isinstance(loaded, dict):
            raise InputError("expected a mapping of config keys", path)
        _apply(values, loaded, str(path))
    _apply(values, overrides or {}, "--set")
    config = TrainConfig(**values)
    validate(config)
    return config


def validate(c: TrainConfig) -> None:
    """Refuse settings that cannot work, before any model is loaded."""
    if c.method not in METHODS:
        raise InputError(f"unknown method {clip(c.method)}; choose from {', '.join(METHODS)}")
    _check_ranges(c)
    if not c.base_model.strip():
        raise InputError("base_model may not be empty")
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
    if c.method == "prefix_tuning" and c.gradient_checkpointing:
        # PEFT raises deep inside the first forward otherwise.
        raise InputError("prefix_tuning does not work with gradient_checkpointing; set it false")


def _check_ranges(c: TrainConfig) -> None:
    """Every numeric setting finite and in its range (``INT_RANGES``, ``FLOAT_RANGES``)."""
    for key, allowed in {**INT_RANGES, **FLOAT_RANGES}.items():
        value = getattr(c, key)
        if value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{key} must be a finite number, got {value}")
        if (why := allowed.refusal(value)) is not None:
            raise InputError(f"{key} {why}, got {clip(value)}")
