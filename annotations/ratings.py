"""RATINGS: judgments as a pandas DataFrame, read from a CSV, a JSONL file or the store.

The DataFrame has one row per judgment and system (an item answered identically by two
systems is judged once and appears once per system)::

    item_id    str   hash of claim + answer
    system     str   who gave the answer (hidden from raters)
    annotator  str
    dimension  str   "factual", "justified", or a dimension defined at set creation
    value      str   a label of the dimension ("0"/"1" for the binary defaults)
    quantifier str   all / not_all / some / no (None if unknown)
    claim_type str   universal (all, not_all) / existential (some, no), the study's split
    claim, answer    the texts (None if the file has no such columns)
    label      boolean (nullable)  the claim's gold truth value
    pair_id    str   hash of the claim: the items that answer the same claim
    time       str   ISO time the judgment was given (None if unknown)

File formats
  wide CSV  ``item_id,system,annotator,factual,justified[,quantifier,label,pair_id,claim,
            answer,claim_type]``; an empty cell = not rated. Columns other than these and
            the dimensions are an error.
  JSONL     one judgment per line ``{"item_id", "system", "annotator", "dimension",
            "value"[, "time", metadata...]}``, or one wide row per line (no "dimension").
  store     the SQLite file from ``logic-claims annotate new`` / ``import-legacy``.

Adding judgments to a store (``annotate import``) and writing them out (``annotate
export``) are in ``store_io.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from logic_claims.annotations.records import (
    DEFAULT_DIMENSIONS,
    Dimension,
    Judgment,
    item_id_of,
    pair_id_of,
)
from logic_claims.annotations.store import Store
from logic_claims.annotations.store_file import is_store_file
from logic_claims.annotations.store_raters import KINDS
from logic_claims.tasks.claims import QUANTIFIERS, claim_type_of, quantifier_of
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import iter_json_lines, read_text

KEY_COLUMNS = ("item_id", "system", "annotator")
META_COLUMNS = ("quantifier", "claim_type", "label", "pair_id", "claim", "answer")
LONG_COLUMNS = ("dimension", "value", "time")
# Who each rater is (written by `annotate export`): person or model, and a judge's
# settings (JSON; a CSV cell holds its text).
RATER_COLUMNS = ("rater_kind", "judge")
KNOWN_COLUMNS = KEY_COLUMNS + META_COLUMNS + RATER_COLUMNS
COLUMNS = (
    "item_id",
    "system",
    "annotator",
    "dimension",
    "value",
    "quantifier",
    "claim_type",
    "claim",
    "answer",
    "label",
    "pair_id",
    "time",
)
_TRUE = {"1", "true", "True", "TRUE"}
_FALSE = {"0", "false", "False", "FALSE"}


TEXT_FIELDS = (*KEY_COLUMNS, "dimension", "time", "quantifier", "claim_type", "claim", "answer",
               "pair_id", "rater_kind")  # fmt: skip
# The wide CSV of a long answer has fields far over csv's default limit (128 KiB); this
# bound still stops a file with no closing quote from being read as one endless field.
CSV_FIELD_LIMIT = 64 * 1024 * 1024


def check_types(record: dict[str, Any], path: Path, line: int) -> None:
    """A JSON record's known fields have the types a file of ours gives them: text (or
    null) for names, texts and time; a label (text, number or true/false) for values."""
    for name in TEXT_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{name} must be a string, got {clip(value)}", path, line)
    for name in ("label", "value"):
        value = record.get(name)
        if value is not None and not isinstance(value, str | int | float):
            raise InputError(f"{name} must be a label, got {clip(value)}", path, line)


def _parse_label(value: Any, path: Path, line: int) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"label must be true/false (or empty), got {clip(value)}", path, line)


def _meta(record: dict[str, Any], path: Path, line: int) -> dict[str, Any]:
    meta = {k: record.get(k) for k in META_COLUMNS if record.get(k) not in (None, "")}
    if "label" in meta:
        meta["label"] = _parse_label(meta["label"], path, line)
    claim = meta.get("claim")
    if claim:
        meta.setdefault("pair_id", pair_id_of(claim))
        meta.setdefault("quantifier", quantifier_of(claim))
    quantifier = meta.get("quantifier")
    if quantifier is not None and quantifier not in QUANTIFIERS:
        raise InputError(f"quantifier must be all/not_all/some/no, got {quantifier!r}", path, line)
    meta.setdefault("claim_type", claim_type_of(quantifier))
    return meta


def _rater(record: dict[str, Any], path: Path, line: int) -> dict[str, Any]:
    """The rater fields of a Judgment: ``rater_kind`` (default person) and ``judge``."""
    kind = (record.get("rater_kind") or "person").strip()
    if kind not in KINDS:
        raise InputError(f"rater_kind must be {' or '.join(KINDS)}, got {clip(kind)}", path, line)
    judge = record.get("judge")
    if isinstance(judge, str):
        judge = judge.strip()
        try:
            judge = json.loads(judge) if judge else None
        except json.JSONDecodeError as exc:
            raise InputError(f"judge: not valid JSON ({exc.msg})", path, line) from exc
    if judge is not None and not isinstance(judge, dict):
        raise InputError(f"judge must be a JSON object of settings, got {clip(judge)}", path, line)
    if kind == "person" and judge:
        raise InputError("a person (rater_kind person) has no judge settings", path, line)
    return {"rater_kind": kind, "judge": judge}


def _keys(record: dict[str, Any], path: Path, line: int) -> tuple[str, str, str]:
    out = []
    for key in KEY_COLUMNS:
        value = record.get(key)
        value = "" if value is None else str(value).strip()
        if not value and key == "item_id" and record.get("claim") and record.get("answer"):
            value = item_id_of(str(record["claim"]), str(record["answer"]))
        if not value:
            raise InputError(f"missing {key}", path, line)
        out.append(value)
    return out[0], out[1], out[2]


def _check_value(dim: Dimension, value: Any, path: Path, line: int) -> str:
    if not isinstance(value, str | int | float):  # bool is an int
        raise InputError(f"{dim.name}: value must be a label, got {clip(value)}", path, line)
    text = str(value).strip()
    # JSON may carry 1, 1.0 or true for the label "1".
    if isinstance(value, bool) or (isinstance(value, float) and value.is_integer()):
        text = str(int(value))
    if text not in dim.labels:
        raise InputError(
            f"{dim.name}: value {clip(text)} is not one of {'/'.join(dim.labels)}", path, line
        )
    return text


def _unknown_column(name: str, dims: dict[str, Dimension], path: Path, line: int) -> InputError:
    return InputError(
        f"unknown column {clip(name)} (expected {','.join(KEY_COLUMNS)}, dimensions "
        f"{','.join(dims)}, optional {','.join(META_COLUMNS + RATER_COLUMNS)}; declare another "
        "dimension with --dimension NAME:LABEL/LABEL)",
        path,
        line,
    )


def _wide(
    record: dict[str, Any], dims: dict[str, Dimension], path: Path, line: int
) -> Iterator[Judgment]:
    for name in record:
        if name not in KNOWN_COLUMNS and name not in dims:
            raise _unknown_column(name, dims, path, line)
    item_id, system, annotator = _keys(record, path, line)
    meta = _meta(record, path, line)
    rater = _rater(record, path, line)
    for name, dim in dims.items():
        value = record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # empty = not rated
        value = _check_value(dim, value, path, line)
        yield Judgment(item_id, system, annotator, name, value, line, None, meta, **rater)


def read_judgments_csv(path: Path, dims: dict[str, Dimension]) -> list[Judgment]:
    """The judgments of a wide CSV (see the module doc), validated against ``dims``."""
    # newline="": a quoted field keeps its "\r" and "\r\n" (csv's own rule).
    text = read_text(path, newline="")
    reader = csv.reader(io.StringIO(text, newline=""))
    csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        return _read_csv_rows(reader, path, dims)
    except csv.Error as exc:
        raise InputError(f"not a valid CSV ({exc})", path, reader.line_num) from exc


def _read_csv_rows(reader: Any, path: Path, dims: dict[str, Dimension]) -> list[Judgment]:
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty file (no header)", path, 1) from None
    header = [h.strip() for h in header]
    for key in KEY_COLUMNS:
        if key not in header:
            raise InputError(
                f"no {key!r} column: a ratings CSV starts with "
                f"item_id,system,annotator,{','.join(dims)}",
                path,
                1,
            )
    for name in header:
        if name not in KNOWN_COLUMNS and name not in dims:
            raise _unknown_column(name, dims, path, 1)
    if len(set(header)) != len(header):
        raise InputError("a column appears twice in the header", path, 1)
    out: list[Judgment] = []
    rows = 0
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InputError(f"{len(row)} fields, header has {len(header)}", path, line)
        rows += 1
        out.extend(_wide(dict(zip(header, row, strict=True)), dims, path, line))
    if rows == 0:
        raise InputError("no rows after the header", path)
    return out


def read_judgments_jsonl(path: Path, dims: dict[str, Dimension]) -> list[Judgment]:
    """The judgments of a JSONL file, long or wide lines, validated against ``dims``."""
    text = read_text(path)
    out: list[Judgment] = []
    rows = 0
    for line, record in iter_json_lines(path, text):
        rows += 1
        check_types(record, path, line)
        if "dimension" not in record:
            out.extend(_wide(record, dims, path, line))
            continue
        for name in record:
            if name not in KNOWN_COLUMNS + LONG_COLUMNS:
                raise InputError(
                    f"unknown field {clip(name)} (a judgment has {','.join(KEY_COLUMNS)},"
                    f"dimension,value[,time,{','.join(META_COLUMNS + RATER_COLUMNS)}])",
                    path,
                    line,
                )
        item_id, system, annotator = _keys(record, path, line)
        dim = dims.get(str(record["dimension"]))
        if dim is None:
            raise InputError(
                f"unknown dimension {clip(record['dimension'])} (known: {','.join(dims)}; declare "
                "others with --dimension NAME:LABEL/LABEL)",
                path,
                line,
            )
        value = record.get("value")
        if value is None or value == "":
            continue
        out.append(
            Judgment(
                item_id,
                system,
                annotator,
                dim.name,
                _check_value(dim, value, path, line),
                line,
                record.get("time"),
                _meta(record, path, line),
                **_rater(record, path, line),
            )
        )
    if rows == 0:
        raise InputError("empty file (no judgments)", path)
    return out


# A judgments file's format by its suffix (a store is known by its content).
SUFFIX_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "labelstudio"}


def format_of_suffix(path: str | Path) -> str | None:
    """csv, jsonl or labelstudio from the file name's suffix; None for another suffix."""
    return SUFFIX_FORMATS.get(Path(path).suffix.lower())


