"""What a run reads, found and checked before anything heavy loads.

The base model (an embedded model's name, a local HF directory or a hub id), the
built dataset (``logic-claims data build``; a missing one is an ``InputError``), and
the contrast claims a mixed recipe adds to the standard ones (``mix_contrast``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from logic_claims.adapters.config import TrainConfig
from logic_claims.tasks.contrast import CONTRAST_SPLITS, FAMILY_NAMES
from logic_claims.tasks.data import built_dataset_dir, load_split
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.text import stable_hash


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
    """``cfg.data_dir`` if it holds a built dataset; null: the cached default build."""
    if cfg.data_dir is None:
        return built_dataset_dir()
    path = Path(cfg.data_dir)
    for name in ("train.jsonl", "validation.jsonl", "manifest.json"):
        if not (path / name).is_file():
            raise InputError(
                f"not a built dataset (no {name}); run `logic-claims data build`", path
            )
    return path


def mix_contrast(
    standard: list[dict[str, Any]], data_dir: Path, cfg: TrainConfig
) -> list[dict[str, Any]]:
    """The standard train claims plus ``contrast_ratio`` contrast claims per standard claim.

    The contrast claims are the train split's (``contrast_train.jsonl``: train generics
    only) of ``contrast_families`` and ``quantifiers``, without their standard partners
    (the standard claims are already there). The families take equal turns, each in a
    stable hash order, so a family is not drowned by a larger one; when the families
    run out, every one of their claims is used. The trainer shuffles the result.
    """
    if cfg.contrast_ratio == 0:
        return standard
    families = cfg.contrast_families or list(FAMILY_NAMES)
    pools: dict[str, list[dict[str, Any]]] = {f: [] for f in families}
    for record in load_split(data_dir, CONTRAST_SPLITS["train"]):
        if record["construction"] in pools and record["quantifier"] in cfg.quantifiers:
            pools[record["construction"]].append(record)
    for pool in pools.values():
        pool.sort(key=lambda r: stable_hash(r["id"]))
    wanted = round(cfg.contrast_ratio * len(standard))
    mixed: list[dict[str, Any]] = []
    for i in range(max((len(p) for p in pools.values()), default=0)):
        for pool in pools.values():
            if i < len(pool) and len(mixed) < wanted:
                mixed.append(pool[i])
    return standard + mixed


def another_base(adapter: str | Path, width: int, base: str, hidden: int) -> InputError:
    """The one line for virtual tokens that do not fit the base model's width."""
    return InputError(
        f"adapter of another base model: its virtual tokens have {width} dimensions, "
        f"the hidden states of {clip(base)} have {hidden}",
        adapter,
    )


# PEFT types whose vectors are input embeddings, as wide as the base's hidden states (prefix
# tuning's token_dim is the key/value width, which grouped-query attention makes narrower).
INPUT_SPACE_TYPES = ("PROMPT_TUNING", "P_TUNING")


def check_adapter_width(adapter: str | Path, base: str) -> None:
    """InputError when a prompt-tuning (or p-tuning) adapter's vectors (``token_dim``) are
    not as wide as the base model's hidden states, read from the two configs before any
    weights load (PEFT would load such an adapter and fail at the first forward pass).
    Other adapters, and configs that do not say, pass: loading checks their weights' shapes."""
    path = Path(adapter) / "adapter_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        kind, width = config.get("peft_type"), config.get("token_dim")
    except (OSError, ValueError, AttributeError, RecursionError):
        return  # loading says what is wrong with it
    if kind not in INPUT_SPACE_TYPES or isinstance(width, bool) or not isinstance(width, int):
        return
    from transformers import AutoConfig

    try:
        base_config = AutoConfig.from_pretrained(base)
    except (OSError, ValueError):
        return
    hidden = getattr(base_config.get_text_config(), "hidden_size", None)
    if isinstance(hidden, int) and hidden != width:
        raise another_base(adapter, width, base, hidden)
