"""Judgments into and out of a store: ``annotate import`` (all or nothing) and
``annotate export`` (wide CSV, JSONL; Label Studio tasks are in ``labelstudio.py``).

The files read and written are the ones ``ratings.py`` reads: an export imports back
into a store built from the same samples, and loads as the same RATINGS table.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from logic_claims.annotations.ratings import (
    META_COLUMNS,
    RATER_COLUMNS,
    check_conflicts,
    store_frame,
)
from logic_claims.annotations.records import ANY_SYSTEM, Judgment, OnConflict, Rating
from logic_claims.annotations.store import Store
from logic_claims.tasks.claims import claim_type_of
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import atomic_path


@dataclass
class ImportResult:
    new: int = 0
    same: int = 0
    replaced: int = 0
    kept: int = 0
    annotators_added: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"{self.new} new judgments, {self.same} already there"
        if self.replaced:
            text += f", {self.replaced} replaced (conflicts, --on-conflict replace)"
        if self.kept:
            text += f", {self.kept} conflicts kept as stored (--on-conflict keep)"
        if self.annotators_added:
            text += f"; new raters: {', '.join(self.annotators_added)}"
        return text


def import_judgments(
    store: Store,
    judgments: Sequence[Judgment],
    path: Path,
    *,
    on_conflict: OnConflict = "error",
    add_annotators: bool = False,
) -> ImportResult:
    """Apply judgments to the store in ONE transaction: any error (an unknown item or rater,
    a conflict under on_conflict="error") leaves the store exactly as it was."""
    check_conflicts(judgments, path)
    result = ImportResult()
    known = set(store.annotators())
    raters: dict[str, Judgment] = {}  # each rater's first judgment: who the file says it is
    with store.transaction():
        for j in judgments:
            if not store.has_item(j.item_id):
                raise InputError(f"unknown item {j.item_id!r} (not in {store.path})", path, j.line)
            systems = store.item_systems(j.item_id)
            if j.system not in systems and j.system != ANY_SYSTEM:
                raise InputError(
                    f"item {j.item_id} has no answer from system {j.system!r} in this set "
                    f"(it has: {', '.join(systems)})",
                    path,
                    j.line,
                )
            if j.annotator not in known:
                if not add_annotators:
                    raise InputError(
                        f"unknown rater {j.annotator!r} (this set has: "
                        f"{', '.join(sorted(known)) or 'none'}; pass --add-annotators to "
                        "add raters from the file)",
                        path,
                        j.line,
                    )
                store.add_annotator(j.annotator)
                known.add(j.annotator)
                result.annotators_added.append(j.annotator)
            _check_rater(store, raters, j, path)
            store.check_value(j.dimension, j.value)
            store.assign(j.item_id, j.annotator)
            rating = Rating(j.item_id, j.annotator, j.dimension, j.value)
            rate_counted(store, rating, (path, j.line), str(path), j.time, on_conflict, result)
    return result


def _check_rater(store: Store, raters: dict[str, Judgment], j: Judgment, path: Path) -> None:
    """The file names one kind (and judge settings) per rater, and it fits the store's
    record: people's files never write as a model judge (Store.check_import_rater)."""
    first = raters.setdefault(j.annotator, j)
    if first is j:
        store.check_import_rater(j.annotator, j.rater_kind, j.judge, (path, j.line))
    elif (first.rater_kind, first.judge) != (j.rater_kind, j.judge):
        raise InputError(
            f"rater {j.annotator!r} is a {j.rater_kind} here but a {first.rater_kind} (or "
            f"another judge) on line {first.line}",
            path,
            j.line,
        )


def rater_records(store: Store) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Each rater's (kind, judge settings or None), as exports write them."""
    return {name: (store.rater_kind(name) or "person", store.rater_info(name))
            for name in store.annotators()}  # fmt: skip


def rate_counted(
    store: Store,
    rating: Rating,
    where: tuple[Path, int],
    source: str,
    time: str | None,
    on_conflict: OnConflict,
    result: ImportResult,
) -> None:
    """Store one imported judgment and count it in ``result``; a refusal names the file
    and line it came from (``where``)."""
    try:
        (res,) = store.rate_many([(rating, source, time)], on_conflict=on_conflict)
    except InputError as exc:
        raise InputError(exc.problem, *where) from exc
    setattr(result, res.status, getattr(result, res.status) + 1)


def export_csv(store: Store, out: str | Path) -> int:
    """Wide CSV: one row per (item, system, annotator) assigned or judged; empty = not
    rated. ``rater_kind`` says person or model, ``judge`` holds a judge's settings (JSON)."""
    dims = [d.name for d in store.dimensions]
    query = """
        SELECT x.item_id, s.system, x.annotator, i.quantifier, i.label, i.pair_id, i.claim,
               i.answer
        FROM (SELECT item_id, annotator, MIN(position) AS pos FROM (
                  SELECT item_id, annotator, position FROM assignments
                  UNION ALL SELECT item_id, annotator, 1e18 FROM ratings)
              GROUP BY item_id, annotator) x
        JOIN items i ON i.item_id = x.item_id JOIN item_systems s ON s.item_id = x.item_id
        ORDER BY x.annotator, x.pos, s.system
    """
    values: dict[tuple[str, str], dict[str, str]] = {}
    for r in store.conn.execute("SELECT item_id, annotator, dimension, value FROM ratings"):
        values.setdefault((r[0], r[1]), {})[r[2]] = r[3]
    header = ["item_id", "system", "annotator", *dims, *META_COLUMNS, *RATER_COLUMNS]
    raters = rater_records(store)
    n = 0
    with output_stream(out) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for r in store.conn.execute(query):
            given = values.get((r["item_id"], r["annotator"]), {})
            label = "" if r["label"] is None else ("true" if r["label"] else "false")
            kind, judge = raters[r["annotator"]]
            writer.writerow(
                [r["item_id"], r["system"], r["annotator"], *(given.get(d, "") for d in dims),
                 r["quantifier"] or "", claim_type_of(r["quantifier"]) or "", label,
                 r["pair_id"], r["claim"], r["answer"], kind,
                 "" if judge is None else json.dumps(judge, sort_keys=True)]
            )  # fmt: skip
            n += 1
    return n


def export_jsonl(store: Store, out: str | Path) -> int:
    """One judgment (per system) per line, with time, item metadata and who the rater
    is (rater_kind; a judge's settings as ``judge``)."""
    frame = store_frame(store)
    raters = rater_records(store)
    records = []
    for row in frame.to_dict("records"):
        record = {k: (None if _isna(v) else v) for k, v in row.items()}
        if record["label"] is not None:  # numpy/pandas booleans are not JSON
            record["label"] = bool(record["label"])
        record["rater_kind"], judge = raters[record["annotator"]]
        if judge is not None:
            record["judge"] = judge
        records.append(record)
    with output_stream(out) as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


@contextlib.contextmanager
def output_stream(out: str | Path) -> Iterator[TextIO]:
    """A text stream for an export: standard output for ``-`` (UTF-8 whatever the
    locale, line ends as written), else a file written atomically (a failed export
    leaves the old file, or none)."""
    if str(out) == "-":
        buffer = io.StringIO(newline="")
        yield buffer
        sys.stdout.flush()
        sys.stdout.buffer.write(buffer.getvalue().encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        yield fh


def _isna(value: Any) -> bool:
    try:
        import pandas as pd

        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
