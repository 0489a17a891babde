"""A report table as column specs: each column a header and the function writing its cell.

A table is its rows (any objects: result dicts, dataclasses) and a list of
:class:`Column`; the header and the cells are read off the columns, so adding a column is
one line in the column list, and the header and the cells cannot drift apart. Templates
read ``table.title``, ``table.note``, ``table.header`` and ``table.rows`` (lists of strings).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logic_claims.harness.report.format import MISSING


@dataclass(frozen=True)
class Column:
    """One column: its header and how a row's cell is written."""

    header: str
    cell: Callable[[Any], str]


@dataclass(frozen=True)
class Table:
    """One section of a report: a title, a note (may be empty), columns and the row objects.

    ``placeholder``: with no rows, one row of ``–`` (a table that must appear even empty)."""

    title: str
    note: str
    columns: Sequence[Column]
    items: Sequence[Any]
    placeholder: bool = False

    @property
    def header(self) -> list[str]:
        return [c.header for c in self.columns]

    @property
    def rows(self) -> list[list[str]]:
        if not self.items and self.placeholder:
            return [[MISSING] * len(self.columns)]
        return [[c.cell(item) for c in self.columns] for item in self.items]
