"""The results cache: one entry per (system, task), keyed by everything that changes answers.

The key (:func:`cache_key` over the material :func:`logic_claims.harness.compare.runner.plan`
gathers) covers the model's identity (:func:`model_identity`), the adapter's content
(:func:`adapter_hash`), the task, the limit, the data manifest's sha256, the backend,
model_args, gen_kwargs, the chat template flag, the code that shapes answers and scores
(:func:`code_hash` over :data:`CODE_FILES`) and the lm-eval version. A rerun with nothing
changed finds every entry and runs no model.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# What shapes a system's answers and scores: the cache key's ``code``. Globs under the
# ``logic_claims`` package (the folders ``tasks/`` and ``harness/`` here): the lm-eval task
# folder (configs, their templates, the doc/metric functions of utils.py; not the script that
# writes the configs), the prompt and its scoring, retrieval (and the text key it matches
# generics by), the quantifier table, and the rule baselines. Settings parsing, I/O, errors
# and sources do not change an answer; the data is keyed by its manifest's sha256.
CODE_FILES = (
    "tasks/logic_claims/*.yaml",
    "tasks/logic_claims/*_yaml",
    "tasks/logic_claims/utils.py",
    "tasks/prompt.py",
    "tasks/scoring.py",
    "tasks/retrieval.py",
    "tasks/text.py",
    "tasks/claims.py",
    "harness/baselines.py",
)


def _sha256_files(files: Sequence[tuple[str, Path]]) -> str:
    """sha256 over (name, file) pairs, in the order given: each name, then the file's bytes."""
    digest = hashlib.sha256()
    for name, file in files:
        digest.update(name.encode())
        digest.update(b"\0")
        with file.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


def adapter_hash(adapter: Path) -> str:
    """sha256 over the adapter directory's files (names and contents)."""
    files = sorted(p for p in adapter.rglob("*") if p.is_file())
    return _sha256_files([(str(p.relative_to(adapter)), p) for p in files])


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


def code_files() -> list[tuple[str, Path]]:
    """The files of :data:`CODE_FILES` as (name relative to the package, path), sorted."""
    from logic_claims.tasks import TASKS_DIR

    package = {"tasks": Path(TASKS_DIR), "harness": Path(__file__).resolve().parents[1]}
    files: list[tuple[str, Path]] = []
    for pattern in CODE_FILES:
        folder, _, rest = pattern.partition("/")
        found = sorted(package[folder].glob(rest))
        if not found:
            raise FileNotFoundError(f"no {pattern} in {package[folder]}: CODE_FILES is stale")
        files += [(f"{folder}/{file.relative_to(package[folder])}", file) for file in found]
    return sorted(files)


def code_hash() -> str:
    """sha256 of the code that shapes answers and scores (:func:`code_files`)."""
    return _sha256_files(code_files())


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


# --------------------------------------------------------------------------- entries
#
# An entry is a folder named by its key: ``entry.json`` and ``samples/<subtask>.jsonl``.
# ``entry.json`` records the sha256 of each samples file (``files``); an entry is read only
# when its key, its subtask names and every file's digest check out, so a damaged or
# hand-edited entry is a miss (recomputed), never a result. The digest does not stop
# someone who rewrites ``files`` as well: it guards against accidents, not an adversary.

ENTRY = "entry.json"
# A subtask name becomes a file name: lm-eval's task names, no path separators or "..".
TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class StaleEntry(Exception):
    """A cache entry that cannot be used; ``str()`` says why (one line)."""


def sample_file(leaf: str) -> str:
    """A subtask's samples file inside an entry, relative to the entry."""
    return f"samples/{leaf}.jsonl"


def file_digests(directory: Path, leaves: Sequence[str]) -> dict[str, str]:
    """sha256 of each subtask's samples file, by its name relative to the entry."""
    return {
        sample_file(leaf): _sha256_files([("", directory / sample_file(leaf))]) for leaf in leaves
    }


def read_entry(directory: Path, key: str) -> dict[str, Any]:
    """The entry's record once its key, subtask names and file digests check out.

    StaleEntry (saying why) when it is missing, unreadable, not this key's, names a
    subtask that is not a plain task name, or a file's content differs from its digest.
    """
    path = directory / ENTRY
    if not path.is_file():
        raise StaleEntry("no entry")
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StaleEntry(f"unreadable {ENTRY} ({type(exc).__name__})") from exc
    if not isinstance(entry, dict):
        raise StaleEntry(f"{ENTRY} is not a JSON object")
    leaves, files = entry.get("subtasks"), entry.get("files")
    if not isinstance(leaves, list) or not leaves:
        raise StaleEntry(f"{ENTRY}: subtasks is not a list of task names")
    for leaf in leaves:
        if not isinstance(leaf, str) or not TASK_NAME.fullmatch(leaf) or ".." in leaf:
            raise StaleEntry(f"{ENTRY}: subtask {str(leaf)[:60]!r} is not a plain task name")
    if not isinstance(entry.get("key"), dict) or cache_key(entry["key"]) != key:
        raise StaleEntry(f"{ENTRY}: its key material is not this entry's")
    if not isinstance(files, dict):
        raise StaleEntry(f"{ENTRY}: no file digests (an entry of an older version)")
    try:
        actual = file_digests(directory, leaves)
    except OSError as exc:
        raise StaleEntry(f"a samples file is unreadable ({exc.strerror or exc})") from exc
    if actual != files:
        changed = sorted(name for name in actual if files.get(name) != actual[name])
        raise StaleEntry(f"{', '.join(changed) or 'files'} differ from the recorded digest")
    return entry
