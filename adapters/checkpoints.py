"""Everything a run writes to its output directory, and how it is taken back.

``OUT/adapter_*`` (PEFT's ``save_pretrained``, adapter_config.json moved in last),
``train_config.json`` (what ran: config, inputs, backend, versions), ``metrics.jsonl``
(one line per logging step), ``loss.png``, and ``checkpoints/step-N/`` (Accelerate's
``save_state``, written aside and renamed into place) for ``--resume``. A run never
removes a file it did not write (``OUTPUT_FILES``), and a diverged run takes its own
files back (``discard_run``).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from logic_claims.adapters.config import TrainConfig
from logic_claims.tasks import io as atomic
from logic_claims.tasks.errors import InputError

ADAPTER_FILES = ("adapter_model.safetensors", "adapter_config.json")
# What a run writes at the top of its output directory (--overwrite removes only these).
OUTPUT_FILES = (*ADAPTER_FILES, "README.md", "train_config.json", "metrics.jsonl", "loss.png")
CHECKPOINTS = "checkpoints"


# --------------------------------------------------------------------------- output dir


def checkpoints(out: Path) -> list[Path]:
    """Complete checkpoints, oldest first (trainer_state.json is written last)."""
    root = out / CHECKPOINTS
    found = [p for p in root.glob("step-*") if (p / "trainer_state.json").is_file()]
    return sorted(found, key=lambda p: int(p.name.split("-")[1]))


def check_output_dir(out: Path, resume: bool, overwrite: bool) -> Path | None:
    """Refuse to clobber a finished adapter; return the checkpoint to resume from."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite contradict each other; pass one")
    if out.exists() and not out.is_dir():
        raise InputError("is a file; --output-dir must be a new or empty directory", out)
    if any(p.exists() and not p.is_dir() for p in out.parents):
        raise InputError("lies under a file; --output-dir must be a directory", out)
    finished = (out / "adapter_config.json").is_file()
    found = checkpoints(out) if out.is_dir() else []
    if resume:
        if finished:
            raise InputError("already holds a finished adapter; nothing to resume", out)
        if not found:
            raise InputError(f"no checkpoint to resume from in {CHECKPOINTS}/", out)
        return found[-1]
    if (finished or found) and not overwrite:
        what = "an adapter" if finished else "checkpoints of an unfinished run (--resume?)"
        raise InputError(f"already holds {what}; pass --overwrite to replace it", out)
    # A fresh run removes OUTPUT_FILES first: only ever those a run wrote.
    ours = finished or found or (out / "train_config.json").is_file()
    clash = [name for name in (*OUTPUT_FILES, CHECKPOINTS) if (out / name).exists()]
    if clash and not ours:
        raise InputError(
            f"holds {', '.join(clash)} that no training run wrote; "
            "give a new or empty --output-dir",
            out,
        )
    return None


def check_resume_config(resume_from: Path, cfg: TrainConfig, world: int) -> None:
    """Refuse to resume a checkpoint with a config, or a number of processes, other than
    the ones it was saved with.

    Each process's batches, RNG state and (under DeepSpeed) optimizer partition are
    those of its rank in a world of that size, so another world size would not continue
    the same run.
    """
    state = json.loads((resume_from / "trainer_state.json").read_text())
    saved = state.get("world_size", 1)  # checkpoints before multi-process runs: one
    if saved != world:
        raise InputError(
            f"--resume: the checkpoint was written by {saved} process(es), this run has "
            f"{world}; resume with {saved} (accelerate launch --num_processes {saved}), "
            "or start afresh with --overwrite",
            resume_from,
        )
    if state["config_digest"] != cfg.digest():
        diff = sorted(k for k, v in cfg.to_dict().items() if state["config"].get(k) != v)
        raise InputError(
            f"--resume with a config that differs from the checkpoint's ({', '.join(diff)})",
            resume_from,
        )


def clear_output_dir(out: Path) -> None:
    """Remove what an earlier run wrote (``OUTPUT_FILES`` and checkpoints), nothing else."""
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)


def discard_run(out: Path, start_step: int, made_dir: bool) -> None:
    """Take back what a run that failed after ``start_step`` wrote to ``out``.

    A fresh run leaves no file of its own (and no ``out`` it created); a resumed run
    keeps the checkpoints and metrics it resumed from and drops the later ones.
    """
    if start_step == 0:
        clear_output_dir(out)
        if made_dir and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        return
    for checkpoint in checkpoints(out):
        if int(checkpoint.name.split("-")[1]) > start_step:
            shutil.rmtree(checkpoint, ignore_errors=True)
    metrics = out / "metrics.jsonl"
    atomic.write_jsonl(metrics, [r for r in read_metrics(metrics) if r["step"] <= start_step])


# --------------------------------------------------------------------------- checkpoints


