"""The compare config: its YAML schema, checked into a :class:`Config` by :func:`load_config`.

Every problem is an :class:`InputError` naming the file and the line of the offending
node. The statistics settings (:class:`Bootstrap`, :class:`RunSettings`) and each lm-eval
system's options (:class:`LmOptions`) are dataclasses that ``tasks/settings.py`` parses,
as it does the training config; the rest (systems, legacy runs, paths) is checked here.
The keys are shown with an example in ``logic-claims compare --help`` (``cli.py``) and
``harness/configs/demo.yaml``; ``study.yaml`` adds vLLM and several GPUs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.annotations.stats import MCNEMAR_TESTS, PRIMARY_TESTS
from logic_claims.harness import baselines, evaluate
from logic_claims.tasks import data, sources
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import load_yaml, read_text
from logic_claims.tasks.models import DEFAULT_MODEL
from logic_claims.tasks.settings import SEED_RANGE, check_keys, in_range, line_of, parse

CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_LM_TASKS = (
    "logic_claims",
    "logic_claims_contrast",
    "logic_claims_mc",
    "logic_claims_contrast_mc",
)
MAX_RESAMPLES = 1_000_000  # scipy holds every resample in memory at once
NAME = {"nonblank": True}


@dataclass
class Bootstrap:
    """``bootstrap:``: how the confidence intervals resample."""

    n_resamples: int = field(default=2000, metadata=in_range(1, MAX_RESAMPLES))


def one_of(key: str, choices: tuple[str, ...]) -> dict[str, Any]:
    """Field metadata for setting ``key`` that takes one of ``choices``."""

    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"{key} must be one of {', '.join(choices)}, got {clip(value)}")
        return str(value)

    return {"parse": check}


@dataclass
class RunSettings:
    """The top-level settings of a comparison's statistics.

    ``primary_test`` is declared before any model runs: the test whose p-values (Holm
    across every system x split x metric) answer "does the system differ from the
    baseline?"; ``mcnemar`` picks the McNemar variant shown as a sensitivity analysis.
    """

    confidence_level: float = field(
        default=0.95, metadata=in_range(0, 1, low_open=True, high_open=True)
    )
    seed: int = field(default=0, metadata=SEED_RANGE)
    primary_test: str = field(
        default=PRIMARY_TESTS[0], metadata=one_of("primary_test", PRIMARY_TESTS)
    )
    mcnemar: str = field(default="midp", metadata=one_of("mcnemar", tuple(MCNEMAR_TESTS)))


@dataclass
class LmOptions:
    """The lm-eval options of a system or of ``defaults:`` (null: the default)."""

    model: str | None = field(default=None, metadata=NAME)  # DEFAULT_MODEL
    backend: str | None = field(default=None, metadata=NAME)  # evaluate.DEFAULT_BACKEND
    device: str | None = field(default=None, metadata=NAME)
    tasks: list[str] | None = None  # DEFAULT_LM_TASKS
    limit: int | float | None = field(default=None, metadata={"parse": evaluate.limit_value})
    apply_chat_template: bool = False
    # null: the backend's own (hf 8; hf-fast 32 generated, 32 scored a pass)
    batch_size: int | str | None = field(
        default=None, metadata={"parse": evaluate.batch_size_value}
    )
    model_args: dict[str, Any] | None = None
    gen_kwargs: dict[str, Any] | None = None


LM_KEYS = {f.name for f in dataclasses.fields(LmOptions)}
RUN_KEYS = [f.name for f in dataclasses.fields(RunSettings)]
SYSTEM_KEYS = {"name", "kind", "rule", "adapter", *LM_KEYS}
CONFIG_KEYS = {
    "name", "systems", "baseline", "limit", "defaults", "data_dir", "output", "cache",
    "legacy", "annotations", "bootstrap", *RUN_KEYS,
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
    backend: str = evaluate.DEFAULT_BACKEND
    model_args: dict[str, Any] = field(default_factory=dict)
    gen_kwargs: dict[str, Any] | None = None
    batch_size: int | str | None = None
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
    # The statistics settings: their defaults are those of Bootstrap and RunSettings.
    n_resamples: int = Bootstrap.n_resamples
    confidence_level: float = RunSettings.confidence_level
    seed: int = RunSettings.seed
    primary_test: str = RunSettings.primary_test
    mcnemar: str = RunSettings.mcnemar
    output_from: str = "--out"  # where ``output`` came from, for its errors


def _run_settings(raw: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """``bootstrap.n_resamples`` and the :class:`RunSettings` keys, checked."""
    boot = raw.get("bootstrap") or {}
    if not isinstance(boot, dict):
        raise InputError(
            "`bootstrap:` must be a mapping with `n_resamples:` only",
            path,
            line_of(text, "bootstrap"),
        )
    boot = parse(Bootstrap, boot, path, text=text, at=("bootstrap",), label="bootstrap: ")
    top = parse(
        RunSettings,
        {k: raw[k] for k in RUN_KEYS if k in raw},
        path,
        text=text,
    )
    return {**dataclasses.asdict(Bootstrap(**boot)), **dataclasses.asdict(RunSettings(**top))}


def _options(
    mapping: dict[str, Any], path: Path, text: str, at: tuple[str | int, ...], label: str
) -> dict[str, Any]:
    """The lm-eval options given in ``mapping`` (a system or ``defaults:``), checked."""
    given = {key: value for key, value in mapping.items() if key in LM_KEYS}
    return parse(LmOptions, given, path, text=text, at=at, label=label)


def _path_value(value: Any, key: str, path: Path, line: int | None) -> Path | None:
    """A path setting: a string (no NUL), or None when absent or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or "\x00" in value:
        raise InputError(f"{key} must be a path, got {clip(value)}", path, line)
    return Path(value)


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    """The config's text and mapping; unknown top-level keys are errors."""
    text = read_text(path, empty=None)
    raw = load_yaml(text, path)  # aliases bounded: a few bytes cannot expand to gigabytes
    if not isinstance(raw, dict):
        raise InputError("a compare config is a YAML mapping with a `systems:` list", path)
    # "x-..." keys hold YAML anchors to reuse (as in docker-compose files).
    keys = [key for key in raw if not str(key).startswith("x-")]
    check_keys(keys, CONFIG_KEYS, path, text=text)
    return text, raw


