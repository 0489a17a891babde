"""``logic-claims compare``: baselines vs adapters, one report, with significance tests.

A YAML config lists *systems*: rule baselines computed from the split records
(``quantifier-rule``, ``majority-class``) and lm-eval systems (a model, optionally a PEFT
adapter, some logic_claims tasks). ``compare`` runs lm-eval (``harness.evaluate.run_eval``)
for every (system, task) without cached results, then writes ``report.md``,
``report.html``, ``report.json`` and ``chart.png`` under the output directory.

The cache (default ``$LOGIC_CLAIMS_CACHE/compare``) holds lm-eval's own sample files per
(system, task). Its key covers everything that changes the answers: the model's identity
(resolved path and the size and mtime of its files, or the hub id and revision), the
adapter's content (sha256 of every file), the task, the limit, the data manifest's
sha256, the backend, model_args, gen_kwargs, the chat template flag, the task and prompt
code, and the lm-eval version. A rerun with nothing changed runs no model and writes the
same report, byte for byte; a changed adapter reruns only its system.

Statistics: per quantifier, universal (all, not all), existential (some, no) and overall
correct/tie/wrong rates (the study's rule) with percentile bootstrap intervals
(``scipy.stats.bootstrap``); log-likelihood accuracy of the ``*_mc`` tasks; McNemar's exact
test (``statsmodels``) of each system against the baseline on the claims both answered
(paired by the claim's id), Holm-corrected over all tests of the report
(``statsmodels.stats.multitest.multipletests``), with a paired bootstrap interval of the
difference; the study's published runs (``legacy:``) and, with ``annotations:``, human
factuality/justification scores and tests from ``logic_claims.annotations.reports``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.harness import baselines, evaluate, study_outputs
from logic_claims.tasks import data, retrieval
from logic_claims.tasks.claims import CLAIM_TYPES, DEFAULT_TRUTH, QUANTIFIERS, WORDS
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import atomic_dir, load_yaml, read_jsonl, read_text

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_LM_TASKS = (
    "logic_claims",
    "logic_claims_contrast",
    "logic_claims_mc",
    "logic_claims_contrast_mc",
)
SPLIT_TITLES = {"test": "main (test split)", "contrast": "contrast split"}
SHORT_SPLIT = {"test": "main", "contrast": "contrast"}
GROUPS = {q: (q,) for q in QUANTIFIERS} | CLAIM_TYPES | {"overall": QUANTIFIERS}
QUANTIFIER_TITLES = WORDS
SYSTEM_KEYS = {
    "name", "kind", "rule", "model", "adapter", "tasks", "limit", "apply_chat_template",
    "backend", "model_args", "gen_kwargs", "batch_size", "device",
}  # fmt: skip
CONFIG_KEYS = {
    "name", "systems", "baseline", "limit", "defaults", "data_dir", "output", "cache",
    "legacy", "annotations", "bootstrap", "confidence_level", "seed",
}  # fmt: skip
# Files whose change changes what a task asks or how it is scored: part of the cache key.
# The task folder and the modules beside it (prompt, scoring, retrieval, data) are hashed
# whole; of the harness only the rule baselines shape the results.
_HARNESS_CODE = ("baselines.py",)


# --------------------------------------------------------------------------- config


@dataclass
class System:
    name: str
    kind: str  # "rule" or "lm_eval"
    rule: str | None = None
    model: str | None = None
    adapter: Path | None = None
    tasks: list[str] = field(default_factory=list)
    limit: int | float | None = None
    apply_chat_template: bool = False
    backend: str = "hf"
    model_args: dict[str, Any] = field(default_factory=dict)
    gen_kwargs: dict[str, Any] | None = None
    batch_size: int | str = 8
    device: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rule": self.rule,
            "model": self.model,
            "adapter": str(self.adapter) if self.adapter else None,
            "tasks": list(self.tasks),
            "limit": self.limit,
            "apply_chat_template": self.apply_chat_template,
            "backend": self.backend,
            "model_args": self.model_args,
            "gen_kwargs": self.gen_kwargs,
        }


@dataclass
class Config:
    path: Path
    name: str
    systems: list[System]
    baseline: str
    data_dir: Path
    output: Path
    cache: Path
    legacy: list[tuple[str, Path]]
    annotations: Path | None
    notes: list[str] = field(default_factory=list)
    n_resamples: int = 2000
    confidence_level: float = 0.95
    seed: int = 0


def _line_of(text: str, *keys: str | int) -> int | None:
    """1-based line of a node (by mapping keys / sequence indexes) in the YAML text."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    for key in keys:
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            match = [v for k, v in node.value if getattr(k, "value", None) == key]
            if not match:
                return None
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return None
            node = node.value[key]
        else:
            return None
    return node.start_mark.line + 1 if node is not None else None


def _limit(value: Any, where: str, path: Path, line: int | None) -> int | float | None:
    if value is None:
        return None
    try:
        return evaluate.limit_value(value)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}", path, line) from exc