def keep_adapter_only(accelerator: Any, module: Any) -> None:
    """Make Accelerate's checkpoints hold the trainable (adapter) weights only.

    Plain Accelerate would checkpoint the whole base model; the adapter is enough.
    """
    trainable_names = {
        n for n, p in accelerator.unwrap_model(module).named_parameters() if p.requires_grad
    }

    def hook(models: list, weights: list, _dir: str) -> None:
        for i, state in enumerate(weights):
            weights[i] = {k: v for k, v in state.items() if k in trainable_names}

    accelerator.register_save_state_pre_hook(hook)


def save_checkpoint(accelerator: Any, out: Path, step: int, cfg: TrainConfig) -> None:
    """Adapter + optimizer + scheduler + RNG state, written aside then renamed into place."""
    root = out / CHECKPOINTS
    final, tmp = root / f"step-{step:07d}", root / f".step-{step:07d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    if accelerator.state.deepspeed_plugin is not None:
        accelerator.save_state(str(tmp), exclude_frozen_parameters=True)
    else:
        accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        state = {
            "step": step,
            "world_size": accelerator.num_processes,
            "config_digest": cfg.digest(),
            "config": cfg.to_dict(),
        }
        atomic.write_json(tmp / "trainer_state.json", state)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        for old in checkpoints(out)[: -cfg.save_total_limit]:
            shutil.rmtree(old, ignore_errors=True)
    accelerator.wait_for_everyone()


def load_checkpoint(accelerator: Any, out: Path, resume_from: Path, backend: dict[str, Any]) -> int:
    """Restore the state saved in ``resume_from``; return its step.

    The main process also drops the metrics ``out`` logged after that step.
    """
    if backend["name"] == "deepspeed":
        accelerator.load_state(str(resume_from), load_module_strict=False)
    else:
        accelerator.load_state(str(resume_from), strict=False)
    step = json.loads((resume_from / "trainer_state.json").read_text())["step"]
    if accelerator.is_main_process:
        metrics = out / "metrics.jsonl"
        atomic.write_jsonl(metrics, [r for r in read_metrics(metrics) if r["step"] <= step])
    return step


def save_adapter(accelerator: Any, module: Any, out: Path, backend: dict[str, Any]) -> None:
    """``save_pretrained`` of the adapter; under ZeRO-3 its shards are gathered first.

    Without the gather each partitioned tensor saves as shape (0,), which PEFT/lm-eval
    then refuse to load. Files are written aside; adapter_config.json moves in last,
    so its presence means a complete adapter.
    """
    peft_model = accelerator.unwrap_model(module).model
    tmp = out / ".adapter.tmp"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()
    # Only process 0 calls save_pretrained: PEFT creates the folder on every process,
    # and a slower rank's folder appeared after process 0 had moved the files and
    # removed it (a `.adapter.tmp` left behind, seen once in CI under load).
    if backend["name"] == "deepspeed":
        import deepspeed

        trainable = [p for p in peft_model.parameters() if p.requires_grad]
        with deepspeed.zero.GatheredParameters(trainable, modifier_rank=None):
            if main:
                peft_model.save_pretrained(tmp)
    elif main:
        peft_model.save_pretrained(tmp)
    if main:
        names = ("adapter_model.safetensors", "README.md", "adapter_config.json")
        for name in names:
            if (tmp / name).exists():
                os.replace(tmp / name, out / name)
        shutil.rmtree(tmp, ignore_errors=True)
    accelerator.wait_for_everyone()


# --------------------------------------------------------------------------- run records


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of metrics.jsonl (none if it is not there yet)."""
    return atomic.read_jsonl(path) if path.is_file() else []


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """One logging step's record as a line of metrics.jsonl."""
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def git_commit() -> dict[str, Any]:
    """The checkout's HEAD commit and whether tracked files differ from it."""
    repo = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    if head.returncode != 0:
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def versions() -> dict[str, str]:
    """Installed versions of the packages a run's result depends on."""
    names = ("torch", "transformers", "peft", "accelerate", "deepspeed")
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def finish_run_info(out: Path, run_info: dict[str, Any], steps_done: int, title: str) -> None:
    """Final validation loss and steps into train_config.json, and the loss plot."""
    records = read_metrics(out / "metrics.jsonl")
    finals = [r["val_loss"] for r in records if r.get("val_loss") is not None]
    run_info["final_val_loss"] = finals[-1] if finals else None
    run_info["steps_done"] = steps_done
    atomic.write_json(out / "train_config.json", run_info)
    plot_losses(records, out / "loss.png", title)


def plot_losses(records: list[dict[str, Any]], path: Path, title: str) -> None:
    """Train and validation loss per answer token against the step, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    train = [(r["step"], r["train_loss"]) for r in records if r.get("train_loss") is not None]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("val_loss") is not None]
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, label="train (answer tokens)", color="#4C72B0")
    if val:
        steps, losses = zip(*val, strict=True)
        ax.plot(steps, losses, "o-", label="validation", color="#DD8452")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy per answer token")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
