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