MAX_RESAMPLES = 1_000_000  # scipy holds every resample in memory at once


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _run_settings(raw: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """``bootstrap.n_resamples``, ``confidence_level`` and ``seed``, checked."""
    boot = raw.get("bootstrap") or {}
    if not isinstance(boot, dict) or set(boot) - {"n_resamples"}:
        raise InputError(
            "`bootstrap:` must be a mapping with `n_resamples:` only",
            path,
            _line_of(text, "bootstrap"),
        )
    n_resamples = boot.get("n_resamples", 2000)
    if not _is_int(n_resamples) or not 1 <= n_resamples <= MAX_RESAMPLES:
        raise InputError(
            f"bootstrap: n_resamples must be an integer from 1 to {MAX_RESAMPLES:,}, "
            f"got {clip(n_resamples)}",
            path,
            _line_of(text, "bootstrap", "n_resamples"),
        )
    level = raw.get("confidence_level", 0.95)
    number = isinstance(level, int | float) and not isinstance(level, bool)
    if not number or not 0 < level < 1:  # nan is neither
        raise InputError(
            f"confidence_level must be a number between 0 and 1, got {clip(level)}",
            path,
            _line_of(text, "confidence_level"),
        )
    seed = raw.get("seed", 0)
    if not _is_int(seed) or not 0 <= seed < 2**32:
        raise InputError(
            f"seed must be an integer from 0 to {2**32 - 1}, got {clip(seed)}",
            path,
            _line_of(text, "seed"),
        )
    return {"n_resamples": n_resamples, "confidence_level": float(level), "seed": seed}


def _path_value(value: Any, key: str, path: Path, line: int | None) -> Path | None:
    """A path setting: a string (no NUL), or None when absent or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InputError(f"{key} must be a path, got {clip(value)}", path, line)
    return Path(value)


def _lm_options(merged: dict[str, Any], name: str, path: Path, line: int | None) -> dict:
    """The lm-eval settings of one system (model, backend, batch size, ...), checked."""
    where = f"system {clip(name)}"
    for key in ("model", "backend", "device"):
        value = merged.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"{where}: {key} must be a name, got {clip(value)}", path, line)
    for key in ("model_args", "gen_kwargs"):
        if merged.get(key) is not None and not isinstance(merged[key], dict):
            raise InputError(f"{where}: {key} must be a mapping", path, line)
    chat = merged.get("apply_chat_template", False)
    if not isinstance(chat, bool):
        raise InputError(
            f"{where}: apply_chat_template must be true or false, got {clip(chat)}", path, line
        )
    try:
        batch_size = evaluate.batch_size_value(merged.get("batch_size", 8))
    except ValueError as exc:
        raise InputError(f"{where}: {exc}", path, line) from exc
    return {
        "model": merged.get("model") or "smollm2-135m-instruct",
        "apply_chat_template": chat,
        "backend": merged.get("backend") or "hf",
        "model_args": dict(merged.get("model_args") or {}),
        "gen_kwargs": merged.get("gen_kwargs"),
        "batch_size": batch_size,
        "device": merged.get("device"),
    }


def load_config(
    path: str | Path, out: str | Path | None = None, check_adapters: bool = True
) -> Config:
    """Read and check a compare config; every problem is an InputError with file and line.

    Relative paths (adapters, legacy files, data_dir, output, cache) are taken from the
    current directory, the repository root when run through ``make``.
    """
    path = Path(path)
    text = read_text(path, empty=None)
    raw = load_yaml(text, path)  # aliases bounded: a few bytes cannot expand to gigabytes
    if not isinstance(raw, dict):
        raise InputError("a compare config is a YAML mapping with a `systems:` list", path)
    for key in raw:
        # "x-..." keys hold YAML anchors to reuse (as in docker-compose files).
        if key not in CONFIG_KEYS and not str(key).startswith("x-"):
            raise InputError(
                f"unknown key {clip(key)}; known: {', '.join(sorted(CONFIG_KEYS))}",
                path,
                _line_of(text, key),
            )
    systems_raw = raw.get("systems")
    if not isinstance(systems_raw, list) or not systems_raw:
        raise InputError("`systems:` must be a non-empty list", path, _line_of(text, "systems"))
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("`defaults:` must be a mapping", path, _line_of(text, "defaults"))
    for key in defaults:
        if key not in SYSTEM_KEYS - {"name", "kind", "rule"}:
            raise InputError(
                f"unknown key {clip(key)} in defaults", path, _line_of(text, "defaults", key)
            )
    top_limit = _limit(raw.get("limit"), "config", path, _line_of(text, "limit"))

    systems: list[System] = []
    for index, entry in enumerate(systems_raw):
        line = _line_of(text, "systems", index)
        if not isinstance(entry, dict) or not entry.get("name"):
            raise InputError(f"system {index + 1}: a mapping with a `name:`", path, line)
        unknown = set(entry) - SYSTEM_KEYS
        if unknown:
            raise InputError(
                f"system {clip(entry['name'])}: unknown key(s) "
                f"{', '.join(sorted(str(key)[:40] for key in unknown))[:200]}; "
                f"known: {', '.join(sorted(SYSTEM_KEYS))}",
                path,
                line,
            )
        name = str(entry["name"])
        if any(s.name == name for s in systems):
            raise InputError(f"two systems named {clip(name)}", path, line)
        kind = entry.get("kind") or (
            "rule" if "rule" in entry or name in baselines.RULE_SYSTEMS else "lm_eval"
        )
        if kind == "rule":
            rule = str(entry.get("rule") or name)
            if rule not in baselines.RULE_SYSTEMS:
                raise InputError(
                    f"system {clip(name)}: unknown rule {clip(rule)}; choose from "
                    f"{', '.join(baselines.RULE_SYSTEMS)}",
                    path,
                    line,
                )
            limit = _limit(entry.get("limit", top_limit), name, path, line)
            systems.append(System(name=name, kind="rule", rule=rule, limit=limit))
            continue
        if kind != "lm_eval":
            raise InputError(f"system {clip(name)}: kind must be rule or lm_eval", path, line)
        merged = {**defaults, **entry}
        tasks = merged.get("tasks") or list(DEFAULT_LM_TASKS)
        if isinstance(tasks, str):
            tasks = [t.strip() for t in tasks.split(",") if t.strip()]
        if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
            raise InputError(f"system {clip(name)}: tasks must be a list of names", path, line)
        adapter = merged.get("adapter")
        if adapter is not None:
            adapter = Path(str(adapter))
            if check_adapters and not (adapter / "adapter_config.json").is_file():
                raise InputError(
                    f"system {clip(name)}: adapter {clip(str(adapter))} is not a PEFT adapter "
                    "directory "
                    "(no adapter_config.json; train one first)",
                    path,
                    line,
                )
        systems.append(
            System(
                name=name,
                kind="lm_eval",
                adapter=adapter,
                tasks=list(dict.fromkeys(tasks)),
                limit=_limit(merged.get("limit", top_limit), name, path, line),
                **_lm_options(merged, name, path, line),
            )
        )

    names = [s.name for s in systems]
    baseline = str(raw.get("baseline") or names[0])
    if baseline not in names:
        raise InputError(
            f"baseline {clip(baseline)} is not one of the systems ({clip(', '.join(names))})",
            path,
            _line_of(text, "baseline"),
        )
    legacy_runs: list[tuple[str, Path]] = []
    notes: list[str] = []
    if not isinstance(raw.get("legacy") or [], list):
        raise InputError("`legacy:` must be a list of {name, file}", path, _line_of(text, "legacy"))
    for index, entry in enumerate(raw.get("legacy") or []):
        if not isinstance(entry, dict) or "file" not in entry:
            raise InputError(
                "legacy: entries are {name, file}", path, _line_of(text, "legacy", index)
            )
        file = _path_value(entry["file"], "legacy: file", path, _line_of(text, "legacy", index))
        if file is None:
            raise InputError("legacy: file may not be empty", path, _line_of(text, "legacy", index))
        if not file.is_file():
            # The study's files are reference data outside the project: a machine
            # without them still gets the rest of the report.
            notes.append(
                f"The study's run {entry.get('name') or file.stem!r} was left out: "
                f"{file} not found."
            )
            continue
        legacy_runs.append((str(entry.get("name") or file.stem), file))
    settings = _run_settings(raw, path, text)
    paths = {
        key: _path_value(raw.get(key), key, path, _line_of(text, key))
        for key in ("data_dir", "output", "cache", "annotations")
    }
    name = str(raw.get("name") or path.stem)
    return Config(
        path=path,
        name=name,
        systems=systems,
        baseline=baseline,
        data_dir=paths["data_dir"] or data.built_dataset_dir(),
        output=Path(out or paths["output"] or Path("reports") / name),
        cache=paths["cache"] or data.cache_dir() / "compare",
        legacy=legacy_runs,
        annotations=paths["annotations"],
        notes=notes,
        **settings,
    )


# --------------------------------------------------------------------------- cache keys


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

    harness = Path(__file__).resolve().parent
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
    import importlib.metadata

    try:
        return importlib.metadata.version("lm-eval")
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def cache_key(material: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Job:
    system: System
    keys: dict[str, str]  # task -> cache key
    material: dict[str, dict[str, Any]]  # task -> key material
    missing: list[str]  # tasks without cached results


def plan(config: Config) -> list[Job]:
    """Which (system, task) pairs have cached results and which must run."""
    manifest = retrieval.manifest_sha256(config.data_dir)
    shared = {"data_manifest_sha256": manifest, "code": code_hash(), "lm_eval": lm_eval_version()}
    shared["embedder"] = retrieval.embedder_id()
    jobs = []
    for system in config.systems:
        if system.kind != "lm_eval":
            continue
        identity = model_identity(system.model or "", system.model_args)
        adapter = adapter_hash(system.adapter) if system.adapter else None
        keys, material = {}, {}
        for task in system.tasks:
            material[task] = {
                **shared,
                "task": task,
                "limit": system.limit,
                "model": identity,
                "adapter_sha256": adapter,
                "backend": system.backend,
                "model_args": system.model_args,
                "gen_kwargs": system.gen_kwargs,
                "apply_chat_template": system.apply_chat_template,
            }
            keys[task] = cache_key(material[task])
        missing = [t for t in system.tasks if not (config.cache / keys[t] / "entry.json").is_file()]
        jobs.append(Job(system, keys, material, missing))
    return jobs


# --------------------------------------------------------------------------- running


def _rank() -> int:
    """Process rank under ``accelerate launch``/torchrun (0 when run plainly)."""
    return int(os.environ.get("RANK", "0") or 0)


def _leaf_tasks(task: str, results: dict[str, Any]) -> list[str]:
    """The subtasks lm-eval ran for ``task`` (a group expands recursively)."""
    groups = results.get("group_subtasks") or {}
    if task not in groups:
        return [task]
    out: list[str] = []
    for child in groups[task]:
        out += _leaf_tasks(child, results)
    return out


def _sample_files(directory: Path) -> dict[str, Path]:
    """lm-eval's ``samples_<task>_<timestamp>.jsonl`` files, by task name."""
    import re

    pattern = re.compile(r"^samples_(?P<task>.+)_\d{4}-\d{2}-\d{2}T[\d.\-]+\.jsonl$")
    found = {}
    for path in directory.rglob("samples_*.jsonl"):
        match = pattern.match(path.name)
        if match:
            found[match.group("task")] = path
    return found


def run_job(job: Job, config: Config) -> None:
    """Run lm-eval once for the system's missing tasks and cache each task's samples."""
    system = job.system
    model_args = dict(system.model_args)
    peft = system.adapter
    if system.backend == "vllm" and peft is not None:
        # vLLM serves LoRA adapters itself (prompt-tuning adapters are not supported).
        model_args.setdefault("enable_lora", True)
        model_args["lora_local_path"] = str(system.adapter)
        peft = None
    config.cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".run-", dir=config.cache))
    try:
        results = evaluate.run_eval(
            system.model,
            peft=peft,
            tasks=job.missing,
            limit=system.limit,
            output_dir=staging,
            batch_size=system.batch_size,
            apply_chat_template=system.apply_chat_template,
            gen_kwargs=system.gen_kwargs,
            model_args=model_args,
            backend=system.backend,
            device=system.device,
            data_dir=config.data_dir,
        )
        if _rank() != 0 or not results:
            return  # other data-parallel ranks: rank 0 writes the cache
        files = _sample_files(staging)
        for task in job.missing:
            leaves = _leaf_tasks(task, results)
            lost = [leaf for leaf in leaves if leaf not in files]
            if lost:
                raise InputError(f"lm-eval wrote no samples for {', '.join(lost)} ({task})")
            with atomic_dir(config.cache / job.keys[task]) as tmp:
                (tmp / "samples").mkdir()
                for leaf in leaves:
                    shutil.copyfile(files[leaf], tmp / "samples" / f"{leaf}.jsonl")
                entry = {
                    "system": system.name,
                    "task": task,
                    "subtasks": leaves,
                    "key": job.material[task],
                    "results": {leaf: results["results"].get(leaf) for leaf in leaves},
                }
                (tmp / "entry.json").write_text(
                    json.dumps(entry, indent=2, default=str) + "\n", encoding="utf-8"
                )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_job_samples(job: Job, config: Config) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for task in job.system.tasks:
        directory = config.cache / job.keys[task]
        entry = json.loads((directory / "entry.json").read_text(encoding="utf-8"))
        for leaf in entry["subtasks"]:
            out[leaf] = read_jsonl(directory / "samples" / f"{leaf}.jsonl")
    return out


