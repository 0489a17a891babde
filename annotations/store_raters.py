"""Who a rater is: a person or a model (an automatic judge, with what it is: model,
adapter, method, prompt version, settings), recorded once in the store's ``annotators``
table (schema version 2; version 1 kept a judge's settings as ``rater:NAME`` in ``meta``).

People's paths (the page, the TUI, imports of people's files) never write as a model:
a model's judgments come only from ``annotate judge``, or from an import of a judge's own
export, which carries the judge's settings (``check_import_rater``).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from logic_claims.tasks.errors import InputError

KINDS = ("person", "model")


class Raters:
    """The rater methods of ``Store`` (a mixin: ``conn`` and ``path`` are the store's)."""

    conn: sqlite3.Connection
    path: Path

    def annotators(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM annotators ORDER BY name")]

    def check_annotator(self, name: str) -> None:
        known = self.annotators()
        if name not in known:
            shown = ", ".join(known) if known else "none yet"
            raise InputError(f"unknown rater {name!r} (this set has: {shown})", self.path)

    # A rater is a person or a model (an automatic judge, with what it is: model, adapter,
    # method, prompt version, settings), recorded once in ``annotators``. People's paths
    # (the page, the TUI, imports of people's files) never write as a model.
    def rater_kind(self, name: str) -> str | None:
        """``person`` or ``model``; None for a name that is not a rater of this set."""
        row = self.conn.execute("SELECT kind FROM annotators WHERE name=?", (name,)).fetchone()
        return None if row is None else row[0]

    def rater_info(self, name: str) -> dict[str, Any] | None:
        """What rater ``name`` is (a judge's model and settings), or None for a person."""
        row = self.conn.execute(
            "SELECT judge FROM annotators WHERE name=? AND kind='model'", (name,)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def set_rater_info(self, name: str, info: dict[str, Any]) -> None:
        """Record that rater ``name`` is a model judge with ``info`` (call inside
        ``transaction()``, after ``add_annotator``)."""
        self.conn.execute(
            "UPDATE annotators SET kind='model', judge=? WHERE name=?", (json.dumps(info), name)
        )

    def people(self) -> list[str]:
        """The raters who are people (the page's and the TUI's raters)."""
        query = "SELECT name FROM annotators WHERE kind='person' ORDER BY name"
        return [r[0] for r in self.conn.execute(query)]

    def check_person(self, name: str) -> None:
        """``name`` is a rater of this set and a person: people's paths never write as a
        model judge."""
        self.check_annotator(name)
        if self.rater_kind(name) == "model":
            raise InputError(
                f"rater {name!r} is a model judge: its judgments come only from "
                "`annotate judge` (or an import of the judge's own export); choose a person",
                self.path,
            )

    def check_import_rater(
        self, name: str, kind: str, judge: dict[str, Any] | None, where: tuple[Path, int]
    ) -> None:
        """An imported judgment's rater (``kind`` and ``judge`` settings as its file says)
        fits the store's record of ``name``, which must exist; a model rater of a file
        without its judge's settings, a person's judgment under a model's name, or a judge
        with other settings is refused (InputError at ``where``). A rater of the set who
        has judged nothing yet may become the judge (as with ``annotate judge``)."""
        stored = self.rater_kind(name)
        if kind == "model" and not judge:
            raise InputError(
                f"model rater {name!r} without its judge settings: model judgments come only "
                "from `annotate judge` or an export of one (its rater_kind and judge columns)",
                *where,
            )
        if stored == "model" and kind != "model":
            raise InputError(
                f"rater {name!r} is a model judge in this set: a person's judgments cannot be "
                "written under its name (map the person to another rater)",
                *where,
            )
        if kind != "model":
            return
        if stored == "person":
            judged = self.conn.execute("SELECT 1 FROM ratings WHERE annotator=? LIMIT 1", (name,))
            if judged.fetchone() is not None:
                raise InputError(
                    f"rater {name!r} is a person in this set, a model judge in the file", *where
                )
            self.set_rater_info(name, judge or {})
        elif self.rater_info(name) != judge:
            raise InputError(
                f"rater {name!r} judged with other settings in this set than in the file", *where
            )
