"""A judgment as read from a file: the record every importer yields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Label Studio tasks are blinded: a completion names the item, never the system, so its
# judgments apply to whichever system(s) gave that answer.
ANY_SYSTEM = "*"


@dataclass
class Judgment:
    """One judgment read from a file, with where it came from."""

    item_id: str
    system: str
    annotator: str
    dimension: str
    value: str
    line: int
    time: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
