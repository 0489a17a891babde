"""Agreement: how far the raters agree, per dimension, with every coefficient readers expect.

Per dimension: percent agreement, Krippendorff's alpha (bootstrap interval), Fleiss' kappa,
Gwet's AC1, pairwise Cohen's kappa and the prevalence of each label, plus notes where a
number needs reading with care (one rater, one label, few items, the kappa paradox). The
coefficients are those of :mod:`logic_claims.annotations.stats`; this module arranges the
ratings for them and writes the results down.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import coefficients, stats
from logic_claims.annotations.coefficients import DEFINITIONS, MANY_RATERS, Inputs
from logic_claims.annotations.frame import (
    Labels,
    dimensions_of,
    interval,
    jsonable,
    labels_of,
    prepare,
)
from logic_claims.annotations.resampling import N_BOOT
from logic_claims.tasks.errors import InputError

EXTREME_PREVALENCE = 0.8


def result_dict(res: stats.AgreementResult) -> dict[str, Any]:
    """One coefficient as JSON-ready fields (the agreement and calibration reports')."""
    return {
        "statistic": res.statistic,
        "confidence_interval": interval(res.confidence_interval),
        "standard_error": res.standard_error,
        "pvalue": res.pvalue,
        "observed_agreement": res.observed_agreement,
        "chance_agreement": res.chance_agreement,
        "n_items": res.n_items,
        "n_pairable": res.n_pairable,
        "method": res.method,
        **({"details": res.details} if res.details else {}),
    }


def prevalence_note(dimension: str, prevalence: Mapping[str, float], threshold: float) -> str:
    """The kappa-paradox note for a dimension whose most frequent label passes ``threshold``."""
    label, share = max(prevalence.items(), key=lambda kv: kv[1])
    return (
        f"{dimension}: {share:.0%} of the ratings are {label!r}. With prevalence this extreme, "
        "kappa-type statistics (Cohen's and Fleiss' kappa, Krippendorff's alpha) can be low even "
        "when raters almost always agree, because the agreement they expect by chance, estimated "
        "from the skewed label shares, is already close to 1: the 'kappa paradox' (Feinstein & "
        "Cicchetti 1990, J Clin Epidemiol 43:543-549). Read them together with percent agreement "
        "and Gwet's AC1, whose chance agreement stays small under skewed prevalence "
        f"(Gwet 2008). Threshold for this note: a label above {threshold:.0%} or below "
        f"{1 - threshold:.0%} of the ratings."
    )


def _describe(
    sub: pd.DataFrame, wide: pd.DataFrame, table: Any, dim: str, dim_labels: list[str]
) -> dict[str, Any]:
    """Who rated what: items, raters, ratings, raters per item and label prevalence."""
    per_item = table.sum(axis=1)
    counts = sub["value"].value_counts()
    return {
        "dimension": dim,
        "labels": dim_labels,
        "n_items": len(wide),
        "n_pairable": int((per_item >= 2).sum()),
        "n_raters": len(wide.columns),
        "n_ratings": len(sub),
        "raters_per_item": {
            "min": int(per_item.min()),
            "mean": float(per_item.mean()),
            "max": int(per_item.max()),
        },
        "prevalence": {lab: float(counts.get(lab, 0) / len(sub)) for lab in dim_labels},
        "notes": [],
    }


def _coefficients(
    table: Any, n_raters: int, n_boot: int, seed: int | None, confidence_level: float
) -> dict[str, dict[str, Any]]:
    """The many-rater coefficients of one table (:data:`coefficients.MANY_RATERS`)."""
    inputs = Inputs(table, (), n_boot=n_boot, seed=seed, confidence_level=confidence_level)
    results = coefficients.compute(MANY_RATERS, inputs)
    return {name: result_dict(replace(res, n_raters=n_raters)) for name, res in results.items()}


def _cohen_kappas(
    wide: pd.DataFrame, dim_labels: list[str], min_pair_items: int, confidence_level: float
) -> dict[str, Any]:
    """Cohen's kappa of every pair of raters sharing ``min_pair_items`` items, and their mean."""
    pairs = []
    for ra, rb in itertools.combinations(wide.columns, 2):
        both = wide[[ra, rb]].dropna()
        if len(both) < min_pair_items:
            continue
        pair = (both[ra].tolist(), both[rb].tolist())
        inputs = Inputs(None, dim_labels, pair=pair, confidence_level=confidence_level)
        res = coefficients.COEFFICIENTS["cohen_kappa"].compute(inputs)
        pairs.append({"raters": [ra, rb], **result_dict(res)})
    finite = [p["statistic"] for p in pairs if math.isfinite(p["statistic"])]
    return {
        "pairs": pairs,
        "mean": float(np.mean(finite)) if finite else math.nan,
        "mean_note": "mean of the pairwise kappas (Light's kappa, Light 1971)",
        "min_pair_items": min_pair_items,
    }


def _notes(block: Mapping[str, Any], extreme: float) -> list[str]:
    """What a reader must know before trusting the block's numbers."""
    dim, prevalence = block["dimension"], block["prevalence"]
    if block["n_pairable"] == 0:
        return [
            f"{dim}: no item was rated by two or more raters, so agreement cannot be "
            "measured. Assign each item to two or more raters (annotate new --per-item 2)."
        ]
    notes = []
    # One threshold on the most frequent label: for 0/1 data "> 0.8" and "< 0.2" are
    # the same condition, and with many labels a rare one is no paradox.
    if max(prevalence.values()) > extreme:
        notes.append(prevalence_note(dim, prevalence, extreme))
    if not math.isfinite(block["fleiss_kappa"]["statistic"]):
        notes.append(
            f"{dim}: every rating uses the same label, so Fleiss' kappa, Krippendorff's "
            "alpha and Cohen's kappa are 0/0 (undefined). Percent agreement and Gwet's AC1 "
            "(whose chance agreement is 0 with one label used) are 1 because the raters never "
            "disagree; with one label in use that says nothing about whether they could."
        )
    elif not math.isfinite(block["krippendorff_alpha"]["statistic"]):
        notes.append(
            f"{dim}: Krippendorff's alpha is undefined (nan) while Fleiss' kappa is not: alpha "
            "uses only the items rated twice or more, and on those every rating has the same "
            "label; Fleiss' kappa (Gwet's generalisation) also counts the labels of items "
            "rated once when it estimates chance agreement."
        )
    if block["n_pairable"] < 30:
        notes.append(
            f"{dim}: only {block['n_pairable']} item(s) were rated twice or more; the "
            "intervals are wide and the coefficients unstable."
        )
    return notes


def _dimension_block(
    df: pd.DataFrame, dim: str, labels: Labels, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything the report says about one dimension."""
    # An item listed under two systems was judged once: count it once here.
    sub = df[df["dimension"] == dim].drop_duplicates(subset=["item_id", "annotator"])
    dim_labels = labels_of(df, dim, labels)
    if len(dim_labels) < 2:
        raise InputError(
            f"dimension {dim!r} has one label {dim_labels}: agreement needs two or more "
            "possible labels (declare them all)"
        )
    wide = sub.pivot(index="item_id", columns="annotator", values="value")
    table, _ = stats.counts_table(wide, dim_labels)
    level = settings["confidence_level"]
    block = _describe(sub, wide, table, dim, dim_labels)
    block.update(
        _coefficients(table, len(wide.columns), settings["n_boot"], settings["seed"], level)
    )
    block["cohen_kappa"] = _cohen_kappas(wide, dim_labels, settings["min_pair_items"], level)
    block["notes"].extend(_notes(block, settings["extreme_prevalence"]))
    return block


def agreement_report(
    ratings: pd.DataFrame,
    *,
    labels: Labels = None,
    n_boot: int = N_BOOT,
    seed: int | None = 0,
    confidence_level: float = 0.95,
    extreme: float = EXTREME_PREVALENCE,
    min_pair_items: int = 2,
) -> dict[str, Any]:
    """Inter-rater agreement per dimension; every statistic accepts items rated by a subset.

    ``labels``: dimension -> its full label set (default: 0/1 for 0/1 data, else the labels
    seen); AC1 depends on the number of possible labels. ``n_boot``/``seed``: Krippendorff's
    alpha bootstrap over items. ``extreme``: prevalence above this (or below 1 - this) adds
    the kappa-paradox note. ``min_pair_items``: pairs of raters sharing fewer items get no
    Cohen's kappa.
    """
    df = prepare(ratings)
    if not 0 < confidence_level < 1 or not 0.5 <= extreme < 1:
        raise InputError("confidence_level must be in (0, 1) and extreme in [0.5, 1)")
    if n_boot < 0 or min_pair_items < 1:
        raise InputError("n_boot must be 0 or more and min_pair_items 1 or more")
    settings = {
        "n_boot": n_boot,
        "seed": seed,
        "confidence_level": confidence_level,
        "extreme_prevalence": extreme,
    }
    options = {**settings, "min_pair_items": min_pair_items}
    blocks = [_dimension_block(df, dim, labels, options) for dim in dimensions_of(df)]
    return jsonable(
        {
            "report": "agreement",
            "dimensions": blocks,
            "settings": settings,
            "definitions": DEFINITIONS,
            "notes": [note for block in blocks for note in block["notes"]],
        }
    )
