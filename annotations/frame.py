"""The ratings table the reports read: its contract, its checks, and per-item views of it.

One row per judgment with the columns ``item_id``, ``system``, ``annotator``, ``dimension``,
``value`` (a label such as ``"0"``/``"1"``), plus optional item metadata ``quantifier``
(all/not_all/some/no), ``claim``, ``label``, ``pair_id``. A missing rating is an absent row.
An item is one system's answer to one claim; the same claim answered by two systems gives two
items that share ``claim`` (or ``pair_id``, which wins when present). An answer given word for
word by two systems may be one item judged once and listed under both systems (the store does
this): it then counts once per system in scores and comparisons, and once in agreement.

:func:`prepare` checks and normalises the table; :func:`item_metadata` and
:func:`item_scores` give one row per (system, item); :func:`jsonable` turns a finished report
into plain JSON-ready Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import records, stats
from logic_claims.tasks.claims import quantifier_of
from logic_claims.tasks.errors import InputError

REQUIRED_COLUMNS = ("item_id", "system", "annotator", "dimension", "value")
DEFAULT_DIMENSIONS = tuple(d.name for d in records.DEFAULT_DIMENSIONS)  # factual, justified
BINARY_LABELS = ("0", "1")
SCHEMA_LABELS = {d.name: d.labels for d in records.DEFAULT_DIMENSIONS}
UNIT = ["system", "item_id"]

Labels = Mapping[str, Sequence[str]] | None
Positive = str | Mapping[str, str]


def normalise_label(value: Any) -> str:
    """One spelling per label: 1, 1.0 and "1" are the same judgment."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _normalise_quantifier(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


