"""How many processes a launcher started, and whether it started fewer than were asked for.

``accelerate launch`` (and ``torchrun``) tell each process its place in ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``; these helpers read them without importing torch, so
the trainer and the evaluator can check their settings before a model loads.

Some launch commands that ask for N processes start one: on a machine without a GPU,
``accelerate launch --cpu --num_processes 2`` goes to Accelerate's simple launcher,
which starts one process unless ``--mpirun_hostfile`` is given (``--multi_gpu
--num_processes 2`` starts two gloo processes). Nothing in the environment of that one
process says two were asked for, so :func:`alone_notice` reads the launcher's own
command line (its parent process, on Linux) for ``--num_processes`` or the
``num_processes`` of its ``--config_file``.
"""

from __future__ import annotations

import os
from pathlib import Path

LAUNCH_HELP = "on a machine without a GPU use `accelerate launch --multi_gpu --num_processes N`"


def world_size() -> int:
    """Processes in this run (``WORLD_SIZE`` of the launcher; 1 without one)."""
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def rank() -> int:
    """This process's global rank (``RANK``; 0 without a launcher)."""
    return int(os.environ.get("RANK", "0") or 0)


def is_main() -> bool:
    """Whether this is the process that prints and writes (global rank 0)."""
    return rank() == 0


def _parent_args(pid: int | None = None) -> list[str]:
    """The command line of the parent process (empty where /proc cannot tell)."""
    try:
        raw = Path(f"/proc/{pid or os.getppid()}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a]


def _option(args: list[str], *names: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``args`` (the last one)."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                found = args[i + 1]
            elif arg.startswith(name + "="):
                found = arg.split("=", 1)[1]
    return found


def requested_processes(args: list[str]) -> int | None:
    """How many processes an ``accelerate launch`` command line asks for (None: not one)."""
    if not any(a.endswith("accelerate") or "accelerate.commands" in a for a in args[:3]):
        return None
    value = _option(args, "--num_processes", "--num-processes")
    if value is None:
        config = _option(args, "--config_file", "--config-file")
        if config is None:
            return None
        try:
            import yaml

            value = (yaml.safe_load(Path(config).read_text()) or {}).get("num_processes")
        except (OSError, ValueError, AttributeError, yaml.YAMLError):
            return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def alone_notice(args: list[str] | None = None) -> str | None:
    """A notice when ``accelerate launch`` was asked for N > 1 processes but this one is alone.

    ``args``: the launcher's command line (default: this process's parent's).
    """
    if world_size() > 1:
        return None
    args = _parent_args() if args is None else args
    asked = requested_processes(args)
    if asked is None or asked <= 1:
        return None
    how = " (--cpu starts one process unless --mpirun_hostfile is given)" if "--cpu" in args else ""
    return (
        f"accelerate launch asked for {asked} processes but started this one alone{how}; "
        f"{LAUNCH_HELP}"
    )


def limit_notice(limit: float | None) -> str | None:
    """A notice when lm-eval's ``limit`` (a count: 1 or more) is below the number of processes.

    lm-eval gives process r documents r, r + N, ...: with fewer documents per task than
    processes some get none, and lm-eval's evaluator fails on an empty share
    (``task.build_requests() did not find any docs!``). Such a run is evaluated by
    process 0 alone. A fraction (below 1) is left to lm-eval: its count depends on the task.
    """
    world = world_size()
    if limit is None or world <= 1 or not 1 <= limit < world:
        return None
    return f"--limit {int(limit)} is below the {world} processes: process 0 evaluates alone"


# What torchrun (under ``accelerate launch``) tells each process about the launch.
LAUNCH_VARIABLES = (
    "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
    "ROLE_RANK", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
)  # fmt: skip


def leave_launch() -> None:
    """Make this process a plain one: no rank, no world, no rendezvous (for process 0 alone).

    Call it before any process group starts: Accelerate and lm-eval then see one process.
    """
    for name in LAUNCH_VARIABLES:
        os.environ.pop(name, None)