def _defaults(raw: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """``defaults:``: lm-eval settings every lm-eval system starts from."""
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("`defaults:` must be a mapping", path, line_of(text, "defaults"))
    known = SYSTEM_KEYS - {"name", "kind", "rule"}
    check_keys(defaults, known, path, text=text, at=("defaults",), label="defaults: ")
    return defaults


def _system_entry(
    entry: Any, index: int, taken: list[str], path: Path, text: str, line: int | None
) -> str:
    """Check one ``systems:`` entry's shape and keys; return its (new) name."""
    if not isinstance(entry, dict) or not entry.get("name"):
        raise InputError(f"system {index + 1}: a mapping with a `name:`", path, line)
    label = f"system {clip(entry['name'])}: "
    check_keys(entry, SYSTEM_KEYS, path, text=text, at=("systems", index), label=label)
    name = str(entry["name"])
    if name in taken:
        raise InputError(f"two systems named {clip(name)}", path, line)
    return name


def _rule_system(
    entry: dict[str, Any], name: str, index: int, top_limit: Any, path: Path, text: str
) -> System:
    """A rule baseline; of the lm-eval options it takes only ``limit``."""
    rule = str(entry.get("rule") or name)
    if rule not in baselines.RULE_SYSTEMS:
        raise InputError(
            f"system {clip(name)}: unknown rule {clip(rule)}; choose from "
            f"{', '.join(baselines.RULE_SYSTEMS)}",
            path,
            line_of(text, "systems", index),
        )
    given = {key: entry[key] for key in ("limit",) if key in entry}
    options = _options(given, path, text, ("systems", index), f"system {clip(name)}: ")
    return System(name=name, kind="rule", rule=rule, limit=options.get("limit", top_limit))


def _lm_system(
    entry: dict[str, Any],
    defaults: dict[str, Any],
    name: str,
    index: int,
    top_limit: Any,
    check_adapters: bool,
    path: Path,
    text: str,
) -> System:
    """An lm-eval system: its entry's options over those of ``defaults:``."""
    label = f"system {clip(name)}: "
    options = _options(defaults, path, text, ("defaults",), label)
    options |= _options(entry, path, text, ("systems", index), label)
    lm = LmOptions(**options)
    adapter = entry.get("adapter", defaults.get("adapter"))
    if adapter is not None:
        adapter = Path(str(adapter))
        if check_adapters and not evaluate.is_adapter(adapter):
            raise InputError(
                f"system {clip(name)}: adapter {clip(str(adapter))} is not a PEFT adapter "
                "directory (no adapter_config.json; train one first)",
                path,
                line_of(text, "systems", index),
            )
    return System(
        name=name,
        kind="lm_eval",
        model=lm.model or DEFAULT_MODEL,
        adapter=adapter,
        tasks=list(dict.fromkeys(lm.tasks or DEFAULT_LM_TASKS)),
        limit=options.get("limit", top_limit),
        apply_chat_template=lm.apply_chat_template,
        backend=lm.backend or evaluate.DEFAULT_BACKEND,
        model_args=lm.model_args or {},
        gen_kwargs=lm.gen_kwargs,
        batch_size=lm.batch_size,
        device=lm.device,
    )


def _systems(raw: dict[str, Any], path: Path, text: str, check_adapters: bool) -> list[System]:
    """``systems:`` (with ``defaults:`` and the top-level ``limit:``), checked in order."""
    systems_raw = raw.get("systems")
    if not isinstance(systems_raw, list) or not systems_raw:
        raise InputError("`systems:` must be a non-empty list", path, line_of(text, "systems"))
    defaults = _defaults(raw, path, text)
    top = {key: raw[key] for key in ("limit",) if key in raw}
    top_limit = _options(top, path, text, (), "config: ").get("limit")
    systems: list[System] = []
    for index, entry in enumerate(systems_raw):
        line = line_of(text, "systems", index)
        name = _system_entry(entry, index, [s.name for s in systems], path, text, line)
        kind = entry.get("kind") or (
            "rule" if "rule" in entry or name in baselines.RULE_SYSTEMS else "lm_eval"
        )
        if kind == "rule":
            systems.append(_rule_system(entry, name, index, top_limit, path, text))
        elif kind == "lm_eval":
            args = (name, index, top_limit, check_adapters, path, text)
            systems.append(_lm_system(entry, defaults, *args))
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
            line_of(text, "baseline"),
        )
    return baseline


def _legacy(raw: dict[str, Any], path: Path, text: str) -> tuple[list[tuple[str, Path]], list[str]]:
    """``legacy:`` runs of the study that exist, and a note for each one that does not."""
    runs: list[tuple[str, Path]] = []
    notes: list[str] = []
    if not isinstance(raw.get("legacy") or [], list):
        raise InputError("`legacy:` must be a list of {name, file}", path, line_of(text, "legacy"))
    for index, entry in enumerate(raw.get("legacy") or []):
        if not isinstance(entry, dict) or "file" not in entry:
            raise InputError(
                "legacy: entries are {name, file}", path, line_of(text, "legacy", index)
            )
        file = _path_value(entry["file"], "legacy: file", path, line_of(text, "legacy", index))
        if file is None:
            raise InputError("legacy: file may not be empty", path, line_of(text, "legacy", index))
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
        key: _path_value(raw.get(key), key, path, line_of(text, key))
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
        output_from="--out" if out or not paths["output"] else f"`output:` of {path.name}",
        cache=paths["cache"] or sources.cache_dir() / "compare",
        legacy=legacy_runs,
        annotations=paths["annotations"],
        notes=notes,
        **settings,
    )
