"""What a run reads, found and checked before anything heavy loads.

The base model (an embedded model's name, a local HF directory or a hub id) and the
built dataset (``logic-claims data build``); a missing one is an ``InputError``.
"""

from __future__ import annotations

from pathlib import Path

from logic_claims.adapters.config import TrainConfig
from logic_claims.tasks.data import built_dataset_dir
from logic_claims.tasks.errors import InputError


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