def file_format(path: str | Path) -> str:
    """ "store", "csv", "jsonl" or "labelstudio", from content first, then the suffix."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if is_store_file(path):
        return "store"
    fmt = format_of_suffix(path)
    if fmt is not None:
        return fmt
    raise InputError(
        "unknown ratings format: expected an annotation store, .csv, .jsonl, or Label Studio .json",
        path,
    )


def read_judgments(
    path: str | Path, dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS, fmt: str | None = None
) -> list[Judgment]:
    """Judgments of a CSV / JSONL / Label Studio file, validated against ``dimensions``."""
    path = Path(path)
    fmt = fmt or file_format(path)
    dims = {d.name: d for d in dimensions}
    if fmt == "csv":
        return read_judgments_csv(path, dims)
    if fmt == "jsonl":
        return read_judgments_jsonl(path, dims)
    if fmt == "labelstudio":
        from logic_claims.annotations.labelstudio import read_completions

        return read_completions(path, dims)
    raise InputError(f"cannot read judgments from a {fmt} file here", path)


def check_conflicts(judgments: Iterable[Judgment], path: Path) -> None:
    """Two lines that judge the same (item, annotator, dimension) differently: an error."""
    seen: dict[tuple[str, str, str], Judgment] = {}
    for j in judgments:
        key = (j.item_id, j.annotator, j.dimension)
        first = seen.setdefault(key, j)
        if first.value != j.value:
            raise InputError(
                f"conflict: {j.annotator} rated item {j.item_id} {j.dimension}={j.value} here "
                f"but {first.value} on line {first.line}",
                path,
                j.line,
            )


def frame_from_judgments(judgments: Sequence[Judgment], path: Path) -> Any:
    import pandas as pd

    check_conflicts(judgments, path)
    # Metadata may be given on some rows of an item only: share it across the item's rows.
    item_meta: dict[str, dict[str, Any]] = {}
    for j in judgments:
        item_meta.setdefault(j.item_id, {}).update(
            {k: v for k, v in j.meta.items() if v is not None}
        )
    rows = {}
    for j in judgments:
        meta = item_meta[j.item_id]
        key = (j.item_id, j.system, j.annotator, j.dimension)
        rows.setdefault(
            key,
            {
                "item_id": j.item_id,
                "system": j.system,
                "annotator": j.annotator,
                "dimension": j.dimension,
                "value": j.value,
                **{k: meta.get(k) for k in ("quantifier", "claim_type", "claim", "answer")},
                "label": meta.get("label"),
                "pair_id": meta.get("pair_id"),
                "time": j.time,
            },
        )
    return _typed(pd.DataFrame(list(rows.values()), columns=list(COLUMNS)))


def _typed(frame: Any) -> Any:
    for column in COLUMNS:
        if column == "label":
            frame[column] = frame[column].astype("boolean")
        else:
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame.reset_index(drop=True)


def store_frame(store: Store) -> Any:
    import pandas as pd

    query = """
        SELECT r.item_id, s.system, r.annotator, r.dimension, r.value, i.quantifier,
               i.claim, i.answer, i.label, i.pair_id, r.created_at AS time
        FROM ratings r JOIN items i ON i.item_id = r.item_id
        JOIN item_systems s ON s.item_id = r.item_id
        ORDER BY r.id, s.system
    """
    rows = [dict(r) for r in store.conn.execute(query)]
    for row in rows:
        row["claim_type"] = claim_type_of(row["quantifier"])
        row["label"] = None if row["label"] is None else bool(row["label"])
    return _typed(pd.DataFrame(rows, columns=list(COLUMNS)))


def load_ratings(path: str | Path, dimensions: Sequence[Dimension] | None = None) -> Any:
    """RATINGS (a store, CSV or JSONL) -> DataFrame (see the module doc for columns).

    ``dimensions`` declares the dimensions of a CSV/JSONL file (default: factual and
    justified, 0/1); a store knows its own.
    """
    path = Path(path)
    fmt = file_format(path)
    if fmt == "store":
        with Store.open(path) as store:
            return store_frame(store)
    if fmt == "labelstudio":
        raise InputError(
            "a Label Studio export names no systems (tasks are blinded): import it into the "
            "set's store with `logic-claims annotate import FILE --store S`, then use the store",
            path,
        )
    judgments = read_judgments(path, dimensions or DEFAULT_DIMENSIONS, fmt)
    return frame_from_judgments(judgments, path)
