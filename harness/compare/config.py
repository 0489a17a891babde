"""The compare config: its YAML schema, checked into a :class:`Config` by :func:`load_config`.

Every problem is an :class:`InputError` naming the file and the line of the offending
node (``harness/configs/demo.yaml`` is a worked example)::

    name: demo
    limit: 10                      # lm-eval --limit per quantifier subtask
    baseline: zero-shot            # McNemar tests are against this system
    defaults: {model: smollm2-135m-instruct}
    systems:
      - {name: quantifier-rule, kind: rule}
      - {name: peft, adapter: runs/demo/adapter}
    legacy: [{name: "study PEFT(8)", file: ../shared/data/seed-results/model4.txt}]
    annotations: runs/ratings.sqlite
    bootstrap: {n_resamples: 2000}
    confidence_level: 0.95
    seed: 0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.harness import baselines, evaluate
from logic_claims.tasks import data
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import load_yaml, read_text

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_LM_TASKS = (
    "logic_claims",
    "logic_claims_contrast",
    "logic_claims_mc",
    "logic_claims_contrast_mc",
)
SYSTEM_KEYS = {
    "name", "kind", "rule", "model", "adapter", "tasks", "limit", "apply_chat_template",
    "backend", "model_args", "gen_kwargs", "batch_size", "device",
}  # fmt: skip
CONFIG_KEYS = {
    "name", "systems", "baseline", "limit", "defaults", "data_dir", "output", "cache",
    "legacy", "annotations", "bootstrap", "confidence_level", "seed",
}  # fmt: skip


@dataclass
class System:
    """One entry of ``systems:``: a rule baseline, or an lm-eval model with an optional adapter."""

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
        """The system's settings as the report's JSON shows them."""
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
    """A checked compare config (``bootstrap:`` gives ``n_resamples``)."""

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


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """The config's text and mapping; unknown top-level keys are errors."""
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
    return text, raw


def _defaults(raw: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """``defaults:``: lm-eval settings every lm-eval system starts from."""
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("`defaults:` must be a mapping", path, _line_of(text, "defaults"))
    for key in defaults:
        if key not in SYSTEM_KEYS - {"name", "kind", "rule"}:
            raise InputError(
                f"unknown key {clip(key)} in defaults", path, _line_of(text, "defaults", key)
            )
    return defaults


def _system_entry(entry: Any, index: int, taken: list[str], path: Path, line: int | None) -> str:
    """Check one ``systems:`` entry's shape and keys; return its (new) name."""
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
    if name in taken:
        raise InputError(f"two systems named {clip(name)}", path, line)
    return name


def _rule_system(
    entry: dict[str, Any], name: str, top_limit: Any, path: Path, line: int | None
) -> System:
    rule = str(entry.get("rule") or name)
    if rule not in baselines.RULE_SYSTEMS:
        raise InputError(
            f"system {clip(name)}: unknown rule {clip(rule)}; choose from "
            f"{', '.join(baselines.RULE_SYSTEMS)}",
            path,
            line,
        )
    limit = _limit(entry.get("limit", top_limit), name, path, line)
    return System(name=name, kind="rule", rule=rule, limit=limit)


def _lm_system(
    merged: dict[str, Any],
    name: str,
    top_limit: Any,
    check_adapters: bool,
    path: Path,
    line: int | None,
) -> System:
    """An lm-eval system from its entry merged over ``defaults:``."""
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
    return System(
        name=name,
        kind="lm_eval",
        adapter=adapter,
        tasks=list(dict.fromkeys(tasks)),
        limit=_limit(merged.get("limit", top_limit), name, path, line),
        **_lm_options(merged, name, path, line),
    )


def _systems(raw: dict[str, Any], path: Path, text: str, check_adapters: bool) -> list[System]:
    """``systems:`` (with ``defaults:`` and the top-level ``limit:``), checked in order."""
    systems_raw = raw.get("systems")
    if not isinstance(systems_raw, list) or not systems_raw:
        raise InputError("`systems:` must be a non-empty list", path, _line_of(text, "systems"))
    defaults = _defaults(raw, path, text)
    top_limit = _limit(raw.get("limit"), "config", path, _line_of(text, "limit"))
    systems: list[System] = []
    for index, entry in enumerate(systems_raw):
        line = _line_of(text, "systems", index)
        name = _system_entry(entry, index, [s.name for s in systems], path, line)
        kind = entry.get("kind") or (
            "rule" if "rule" in entry or name in baselines.RULE_SYSTEMS else "lm_eval"
        )
        if kind == "rule":
            systems.append(_rule_system(entry, name, top_limit, path, line))
        elif kind == "lm_eval":
            merged = {**defaults, **entry}
            systems.append(_lm_system(merged, name, top_limit, check_adapters, path, line))
        else:
            raise InputError(f"system {clip(name)}: kind must be rule or lm_eval", path, line)
    return systems


def _baseline(raw: dict[str, Any], systems: list[System], path: Path, text: str) -> str:
    names = [s.name for s in systems]
    baseline = str(raw.get("baseline") or names[0])
    if baseline not in names:
        raise InputError(
            f"baseline {clip(baseline)} is not one of the systems ({clip(', '.join(names))})",
            path,
            _line_of(text, "baseline"),
        )
    return baseline


def _legacy(raw: dict[str, Any], path: Path, text: str) -> tuple[list[tuple[str, Path]], list[str]]:
    """``legacy:`` runs of the study that exist, and a note for each one that does not."""
    runs: list[tuple[str, Path]] = []
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
        runs.append((str(entry.get("name") or file.stem), file))
    return runs, notes


def load_config(
    path: str | Path, out: str | Path | None = None, check_adapters: bool = True
) -> Config:
    """Read and check a compare config; every problem is an InputError with file and line.

    Relative paths (adapters, legacy files, data_dir, output, cache) are taken from the
    current directory, the repository root when run through ``make``.
    """
    path = Path(path)
    text, raw = _read(path)
    systems = _systems(raw, path, text, check_adapters)
    baseline = _baseline(raw, systems, path, text)
    legacy_runs, notes = _legacy(raw, path, text)
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
