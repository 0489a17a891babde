"""A report table as column specs: each column a header and the function writing its cell.

A table is its rows (any objects: result dicts, dataclasses) and a list of
:class:`Column`; the header and the cells are read off the columns, so adding a column is
one line in the column list, and the header and the cells cannot drift apart. Templates
read ``table.title``, ``table.note``, ``table.header`` and ``table.rows`` (lists of strings);
HTML ones also ``table.links`` (each cell's link, or None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logic_claims.harness.report.format import MISSING


@dataclass(frozen=True)
class Column:
    """One column: its header, how a row's cell is written and, optionally, where the cell
    links to in an HTML report (the claims explorer filtered to the cell's claims)."""

    header: str
    cell: Callable[[Any], str]
    link: Callable[[Any], str | None] | None = None


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

    @property
    def links(self) -> list[list[str | None]]:
        """Each cell's link (None: none, or the cell is empty), row by row as ``rows``."""
        if not self.items:
            return [[None] * len(self.columns)] if self.placeholder else []
        return [
            [
                c.link(item) if c.link and cell != MISSING else None
                for c, cell in zip(self.columns, row, strict=True)
            ]
            for item, row in zip(self.items, self.rows, strict=True)
        ]
