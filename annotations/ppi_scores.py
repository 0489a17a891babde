"""Prediction-powered scores: people's random sample plus a judge, per group and dimension.

The estimand stays the **mean rater share** (the share of an item's people who gave the
positive label, averaged over items). People judged the items of a random sample of
generics (:mod:`logic_claims.annotations.design`); a judge (a model rater) rated items
inside and outside it. Per group and dimension :func:`ppi_scores` gives people alone and
PPI (``stats.ppi_mean``: claims of one generic a cluster, the design's weights), lambda
and the effective human sample size; :func:`ppi_comparisons` the paired differences
between systems by PPI on the per-claim difference, Holm-adjusted across comparisons.

PPI runs over the items both people's sample and the judge cover; items the judge did not
rate are counted and said (``judge_missing``), never guessed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import stats
from logic_claims.annotations.design import Design
from logic_claims.annotations.frame import (
    BINARY_LABELS,
    dimensions_of,
    item_metadata,
    item_scores,
    jsonable,
    labels_of,
    prepare,
)
from logic_claims.tasks.claims import generic_of
from logic_claims.tasks.errors import InputError

MIN_PEOPLE_ITEMS = 10
ASSUMED_NOTE = (
    "No recorded sample: the items people judged were assumed a uniform random sample of "
    "generics (--assume-random); the interval is valid only if that is true."
)


def _units(df: pd.DataFrame, judge: str, people: Sequence[str] | None) -> pd.DataFrame:
    """Per (system, item): its generic and, per dimension, people's share and the judge's 0/1."""
    if judge not in set(df["annotator"]):
        raise InputError(f"judge {judge!r} rated no item of this store (annotate judge first)")
    human = df[df["annotator"] != judge]
    if people is not None:
        human = human[human["annotator"].isin(people)]
    meta = item_metadata(df)
    key = "claim" if "claim" in meta.columns else None
    if key is None:
        raise InputError("PPI needs the items' claims (to cluster them by generic)")
    out = pd.DataFrame({"generic": meta[key].map(generic_of)}, index=meta.index)
    for dim in dimensions_of(df):
        if labels_of(df, dim) != list(BINARY_LABELS):
            raise InputError(f"PPI needs 0/1 labels; dimension {dim!r} has {labels_of(df, dim)}")
        out[f"y:{dim}"] = item_scores(human, dim, "1")["share"] if len(human) else np.nan
        out[f"f:{dim}"] = item_scores(df[df["annotator"] == judge], dim, "1")["share"]
    return out


def _split(units: pd.DataFrame, design: Design | None, dim: str) -> tuple[Any, Any, int]:
    """People's judged items (with the judge's value) and the others the judge rated, and
    how many sampled items people have not judged yet. With a design: in and out of the
    drawn generics; without (``--assume-random``): what people judged and the generics
    they did not touch."""
    judged, has_f = units[f"y:{dim}"].notna(), units[f"f:{dim}"].notna()
    if design is None:
        inside = units["generic"].isin(units.loc[judged, "generic"])
    else:
        inside = units["generic"].isin(design.sampled)
    return units[inside & judged & has_f], units[~inside & has_f], int((inside & ~judged).sum())


def _ppi(
    a: pd.DataFrame, b: pd.DataFrame, design: Design | None, dim: str, **options: Any
) -> stats.PPIResult:
    if len(a) < MIN_PEOPLE_ITEMS:
        raise InputError(
            f"{dim}: {len(a)} people-judged item(s) the judge also rated; PPI needs at least "
            f"{MIN_PEOPLE_ITEMS}"
        )
    if b.empty:
        raise InputError(f"{dim}: the judge rated no item outside people's sample")
    w = (None, None)
    if design is not None:
        w = (a["generic"].map(design.weight), b["generic"].map(design.weight))
    fn = stats.ppi_difference if options.pop("difference", False) else stats.ppi_mean
    return fn(
        a[f"y:{dim}"], a[f"f:{dim}"], b[f"f:{dim}"], clusters=list(a["generic"]),
        clusters_unlabeled=list(b["generic"]), w=w[0], w_unlabeled=w[1], **options,
    )  # fmt: skip


def _estimate(
    units: pd.DataFrame, design: Design | None, dim: str, confidence_level: float
) -> dict[str, Any]:
    """One cell: PPI and people alone for ``dim`` over ``units``."""
    a, b, unjudged = _split(units, design, dim)
    res = _ppi(a, b, design, dim, confidence_level=confidence_level)
    missing = int(units[f"f:{dim}"].isna().sum())
    return res.as_dict() | {"judge_missing": missing, "people_missing": unjudged}


def ppi_scores(
    ratings: pd.DataFrame,
    judge: str,
    design: Design | None,
    *,
    by: Sequence[str] = ("system",),
    people: Sequence[str] | None = None,
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """PPI per group and dimension (see the module). ``design`` None: ``--assume-random``.
    ``people``: the raters who count as people (default: everyone but the judge)."""
    df = prepare(ratings)
    units = _units(df, judge, people)
    if design is not None:
        design.check_matches(set(units["generic"]))
    dims = dimensions_of(df)
    meta = item_metadata(df)
    for column in by:
        if column not in meta.columns:
            raise InputError(f"cannot group by {column}: no such column in the ratings")
    keys = meta[list(by)].astype(str).agg("\x1f".join, axis=1) if by else pd.Series("", meta.index)
    rows = []
    for key in sorted(set(keys)):
        sub = units[keys == key]
        cells = {d: _estimate(sub, design, d, confidence_level) for d in dims}
        group = dict(zip(by, key.split("\x1f"), strict=True)) if by else {}
        rows.append({"group": group, "dimensions": cells})
    return jsonable(
        {
            "report": "ppi scores",
            "judge": judge,
            "estimand": "mean rater share",
            "by": list(by),
            "dimensions": dims,
            "design": None if design is None else {"seed": design.seed, "unit": design.unit,
                                                   "strata_by": design.strata_by},
            "note": ASSUMED_NOTE if design is None else "",
            "rows": rows,
        }
    )  # fmt: skip


def ppi_comparisons(
    ratings: pd.DataFrame,
    judge: str,
    design: Design | None,
    *,
    people: Sequence[str] | None = None,
    confidence_level: float = 0.95,
) -> list[dict[str, Any]]:
    """Every pair of systems, per dimension: PPI on the per-claim difference ``a - b`` over
    the claims both answered (clustered by generic), with Holm-adjusted p-values."""
    df = prepare(ratings)
    units = _units(df, judge, people)
    if design is not None:
        design.check_matches(set(units["generic"]))
    claims = item_metadata(df)["claim"]
    units = units.assign(claim=claims.reindex(units.index).to_numpy())
    systems = sorted(set(units.index.get_level_values("system")))
    out = []
    for a, b in itertools.combinations(systems, 2):
        for dim in dimensions_of(df):
            left = units.xs(a, level="system").groupby("claim").first()
            right = units.xs(b, level="system").groupby("claim").first()
            both = left.merge(right, left_index=True, right_index=True, suffixes=(":a", ":b"))
            diff = pd.DataFrame(
                {
                    "generic": both["generic:a"],
                    f"y:{dim}": both[f"y:{dim}:a"] - both[f"y:{dim}:b"],
                    f"f:{dim}": both[f"f:{dim}:a"] - both[f"f:{dim}:b"],
                }
            )
            x, u, _ = _split(diff, design, dim)
            if len(x) < MIN_PEOPLE_ITEMS or u.empty:
                continue
            res = _ppi(x, u, design, dim, difference=True, confidence_level=confidence_level)
            out.append({"a": a, "b": b, "dimension": dim} | res.as_dict())
    for row, adjusted in zip(out, stats.holm([r["pvalue"] for r in out]), strict=True):
        row["pvalue_holm"] = adjusted
    return jsonable(out)


__all__ = ["MIN_PEOPLE_ITEMS", "ppi_comparisons", "ppi_scores"]
