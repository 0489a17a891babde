"""Running: which (system, task) pairs must run, lm-eval for them, and the whole command.

:func:`plan` looks each (system, task) up in the cache; :func:`run_job` runs lm-eval once
for a system's missing tasks and stores each task's samples; :func:`compare` does both,
then builds the report and writes ``report.md``, ``report.html``, ``report.json`` and
``chart.png`` (rank 0 only under ``accelerate launch``).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logic_claims.harness import baselines, evaluate
from logic_claims.harness.compare.cache import (
    ENTRY,
    StaleEntry,
    adapter_hash,
    cache_key,
    code_hash,
    file_digests,
    library_versions,
    model_identity,
    read_entry,
    sample_file,
)
from logic_claims.harness.compare.config import Config, System
from logic_claims.harness.compare.results import build_report
from logic_claims.harness.report import explorer
from logic_claims.harness.report.compare import chart_png, render_html, render_markdown
from logic_claims.tasks import data, launch, retrieval
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import LM_EVAL_SAMPLES_NAME, atomic_dir, read_jsonl

REPORT_FILES = frozenset({"report.json", "report.md", "report.html", "chart.png"})


@dataclass
class Job:
    """One lm-eval system's cache keys per task, and the tasks without cached results."""

    system: System
    keys: dict[str, str]  # task -> cache key
    material: dict[str, dict[str, Any]]  # task -> key material
    missing: list[str]  # tasks without cached results


def plan(config: Config) -> list[Job]:
    """Which (system, task) pairs have cached results and which must run."""
    manifest = data.manifest_sha256(config.data_dir)
    shared = {"data_manifest_sha256": manifest, "code": code_hash()}
    shared["libraries"] = library_versions()
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
        missing = [
            t for t in system.tasks if not _cached(config.cache / keys[t], keys[t], system, t)
        ]
        jobs.append(Job(system, keys, material, missing))
    return jobs


def _cached(directory: Path, key: str, system: System, task: str) -> bool:
    """Whether the entry can be used; a damaged one is a miss, with a notice."""
    try:
        read_entry(directory, key)
    except StaleEntry as exc:
        if directory.exists() and launch.is_main():
            print(
                f"compare: cache entry {directory} ({system.name}, {task}): {exc}; recomputing",
                file=sys.stderr,
            )
        return False
    return True


# --------------------------------------------------------------------------- running


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

    found = {}
    for path in directory.rglob("samples_*.jsonl"):
        match = LM_EVAL_SAMPLES_NAME.match(path.name)
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
        if not launch.is_main() or not results:
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
                    shutil.copyfile(files[leaf], tmp / sample_file(leaf))
                entry = {
                    "system": system.name,
                    "task": task,
                    "subtasks": leaves,
                    "key": job.material[task],
                    "results": {leaf: results["results"].get(leaf) for leaf in leaves},
                    "files": file_digests(tmp, leaves),  # checked on every read
                }
                (tmp / ENTRY).write_text(
                    json.dumps(entry, indent=2, default=str) + "\n", encoding="utf-8"
                )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def load_job_samples(job: Job, config: Config) -> dict[str, list[dict[str, Any]]]:
    """The cached samples of a system's tasks, by subtask."""
    out: dict[str, list[dict[str, Any]]] = {}
    for task in job.system.tasks:
        directory = config.cache / job.keys[task]
        try:
            entry = read_entry(directory, job.keys[task])
        except StaleEntry as exc:  # changed since plan() read it
            raise InputError(f"cache entry ({job.system.name}, {task}): {exc}", directory) from exc
        for leaf in entry["subtasks"]:
            out[leaf] = read_jsonl(directory / sample_file(leaf))
    return out


@dataclass
class CompareResult:
    """What :func:`compare` did: the report (empty when none was written), where it went,
    and which (system, tasks) ran and which came from the cache."""

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
    if dry_run or not (runnable or launch.is_main()):  # the others of a launch: nothing to do
        return CompareResult({}, None, ran, cached)
    config.output = check_report_dir(config)  # before any model runs, not after
    for job in runnable:
        if launch.is_main():  # under accelerate launch every process runs every job
            print(f"compare: running {job.system.name}: {', '.join(job.missing)}", file=sys.stderr)
        run_job(job, config)
    if not launch.is_main():
        return CompareResult({}, None, ran, cached)
    if waiting:
        print(
            "compare: no report yet; still without results: "
            + "; ".join(f"{j.system.name} ({', '.join(j.missing)})" for j in waiting),
            file=sys.stderr,
        )
        return CompareResult({}, None, ran, cached)
    samples = _all_samples(config, jobs)
    report = build_report(config, samples)
    write_report(report, config.output, explorer.build(samples))
    return CompareResult(report, config.output, ran, cached)


def _all_samples(config: Config, jobs: list[Job]) -> dict[str, dict[str, list[dict]]]:
    """Every system's samples by task: rule systems computed, lm-eval ones from the cache."""
    samples: dict[str, dict[str, list[dict]]] = {}
    by_name = {j.system.name: j for j in jobs}
    for system in config.systems:
        if system.kind == "rule":
            samples[system.name] = baselines.rule_samples(
                system.rule or system.name, config.data_dir, system.limit
            )
        else:
            samples[system.name] = load_job_samples(by_name[system.name], config)
    return samples


def write_report(report: dict[str, Any], output: Path, claims: explorer.Explorer) -> None:
    """``report.json``, ``report.md``, ``report.html`` and ``chart.png``, replacing ``output``."""
    png = chart_png(report)
    with atomic_dir(output) as tmp:
        (tmp / "report.json").write_text(
            json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8"
        )
        (tmp / "report.md").write_text(render_markdown(report), encoding="utf-8")
        (tmp / "report.html").write_text(render_html(report, png, claims), encoding="utf-8")
        (tmp / "chart.png").write_bytes(png)


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
        config.output,
        inputs,
        own_files=REPORT_FILES,
        marker="report.json",
        what="report",
        option=config.output_from,
    )