# --------------------------------------------------------------------------- statistics


def collect(system: str, samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{split: {"gen": {id: (quantifier, outcome)}, "mc": {id: (quantifier, acc)}}}."""
    out: dict[str, dict[str, dict[str, tuple[str, Any]]]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for task, records in samples.items():
        for sample in records:
            doc = sample["doc"]
            split = doc.get("split", "test")
            if "correct" in sample:
                kind = "gen"
                value: Any = next(o for o in ("correct", "tie", "wrong") if sample.get(o))
            elif "acc" in sample:
                kind, value = "mc", float(sample["acc"])
            else:
                continue
            ident = str(doc["id"])
            slot = out.setdefault(split, {}).setdefault(kind, {})
            if ident in slot:
                raise InputError(
                    f"system {system!r} answers claim {ident} twice on the {split} split "
                    f"({origin[split, kind, ident]} and {task}): give each prompt its own system"
                )
            slot[ident] = (doc["quantifier"], value)
            origin[split, kind, ident] = task
    return out


def _bootstrap_ci(values: Sequence[float], config: Config) -> dict[str, float] | None:
    import numpy as np
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    if np.all(x == x[0]):  # no variation: every resample has the same mean
        return {"low": float(x[0]), "high": float(x[0])}
    res = stats.bootstrap(
        (x,),
        np.mean,
        n_resamples=config.n_resamples,
        confidence_level=config.confidence_level,
        method="percentile",
        rng=np.random.default_rng(config.seed),
    )
    return {"low": float(res.confidence_interval.low), "high": float(res.confidence_interval.high)}


def _paired_diff_ci(a: Sequence[float], b: Sequence[float], config: Config) -> dict | None:
    """Bootstrap interval of the mean paired difference (resampling claims)."""
    import numpy as np

    return _bootstrap_ci(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), config)


def gen_table(answers: dict[str, tuple[str, str]], config: Config) -> dict[str, Any]:
    rows = {}
    for group, quantifiers in GROUPS.items():
        outcomes = [o for q, o in answers.values() if q in quantifiers]
        n = len(outcomes)
        row: dict[str, Any] = {"n": n}
        for name in ("correct", "tie", "wrong"):
            row[name] = outcomes.count(name)
            row[f"{name}_rate"] = outcomes.count(name) / n if n else None
        row["correct_ci"] = _bootstrap_ci([o == "correct" for o in outcomes], config)
        rows[group] = row
    return rows


def mc_table(answers: dict[str, tuple[str, float]], config: Config) -> dict[str, Any]:
    rows = {}
    for group, quantifiers in GROUPS.items():
        values = [v for q, v in answers.values() if q in quantifiers]
        n = len(values)
        rows[group] = {
            "n": n,
            "acc": sum(values) / n if n else None,
            "acc_ci": _bootstrap_ci(values, config),
        }
    return rows


def significance(
    collected: dict[str, dict[str, Any]], baseline: str, config: Config
) -> list[dict[str, Any]]:
    """McNemar exact test of each system vs the baseline, per split and metric; Holm."""
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.multitest import multipletests

    tests = []
    base = collected[baseline]
    for split in ("test", "contrast"):
        for kind, metric in (("gen", "correct"), ("mc", "acc")):
            base_answers = base.get(split, {}).get(kind)
            if not base_answers:
                continue
            for system, per_split in collected.items():
                answers = per_split.get(split, {}).get(kind)
                if system == baseline or not answers:
                    continue
                shared = sorted(set(answers) & set(base_answers))
                if not shared:
                    continue

                hit = "correct" if kind == "gen" else 1.0
                s = [int(answers[i][1] == hit) for i in shared]
                b = [int(base_answers[i][1] == hit) for i in shared]
                both = sum(x and y for x, y in zip(s, b, strict=True))
                s_only = sum(x and not y for x, y in zip(s, b, strict=True))
                b_only = sum(y and not x for x, y in zip(s, b, strict=True))
                neither = len(shared) - both - s_only - b_only
                # rows: baseline right / wrong; columns: system right / wrong
                res = mcnemar([[both, b_only], [s_only, neither]], exact=True)
                tests.append(
                    {
                        "split": split,
                        "metric": metric,
                        "system": system,
                        "baseline": baseline,
                        "n": len(shared),
                        "system_only": s_only,
                        "baseline_only": b_only,
                        "system_rate": sum(s) / len(s),
                        "baseline_rate": sum(b) / len(b),
                        "difference": (sum(s) - sum(b)) / len(s),
                        "confidence_interval": _paired_diff_ci(s, b, config),
                        "statistic": float(res.statistic),
                        "pvalue": float(res.pvalue),
                    }
                )
    if tests:
        _, holm, _, _ = multipletests([t["pvalue"] for t in tests], method="holm")
        for test, adjusted in zip(tests, holm, strict=True):
            test["pvalue_holm"] = float(adjusted)
    return tests


def annotation_section(config: Config, names: list[str]) -> dict[str, Any]:
    """Factuality/justification scores and tests from the annotation module, if available."""
    if config.annotations is None:
        return {"status": "none"}
    try:
        from logic_claims.annotations.ratings import load_ratings
        from logic_claims.annotations.reports import compare_report, render_text, scores_report
    except ImportError as exc:
        return {
            "status": "unavailable",
            "note": (
                "annotations were configured but logic_claims.annotations.reports / ratings "
                f"cannot be imported ({exc}); install the annotation module to get the "
                "factuality/justification columns"
            ),
        }
    ratings = load_ratings(config.annotations)
    present = sorted(set(ratings["system"]))
    rated = [n for n in names if n in present] or present
    ratings = ratings[ratings["system"].isin(rated)]
    scores = scores_report(ratings, by=("system", "quantifier"))
    overall = scores_report(ratings, by=("system",))
    section: dict[str, Any] = {
        "status": "ok",
        "file": str(config.annotations),
        "systems": rated,
        "scores": scores,
        "overall": overall,
        "scores_text": render_text(scores),
    }
    if len(rated) >= 2:
        baseline = config.baseline if config.baseline in rated else None
        tests = compare_report(ratings, rated, baseline=baseline, seed=config.seed)
        section["compare"] = tests
        section["compare_text"] = render_text(tests)
    else:
        section["note"] = "fewer than two rated systems: no tests between systems"
    return section


# --------------------------------------------------------------------------- report


def contrast_balance_note(samples: dict[str, dict[str, list[dict]]]) -> str | None:
    """A note when the contrast claims evaluated do not catch the quantifier rule.

    The contrast split is balanced as a whole; a ``limit`` takes the first claims of
    each quantifier, which need not be balanced, and then a high contrast score means
    little. Checked on the claims actually evaluated (by any system).
    """
    labels: dict[str, tuple[str, bool]] = {}
    for per_task in samples.values():
        for records in per_task.values():
            for sample in records:
                doc = sample["doc"]
                if doc.get("split") == "contrast":
                    labels[str(doc["id"])] = (doc["quantifier"], bool(doc["label"]))
    if not labels:
        return None
    hits = sum(DEFAULT_TRUTH[q] == label for q, label in labels.values())
    rate = hits / len(labels)
    if rate <= 0.5:
        return None
    return (
        f"The {len(labels)} contrast claims evaluated here do not catch the quantifier rule "
        f"(it scores {rate:.0%} on them; on the whole contrast split it scores at most 50%): "
        "with a limit, lm-eval takes the first claims of each quantifier of the split, so "
        "read the contrast rows with care or raise the limit."
    )


def build_report(config: Config, samples: dict[str, dict[str, list[dict]]]) -> dict[str, Any]:
    collected = {name: collect(name, s) for name, s in samples.items()}
    notes = list(config.notes)
    if note := contrast_balance_note(samples):
        notes.append(note)
    systems = {}
    for system in config.systems:
        per = collected[system.name]
        systems[system.name] = {
            "config": system.describe(),
            "splits": {
                split: {
                    "gen": gen_table(per[split]["gen"], config)
                    if "gen" in per.get(split, {})
                    else None,
                    "mc": mc_table(per[split]["mc"], config)
                    if "mc" in per.get(split, {})
                    else None,
                }
                for split in ("test", "contrast")
                if split in per
            },
        }
    return {
        "name": config.name,
        "config": str(config.path),
        "data_dir_manifest_sha256": retrieval.manifest_sha256(config.data_dir),
        "baseline": config.baseline,
        "bootstrap": {
            "method": "percentile",
            "n_resamples": config.n_resamples,
            "confidence_level": config.confidence_level,
            "seed": config.seed,
        },
        "systems": systems,
        "significance": significance(collected, config.baseline, config),
        "legacy": [{"name": name, **study_outputs.summarise(path)} for name, path in config.legacy],
        "annotations": annotation_section(config, [s.name for s in config.systems]),
        "notes": notes,
    }


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _ci(ci: dict[str, float] | None) -> str:
    return "" if not ci else f" [{100 * ci['low']:.1f}, {100 * ci['high']:.1f}]"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _ctw(row: dict[str, Any] | None) -> str:
    if not row or not row["n"]:
        return "–"
    return f"{_pct(row['correct_rate'])} / {_pct(row['tie_rate'])} / {_pct(row['wrong_rate'])}"


def tables(report: dict[str, Any]) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(section title, explanation, header, rows) for every table of the report."""
    out = []
    systems = report["systems"]
    rows = []
    for name, s in systems.items():
        c = s["config"]
        what = c["rule"] if c["kind"] == "rule" else c["model"]
        rows.append(
            [
                name + (" (baseline)" if name == report["baseline"] else ""),
                c["kind"],
                str(what),
                c["adapter"] or "–",
                ", ".join(c["tasks"]) or "rule: test, contrast",
                str(c["limit"] if c["limit"] is not None else "all"),
                "yes" if c["apply_chat_template"] else "no",
            ]
        )
    out.append(
        (
            "Systems",
            "",
            ["system", "kind", "model / rule", "adapter", "tasks", "limit", "chat template"],
            rows,
        )
    )
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in systems.items():
            part = s["splits"].get(split, {})
            gen, mc = part.get("gen"), part.get("mc")
            if not gen and not mc:
                continue
            rows.append(
                [
                    name,
                    str(gen["overall"]["n"]) if gen else "–",
                    _ctw(gen["universal"]) if gen else "–",
                    _ctw(gen["existential"]) if gen else "–",
                    (_pct(gen["overall"]["correct_rate"]) + _ci(gen["overall"]["correct_ci"]))
                    if gen
                    else "–",
                    (_pct(mc["overall"]["acc"]) + _ci(mc["overall"]["acc_ci"])) if mc else "–",
                ]
            )
        out.append(
            (
                f"Correctness, {title}",
                "Generated answers scored by the study's rule (first sentence, count "
                '"true"/"false"): correct / tie / wrong. Brackets: '
                f"{100 * report['bootstrap']['confidence_level']:.0f}% bootstrap interval. "
                'LL acc: log-likelihood accuracy (" True" vs " False", the *_mc tasks).',
                [
                    "system",
                    "n",
                    "universal c/t/w",
                    "existential c/t/w",
                    "overall correct",
                    "LL acc",
                ],
                rows,
            )
        )
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in systems.items():
            gen = s["splits"].get(split, {}).get("gen")
            if gen:
                rows.append([name] + [_ctw(gen[q]) for q in QUANTIFIER_TITLES])
        if rows:
            out.append(
                (
                    f"Per quantifier (correct / tie / wrong), {title}",
                    "",
                    ["system", *QUANTIFIER_TITLES.values()],
                    rows,
                )
            )
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in systems.items():
            mc = s["splits"].get(split, {}).get("mc")
            if mc:
                rows.append(
                    [name]
                    + [_pct(mc[g]["acc"]) for g in ("all", "not_all", "some", "no")]
                    + [
                        _pct(mc[g]["acc"]) + _ci(mc[g]["acc_ci"])
                        for g in ("universal", "existential", "overall")
                    ]
                )
        if rows:
            out.append(
                (
                    f"Log-likelihood accuracy, {title}",
                    "",
                    ["system", *QUANTIFIER_TITLES.values(), "universal", "existential", "overall"],
                    rows,
                )
            )
    rows = []
    for t in report["significance"]:
        rows.append(
            [
                SHORT_SPLIT[t["split"]],
                "correct" if t["metric"] == "correct" else "LL acc",
                t["system"],
                str(t["n"]),
                f"{t['system_only']} / {t['baseline_only']}",
                f"{100 * t['difference']:+.1f} pts"
                + (
                    f" [{100 * t['confidence_interval']['low']:+.1f}, "
                    f"{100 * t['confidence_interval']['high']:+.1f}]"
                    if t["confidence_interval"]
                    else ""
                ),
                _p(t["pvalue"]),
                _p(t["pvalue_holm"]),
            ]
        )
    out.append(
        (
            f"Significance against the baseline ({report['baseline']})",
            "McNemar's exact test on the claims both systems answered (paired by claim id); "
            "discordant = claims only the system / only the baseline got right; difference "
            "in rate with a paired bootstrap interval; Holm's correction over every test "
            "in this table.",
            [
                "split",
                "metric",
                "system",
                "paired n",
                "discordant",
                "difference",
                "McNemar p",
                "Holm p",
            ],
            rows or [["–"] * 8],
        )
    )
    if report["legacy"]:
        rows = []
        for run in report["legacy"]:
            g = run["groups"]
            check = run["gold_check"]
            rows.append(
                [
                    run["name"],
                    Path(run["file"]).name,
                    str(run["records"]),
                    f"{g['universal']['correct']} / {g['universal']['tie']} / "
                    f"{g['universal']['wrong']}",
                    f"{g['existential']['correct']} / {g['existential']['tie']} / "
                    f"{g['existential']['wrong']}",
                    _pct(g["overall"]["correct_rate"]),
                    f"{check['agree']}/{check['checked']} agree",
                ]
            )
        out.append(
            (
                "The study's published runs (Llama-2-7B-chat, prompt tuning)",
                "Counts of correct / tie / wrong, scored from the study's output files "
                "exactly as the study did (`logic-claims legacy accuracy`); its test claims "
                "are not ours, so set these beside, not against, the rows above. Gold "
                "check: expected verdict vs the quantifier.",
                [
                    "run",
                    "file",
                    "n",
                    "universal c/t/w",
                    "existential c/t/w",
                    "overall correct",
                    "gold check",
                ],
                rows,
            )
        )
    ann = report["annotations"]
    if ann.get("status") == "ok":
        rows = []
        for row in ann["overall"]["rows"]:
            dims = row["dimensions"]
            rows.append(
                [str(row["group"].get("system"))]
                + [
                    _pct(dims[d]["rate"])
                    + _ci(dims[d]["confidence_interval"])
                    + f" (n={dims[d]['n_items']})"
                    if d in dims
                    else "–"
                    for d in ("factual", "justified")
                ]
            )
        out.append(
            (
                "Human judgments: factuality and justification",
                f"From {ann['file']} via logic_claims.annotations.reports (Wilson intervals); "
                "per quantifier and tests below.",
                ["system", "factual", "justified"],
                rows,
            )
        )
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart_png(report: dict[str, Any]) -> bytes:
    """Correct rate per system for universal/existential/overall claims, with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    groups = ("universal", "existential", "overall")
    names = list(report["systems"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    width = 0.8 / max(1, len(names))
    for ax, (split, title) in zip(axes, SPLIT_TITLES.items(), strict=True):
        for i, name in enumerate(names):
            gen = report["systems"][name]["splits"].get(split, {}).get("gen")
            if not gen:
                continue
            rates = [gen[g]["correct_rate"] or 0.0 for g in groups]
            low = [
                r - gen[g]["correct_ci"]["low"] if gen[g]["correct_ci"] else 0.0
                for r, g in zip(rates, groups, strict=True)
            ]
            high = [
                gen[g]["correct_ci"]["high"] - r if gen[g]["correct_ci"] else 0.0
                for r, g in zip(rates, groups, strict=True)
            ]
            x = np.arange(len(groups)) + (i - (len(names) - 1) / 2) * width
            ax.bar(x, rates, width, yerr=[low, high], capsize=3, label=name)
        ax.set_xticks(np.arange(len(groups)), groups)
        ax.set_title(title)
        ax.set_ylim(0, 1.05)
        ax.axhline(0.5, color="grey", linewidth=0.8, linestyle="--")
    axes[0].set_ylabel("correct (study's rule)")
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(6, max(1, len(labels))), fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    buffer = io.BytesIO()
    # No timestamp or version in the PNG: an unchanged rerun writes the same bytes.
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# logic-claims comparison: {report['name']}",
        "",
        f"Config `{report['config']}`; data manifest sha256 "
        f"`{report['data_dir_manifest_sha256'][:16]}`; baseline **{report['baseline']}**.",
        "",
    ]
    for title, note, header, rows in tables(report):
        lines += [f"## {title}", ""]
        if note:
            lines += [note, ""]
        lines += [_md_table(header, rows), ""]
    ann = report["annotations"]
    if ann.get("status") == "ok":
        lines += ["### Human judgments per quantifier", "", "```", ann["scores_text"].rstrip()]
        lines += ["```", ""]
        if ann.get("compare_text"):
            lines += ["### Human judgments: tests between systems", "", "```"]
            lines += [ann["compare_text"].rstrip(), "```", ""]
    elif ann.get("note"):
        lines += ["## Human judgments", "", ann["note"], ""]
    if report["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in report["notes"]] + [""]
    lines += ["## Chart", "", "![correct rate with intervals](chart.png)", ""]
    return "\n".join(lines)


def render_html(report: dict[str, Any], png: bytes) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>logic-claims comparison: {html.escape(report['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}"
        "th{background:#f3f3f3}pre{background:#f8f8f8;padding:8px;overflow-x:auto}</style>",
        "</head><body>",
        f"<h1>logic-claims comparison: {html.escape(report['name'])}</h1>",
        f"<p>Config <code>{html.escape(report['config'])}</code>; data manifest sha256 "
        f"<code>{report['data_dir_manifest_sha256'][:16]}</code>; baseline "
        f"<b>{html.escape(report['baseline'])}</b>.</p>",
    ]
    for title, note, header, rows in tables(report):
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if note:
            parts.append(f"<p>{html.escape(note)}</p>")
        parts.append(_html_table(header, rows))
    ann = report["annotations"]
    if ann.get("status") == "ok":
        parts.append("<h3>Human judgments per quantifier</h3>")
        parts.append(f"<pre>{html.escape(ann['scores_text'])}</pre>")
        if ann.get("compare_text"):
            parts.append("<h3>Human judgments: tests between systems</h3>")
            parts.append(f"<pre>{html.escape(ann['compare_text'])}</pre>")
    elif ann.get("note"):
        parts.append(f"<h2>Human judgments</h2><p>{html.escape(ann['note'])}</p>")
    if report["notes"]:
        items = "".join(f"<li>{html.escape(note)}</li>" for note in report["notes"])
        parts.append(f"<h2>Notes</h2><ul>{items}</ul>")
    encoded = base64.b64encode(png).decode("ascii")
    parts.append("<h2>Chart</h2>")
    parts.append(f"<img alt='correct rate with intervals' src='data:image/png;base64,{encoded}'>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- command


@dataclass
class CompareResult:
    report: dict[str, Any]
    output: Path | None
    ran: list[dict[str, Any]]
    cached: list[dict[str, Any]]


def compare(
    config: Config, dry_run: bool = False, only: Sequence[str] | None = None
) -> CompareResult:
    """Run what is missing, then write the report (rank 0 only under accelerate).

    ``only``: run just these systems' missing tasks (e.g. the vLLM ones in one call and
    the PEFT ones under ``accelerate launch`` in another); the report is written once
    every system has results.
    """
    names = [s.name for s in config.systems]
    unknown = [n for n in only or () if n not in names]
    if unknown:
        raise InputError(f"--only: no system named {', '.join(unknown)} ({', '.join(names)})")
    jobs = plan(config)
    runnable = [j for j in jobs if j.missing and (only is None or j.system.name in only)]
    waiting = [j for j in jobs if j.missing and j not in runnable]
    ran = [{"system": j.system.name, "tasks": j.missing} for j in runnable]
    cached = [
        {"system": j.system.name, "tasks": [t for t in j.system.tasks if t not in j.missing]}
        for j in jobs
        if len(j.missing) < len(j.system.tasks)
    ]
    if dry_run:
        return CompareResult({}, None, ran, cached)
    config.output = check_report_dir(config)  # before any model runs, not after
    for job in runnable:
        print(f"compare: running {job.system.name}: {', '.join(job.missing)}", file=sys.stderr)
        run_job(job, config)
    if _rank() != 0:
        return CompareResult({}, None, ran, cached)
    if waiting:
        print(
            "compare: no report yet; still without results: "
            + "; ".join(f"{j.system.name} ({', '.join(j.missing)})" for j in waiting),
            file=sys.stderr,
        )
        return CompareResult({}, None, ran, cached)

    samples: dict[str, dict[str, list[dict]]] = {}
    by_name = {j.system.name: j for j in jobs}
    for system in config.systems:
        if system.kind == "rule":
            samples[system.name] = baselines.rule_samples(
                system.rule or system.name, config.data_dir, system.limit
            )
        else:
            samples[system.name] = load_job_samples(by_name[system.name], config)
    report = build_report(config, samples)
    png = chart_png(report)
    with atomic_dir(config.output) as tmp:
        (tmp / "report.json").write_text(
            json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8"
        )
        (tmp / "report.md").write_text(render_markdown(report), encoding="utf-8")
        (tmp / "report.html").write_text(render_html(report, png), encoding="utf-8")
        (tmp / "chart.png").write_bytes(png)
    return CompareResult(report, config.output, ran, cached)


REPORT_FILES = frozenset({"report.json", "report.md", "report.html", "chart.png"})


def check_report_dir(config: Config) -> Path:
    """Where the report may go.

    The report replaces its directory whole, so that must be new, empty or a previous
    report, and hold none of the inputs (config, data, adapters, study runs, ratings,
    cache).
    """
    inputs = [config.path, config.data_dir, config.cache, *(f for _, f in config.legacy)]
    inputs += [s.adapter for s in config.systems if s.adapter is not None]
    inputs += [config.annotations] if config.annotations is not None else []
    return data.check_output_dir(
        config.output, inputs, own_files=REPORT_FILES, marker="report.json", what="report"
    )


def cmd_compare(args: argparse.Namespace) -> None:
    config = load_config(args.config, args.out)
    if args.cache:
        config.cache = Path(args.cache)
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    result = compare(config, dry_run=args.dry_run, only=only)
    if args.dry_run:
        summary = {"would_run": result.ran, "cached": result.cached}
        print(json.dumps(summary, indent=2) if args.json else _plan_text(summary))
        return
    if not result.report:
        return
    if args.json:
        print(
            json.dumps(
                {"report": result.report, "ran": result.ran, "cached": result.cached},
                indent=2,
                default=str,
            )
        )
        return
    print(_plan_text({"ran": result.ran, "cached": result.cached}))
    for title, _note, header, rows in tables(result.report)[1:4]:
        print(f"\n{title}\n{_md_table(header, rows)}")
    print(f"\nwrote {result.output}/report.md, report.html, report.json, chart.png")


def _plan_text(summary: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for label, entries in summary.items():
        for entry in entries:
            lines.append(
                f"{label.replace('_', ' ')}: {entry['system']}: {', '.join(entry['tasks'])}"
            )
        if not entries:
            lines.append(f"{label.replace('_', ' ')}: nothing")
    return "\n".join(lines)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare baselines and adapters: one report with tables, tests and a chart",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Compare systems on the logic_claims tasks and write report.md, report.html,
report.json and chart.png: correct/tie/wrong per quantifier and for universal /
existential claims (main and contrast splits), log-likelihood accuracy, McNemar exact
tests against the baseline with Holm's correction, bootstrap intervals, the study's
published runs and, with `annotations:`, human factuality/justification.

lm-eval runs only for (system, task) pairs without cached results; the cache key covers
model, adapter content, task, limit, data manifest, model/generation arguments and the
task code. A rerun with nothing changed runs no model and writes the same report.

config (YAML):
  name: demo
  limit: 10                       # lm-eval --limit per quantifier subtask
  baseline: zero-shot             # McNemar tests are against this system
  defaults: {model: smollm2-135m-instruct}
  systems:
    - {name: quantifier-rule, kind: rule}
    - {name: zero-shot, tasks: [logic_claims_explain, logic_claims_contrast_explain]}
    - {name: rag3, tasks: [logic_claims_rag3, logic_claims_contrast_rag3]}
    - {name: peft, adapter: runs/demo/adapter}   # default tasks: main + contrast, gen + mc
  legacy: [{name: "study PEFT(8)", file: ../shared/data/seed-results/model4.txt}]
  annotations: runs/ratings.sqlite  # optional

examples:
  logic-claims compare --config harness/configs/demo.yaml
  logic-claims compare --config harness/configs/demo.yaml --dry-run    # what would run
  # data-parallel PEFT systems on 8 GPUs, then the report (nothing left to run):
  accelerate launch --num_processes 8 -m logic_claims.harness.cli compare \\
      --config harness/configs/study.yaml --only peft8,peft4
  logic-claims compare --config harness/configs/study.yaml""",
    )
    parser.add_argument("--config", required=True, help="compare config (YAML)")
    parser.add_argument(
        "--out", help="output directory (default: config `output:` or reports/NAME)"
    )
    parser.add_argument(
        "--cache",
        help="results cache directory (default: config `cache:` or $LOGIC_CLAIMS_CACHE/compare)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--dry-run", action="store_true", help="only say which systems and tasks would run"
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="comma-separated systems to run now; the report waits until all have results",
    )
    parser.set_defaults(func=cmd_compare)