def _check_columns(ratings: Any) -> None:
    if not isinstance(ratings, pd.DataFrame):
        raise InputError(f"ratings must be a pandas DataFrame, not {type(ratings).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in ratings.columns]
    if missing:
        raise InputError(
            f"ratings lack column(s) {', '.join(missing)}; need {', '.join(REQUIRED_COLUMNS)}"
        )


def _check_conflicts(df: pd.DataFrame) -> None:
    """One (item, annotator, dimension) with two values is an error, named once."""
    key = ["item_id", "annotator", "dimension"]
    # System left out of the key: one judgment of an item listed under two systems is one value.
    distinct = df.drop_duplicates(subset=[*key, "value"])
    clash = distinct[distinct.duplicated(subset=key, keep=False)]
    if not clash.empty:
        first = clash.iloc[0]
        values = sorted(clash[(clash[key] == first[key]).all(axis=1)]["value"])
        raise InputError(
            f"conflicting ratings: item {first['item_id']!r}, annotator {first['annotator']!r}, "
            f"dimension {first['dimension']!r} has values {values} "
            f"({len(clash.groupby(key))} such conflicts)"
        )


def prepare(ratings: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise the ratings table; raise :class:`InputError` on a contract breach.

    Rows with an empty value are dropped (not rated). The same (item, annotator, dimension)
    twice with different values is a conflict and an error: the store resolves those, the
    statistics must not pick one silently. An item may be listed under several systems.
    """
    _check_columns(ratings)
    df = ratings.copy()
    df = df[df["value"].notna() & (df["value"].astype(str).str.strip() != "")]
    for column in REQUIRED_COLUMNS:
        if df[column].isna().any():
            raise InputError(f"ratings have an empty {column} in a rated row")
    if df.empty:
        raise InputError("no ratings: the table has no rated rows")
    df["value"] = df["value"].map(normalise_label)
    for column in ("item_id", "system", "annotator", "dimension"):
        df[column] = df[column].map(lambda v: str(v).strip())
    if "quantifier" in df.columns:
        df["quantifier"] = df["quantifier"].map(_normalise_quantifier)
    df = df.drop_duplicates(subset=["item_id", "system", "annotator", "dimension", "value"])
    _check_conflicts(df)
    return df.reset_index(drop=True)


def dimensions_of(df: pd.DataFrame) -> list[str]:
    """Default dimensions first (factual, justified), then the others alphabetically."""
    present = set(df["dimension"])
    return [d for d in DEFAULT_DIMENSIONS if d in present] + sorted(
        present - set(DEFAULT_DIMENSIONS)
    )


def labels_of(df: pd.DataFrame, dimension: str, labels: Labels = None) -> list[str]:
    """The dimension's label set: given, else the default dimensions' own (``factual`` and
    ``justified``: ``["0", "1"]``), else ``["0", "1"]`` for 0/1 data, else the labels seen.

    A value outside the declared or default labels is an :class:`InputError`, so a typo
    ("2", "yes") cannot become a category of its own."""
    seen = sorted(set(df.loc[df["dimension"] == dimension, "value"]))
    declared = None
    if labels is not None and dimension in labels:
        declared = [normalise_label(v) for v in labels[dimension]]
    elif dimension in SCHEMA_LABELS:
        declared = list(SCHEMA_LABELS[dimension])
    if declared is not None:
        unknown = sorted(set(seen) - set(declared))
        if unknown:
            raise InputError(
                f"dimension {dimension!r} has value(s) {unknown} outside its labels {declared}"
            )
        return declared
    if set(seen) <= set(BINARY_LABELS):
        return list(BINARY_LABELS)
    return seen


def item_metadata(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (system, item): the metadata columns (first non-empty value per item).

    Indexed by (system, item_id), with ``system`` also a column for grouping. ``quantifier`` is
    derived from ``claim`` when the column is absent or empty.
    """
    extra = [c for c in df.columns if c not in ("annotator", "dimension", "value", *UNIT)]
    meta = df.groupby(UNIT, sort=False)[extra].first()
    meta.insert(0, "system", meta.index.get_level_values("system"))
    if "claim" in meta.columns:
        derived = meta["claim"].map(lambda c: quantifier_of(c) if isinstance(c, str) else None)
        if "quantifier" in meta.columns:
            meta["quantifier"] = meta["quantifier"].where(meta["quantifier"].notna(), derived)
        else:
            meta["quantifier"] = derived
    return meta


def positive_for(positive: Positive, dimension: str) -> str:
    """The positive label of one dimension: ``positive`` itself, or its entry (default "1")."""
    if isinstance(positive, Mapping):
        return normalise_label(positive.get(dimension, "1"))
    return normalise_label(positive)


def check_positive(
    df: pd.DataFrame, dims: Iterable[str], positive: Positive, labels: Labels
) -> None:
    """Each dimension's positive label must be one of its labels."""
    for dim in dims:
        pos = positive_for(positive, dim)
        dim_labels = labels_of(df, dim, labels)
        if pos not in dim_labels:
            raise InputError(
                f"positive label {pos!r} is not a label of dimension {dim!r} "
                f"(labels: {dim_labels}); pass positive={{{dim!r}: LABEL}}"
            )


def item_scores(df: pd.DataFrame, dimension: str, positive: str) -> pd.DataFrame:
    """Per (system, item) of one dimension: ``n`` ratings, ``share`` positive, ``majority``.

    ``majority`` is 1 when the positive label is the single most frequent label, 0 when it is
    not among the most frequent, and 1/t when it ties with t - 1 other labels (0.5 for a binary
    tie); ``tie`` flags those items.
    """
    sub = df[df["dimension"] == dimension]
    counts = pd.crosstab([sub["system"], sub["item_id"]], sub["value"])
    n = counts.sum(axis=1)
    pos = counts[positive] if positive in counts.columns else pd.Series(0, index=counts.index)
    top = counts.max(axis=1)
    n_top = counts.eq(top, axis=0).sum(axis=1)
    is_top = pos.eq(top)
    majority = np.where(is_top, 1.0 / n_top, 0.0)
    return pd.DataFrame(
        {
            "n": n.astype(int),
            "positive": pos.astype(int),
            "share": pos / n,
            "majority": majority,
            "tie": is_top & (n_top > 1),
        },
        index=counts.index,
    )


def interval(ci: stats.ConfidenceInterval) -> dict[str, float]:
    """A confidence interval as the reports write it: ``{"low": ..., "high": ...}``."""
    return {"low": ci.low, "high": ci.high}


def jsonable(obj: Any) -> Any:
    """Plain Python for json.dumps: numpy scalars unwrapped, NaN/inf -> None, tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, np.ndarray)):
        return [jsonable(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)
