"""The results cache: one entry per (system, task), keyed by everything that changes answers.

The key (:func:`cache_key` over the material :func:`logic_claims.harness.compare.runner.plan`
gathers) covers the model's identity (:func:`model_identity`), the adapter's content
(:func:`adapter_hash`), the task, the limit, the data manifest's sha256, the backend,
model_args, gen_kwargs, the chat template flag, the task and prompt code (:func:`code_hash`)
and the lm-eval version. A rerun with nothing changed finds every entry and runs no model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Files whose change changes what a task asks or how it is scored: part of the cache key.
# The task folder and the modules beside it (prompt, scoring, retrieval, data) are hashed
# whole; of the harness only the rule baselines shape the results.
_HARNESS_CODE = ("baselines.py",)


def _sha256_files(root: Path, files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(b"\0")
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def adapter_hash(adapter: Path) -> str:
    """sha256 over the adapter directory's files (names and contents)."""
    return _sha256_files(adapter, [p for p in adapter.rglob("*") if p.is_file()])


def model_identity(model: str, model_args: dict[str, Any]) -> dict[str, Any]:
    """Resolved path plus each file's size and mtime, or the hub id and revision."""
    from logic_claims.tasks.models import resolve_model

    resolved = resolve_model(model)
    path = Path(resolved)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        return {
            "path": str(path.resolve()),
            "files": [[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in files],
        }
    return {"hub_id": resolved, "revision": model_args.get("revision")}


def code_hash() -> str:
    """sha256 of the task definitions and the prompt/scoring code they use."""
    from logic_claims.tasks import TASKS_DIR

    harness = Path(__file__).resolve().parents[1]
    task_files = [
        p
        for p in Path(TASKS_DIR).rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (p.suffix in (".py", ".yaml") or p.name.endswith("_yaml"))
        and not p.name.startswith("_generate")
    ]
    digest = hashlib.sha256()
    digest.update(_sha256_files(Path(TASKS_DIR), task_files).encode())
    digest.update(_sha256_files(harness, [harness / name for name in _HARNESS_CODE]).encode())
    return digest.hexdigest()


def lm_eval_version() -> str:
    """The installed lm-eval's version (``"missing"`` without it)."""
    import importlib.metadata

    try:
        return importlib.metadata.version("lm-eval")
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def cache_key(material: dict[str, Any]) -> str:
    """sha256 of the key material as sorted JSON: the name of the cache entry."""
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()
