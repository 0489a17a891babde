"""What the ``annotate`` commands share: help texts, name lists, the store's files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from logic_claims.tasks.errors import InputError

RATINGS_HELP = (
    "judgments: an annotation store (.sqlite from `annotate new`/`import-legacy`), a wide "
    "CSV (item_id,system,annotator,factual,justified,...) or a JSONL file"
)
DIMENSION_HELP = (
    "a dimension NAME[:LABEL/LABEL/...[:DEFINITION]], repeatable (default: factual and "
    "justified, labels 0/1)"
)


def names(text: str, what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError(f"{what}: give at least one name, comma-separated")
    if len(set(names)) != len(names):
        raise InputError(f"{what}: a name is given twice ({text})")
    return names


def store_files(path: str | Path) -> list[str]:
    """A store and the files SQLite keeps beside it: none may be overwritten by an output."""
    return [str(path), *(f"{path}{suffix}" for suffix in ("-wal", "-shm", "-journal"))]


def sub_parser(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
