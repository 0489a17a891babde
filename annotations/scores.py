"""Scores: the rate of the positive label per group and dimension, with Wilson intervals.

Items that carry their claim carry their generic (:func:`tasks.claims.generic_of`), and the
claims of one generic rise and fall together: their Wilson interval is then design-effect
adjusted (:func:`stats.clustered_wilson`; coverage in ``benchmarks/type1_error.py``).

Each item counts once per group: its raters are combined first (by default the share of
raters giving the label, the mean rater share that ``compare`` tests; or majority vote),
then :func:`stats.wilson_interval` gives the rate and its
interval over items. Grouping by ``quantifier`` adds the claim types of
``tasks/claims.py`` (``universal`` = all + not_all, ``existential`` = some + no).

Example::

    report = scores_report(ratings, by=["system", "quantifier"])
    report["rows"][0]["dimensions"]["factual"]  # n_items, positive, rate, confidence_interval
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from logic_claims.annotations import stats
from logic_claims.annotations.frame import (
    UNIT,
    Labels,
    Positive,
    check_positive,
    dimensions_of,
    interval,
    item_metadata,
    item_scores,
    jsonable,
    positive_for,
    prepare,
)
from logic_claims.tasks.claims import CLAIM_TYPES, generic_of
from logic_claims.tasks.claims import ORDER as QUANTIFIER_ORDER
from logic_claims.tasks.errors import InputError

COMBINE_NOTES = {
    ("majority", "half"): (
        "Each item counts once: its raters are combined by majority vote. An item whose raters "
        "tie counts as half an item with the label (0.5), so denominators stay the number of "
        "items. With one rater per item this is that rater's judgment."
    ),
    ("majority", "drop"): (
        "Each item counts once: its raters are combined by majority vote. Items whose raters "
        "tie are left out of that rate (counted under 'ties')."
    ),
    ("mean", "half"): (
        "Each item counts once with the share of its raters who gave the label (the mean of the "
        "raters' 0/1 judgments); the rate is the mean of those shares over items. The Wilson "
        "interval treats each item as one trial, which is conservative for shares."
    ),
}
COMBINE_NOTES["mean", "drop"] = COMBINE_NOTES["mean", "half"]
ESTIMANDS = {"mean": "mean rater share", "majority": "majority rate"}
PER_RATER_NOTE = "Grouped by annotator: each row counts one rater's own judgments, one per item."
RATER = "_rater"  # the grouping column standing for "annotator" in a per-rater view

Members = dict[tuple, list[tuple[str, str]]]


def _group_sort_key(key: tuple, by: Sequence[str]) -> tuple:
    """Quantifiers and claim types in the table's order, other values alphabetically."""
    parts = []
    for column, value in zip(by, key, strict=True):
        if column in ("quantifier", "claim_type") and value in QUANTIFIER_ORDER:
            parts.append((0, QUANTIFIER_ORDER.index(value), ""))
        else:
            parts.append((1, 0, str(value)))
    return tuple(parts)


def _rater_view(df: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """One rater's view per row (nothing to combine): each item split by its rater.

    An item then counts once per annotator who judged it; useful to spot a lenient rater.
    """
    df = df.assign(_rater=df["annotator"], item_id=df["item_id"] + "\x1f" + df["annotator"])
    return df, [RATER if b == "annotator" else b for b in by]


def _members(meta: pd.DataFrame, by: list[str]) -> Members:
    """Group key -> its (system, item_id) units; claim types are extra groups over them."""
    if not by:
        return {(): list(meta.index)}
    groups = meta[by].astype(object).where(meta[by].notna(), "(none)")
    # "system" is an index level too: rename the levels to group by the column.
    groups.index = groups.index.set_names(["_system", "_item_id"])
    grouper = by[0] if len(by) == 1 else by  # a one-element list would give 1-tuples
    members: Members = {}
    for key, index in groups.groupby(grouper, sort=False).groups.items():
        members[key if isinstance(key, tuple) else (key,)] = list(index)
    if "quantifier" in by:
        qpos = by.index("quantifier")
        for key, units in list(members.items()):
            for name, parts in CLAIM_TYPES.items():
                if key[qpos] in parts:
                    ckey = (*key[:qpos], name, *key[qpos + 1 :])
                    members[ckey] = members.get(ckey, []) + units
    return members


def _generics(meta: pd.DataFrame) -> pd.Series | None:
    """Each unit's generic (its cluster), read off its claim; None when no item has a claim.
    An item without a claim is a generic of its own."""
    if "claim" not in meta.columns or not meta["claim"].notna().any():
        return None
    own = pd.Series(["item " + str(i) for _, i in meta.index], index=meta.index)
    return meta["claim"].map(generic_of, na_action="ignore").fillna(own)


def _cell(
    scores: pd.DataFrame,
    combine: str,
    ties: str,
    confidence_level: float,
    generics: pd.Series | None = None,
) -> dict[str, Any]:
    """One group's rate of one dimension, from its items' scores: Wilson, or with
    ``generics`` the design-effect-adjusted Wilson of :func:`stats.clustered_wilson`."""
    n_ties = int(scores["tie"].sum()) if combine == "majority" else 0
    if combine == "majority" and ties == "drop":
        scores = scores[~scores["tie"].astype(bool)]
    k, n = float(scores["score"].sum()), len(scores)
    cell: dict[str, Any] = {"n_items": n, "n_ratings": int(scores["n"].sum()), "positive": k}
    if generics is not None and n:
        clusters = generics.reindex(scores.index).to_numpy()
        res = stats.clustered_wilson(
            scores["score"].to_numpy(), clusters, confidence_level=confidence_level
        )
        cell["n_generics"] = len(set(clusters))
    else:
        res = stats.wilson_interval(k, n, confidence_level=confidence_level)
    cell |= {"rate": res.statistic, "confidence_interval": interval(res.confidence_interval)}
    return cell | {"interval_method": res.method, "ties": n_ties}


def _row(
    key: tuple,
    units: list[tuple[str, str]],
    by: list[str],
    per_dim: Mapping[str, pd.DataFrame],
    **options: Any,
) -> dict[str, Any]:
    """One table row: the group, each dimension's cell, and the most items of any cell."""
    index = pd.MultiIndex.from_tuples(units, names=UNIT)
    names = ["annotator" if b == RATER else b for b in by]
    row: dict[str, Any] = {"group": dict(zip(names, key, strict=True)), "dimensions": {}}
    for dim, scores in per_dim.items():
        row["dimensions"][dim] = _cell(scores.reindex(index).dropna(subset=["n"]), **options)
    row["n_items"] = max([0, *(cell["n_items"] for cell in row["dimensions"].values())])
    return row


def _check_options(combine: str, ties: str) -> None:
    if combine not in ("majority", "mean"):
        raise InputError(f"combine must be 'majority' or 'mean', not {combine!r}")
    if ties not in ("half", "drop"):
        raise InputError(f"ties must be 'half' or 'drop', not {ties!r}")


def _check_by(meta: pd.DataFrame, by: Sequence[str]) -> None:
    unknown = [b for b in by if b not in meta.columns]
    if unknown:
        raise InputError(
            f"cannot group by {', '.join(unknown)}: no such column in the ratings "
            f"(item columns: {', '.join(meta.columns)})"
        )


def _interval_note(confidence_level: float, *, clustered: bool) -> str:
    wilson = (
        f"Wilson score {confidence_level:.0%} interval (statsmodels proportion_confint, "
        "method='wilson')"
    )
    if not clustered:
        return f"{wilson}, one trial per item"
    return (
        f"{wilson} on the effective number of items: claims of one generic (read off the "
        "claim) are a cluster, and the count is divided by the design effect (between the "
        "generics and the items; with 12 generics or fewer, each generic one trial)"
    )


def scores_report(
    ratings: pd.DataFrame,
    by: Sequence[str] = ("system",),
    positive: Positive = "1",
    combine: str = "mean",
    *,
    ties: str = "half",
    labels: Labels = None,
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """Rate of the positive label per group and dimension, with Wilson intervals.

    ``by``: item columns to group by (``[]`` = one overall row). Grouping by ``quantifier``
    also adds ``universal`` (all + not_all) and ``existential`` (some + no) rows.
    ``combine``: ``"mean"`` (default: per-item share of positive ratings, the **mean rater
    share**, the estimand ``compare_report`` tests) or ``"majority"`` (per-item majority
    vote; ``ties="half"`` counts a tie as 0.5, ``ties="drop"`` leaves tied items out).
    """
    _check_options(combine, ties)
    by = [str(b).strip() for b in by if str(b).strip()]
    df = prepare(ratings)
    n_units = int(df.drop_duplicates(UNIT).shape[0])
    per_rater = "annotator" in by
    if per_rater:
        df, by = _rater_view(df, by)
    meta = item_metadata(df)
    _check_by(meta, by)
    dims = dimensions_of(df)
    check_positive(df, dims, positive, labels)
    per_dim = {}
    for dim in dims:
        scores = item_scores(df, dim, positive_for(positive, dim))
        scores["score"] = scores["majority"] if combine == "majority" else scores["share"]
        per_dim[dim] = scores
    members = _members(meta, by)
    generics = _generics(meta)
    options = {"combine": combine, "ties": ties, "confidence_level": confidence_level}
    options["generics"] = generics
    rows = [
        _row(key, members[key], by, per_dim, **options)
        for key in sorted(members, key=lambda k: _group_sort_key(k, by))
    ]
    return jsonable(
        {
            "report": "scores",
            "by": ["annotator" if b == RATER else b for b in by],
            "dimensions": dims,
            "positive": {d: positive_for(positive, d) for d in dims},
            "combine": combine,
            "estimand": ESTIMANDS[combine],
            "ties": ties,
            "combine_note": PER_RATER_NOTE if per_rater else COMBINE_NOTES[combine, ties],
            "interval": _interval_note(confidence_level, clustered=generics is not None),
            "confidence_level": confidence_level,
            "n_items": n_units,
            "n_ratings": len(df),
            "n_annotators": int(df["annotator"].nunique()),
            "rows": rows,
        }
    )
