"""Calibration of an automatic judge: how far its judgments agree with people's.

A judge is one more rater, so it is measured like one, with the coefficients of
:mod:`logic_claims.annotations.stats` (nothing is computed here that they do not compute):
per dimension, its agreement with the human majority and with each human, and beside it
the humans' agreement with each other, all on the items both sides rated.

For each pair of raters (the judge and the human majority, the judge and one person, two
people) the report gives:

- percent agreement, Cohen's kappa, Gwet's AC1 and Krippendorff's alpha (nominal), each
  with its interval as the statistics package computes it (kappa: asymptotic SE; AC1 and
  percent agreement: Gwet's linearised t interval; alpha: percentile bootstrap over items);
- the confusion table (rows: the reference's label, columns: the other rater's) and each
  side's label prevalence, without which kappa cannot be read (a judge that always says
  "1" agrees with people on every item they rated "1", and its kappa is 0).

The human majority of an item is the label most of its reference raters gave; an item with
a tie has none and is left out of that comparison (counted in ``n_ties``). With a single
reference rater the majority is that person, and the report has that one row.

Beside kappa, for a 0/1 dimension, each judge row has the judge's AUC
(:func:`logic_claims.annotations.stats.roc_auc`): how well the judge's margin (its
``score``: the log-odds of 1 over 0 a log-likelihood judge records) ranks the items the
reference calls 1 above those it calls 0. Kappa reads the verdicts at one threshold; the
AUC reads the ranking at every threshold, so a judge that says "yes" to everything but
is more sure on the right items shows it. A judge without margins (generation) is ranked
by its verdicts (``auc_from: "verdicts"``: then the AUC is its balanced accuracy).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import stats
from logic_claims.annotations.agreement import result_dict
from logic_claims.annotations.frame import dimensions_of, jsonable, labels_of, prepare
from logic_claims.tasks.errors import InputError

MAJORITY = "human majority"
ESTIMAND = (
    "agreement of two raters' labels on the items both rated, beyond the agreement their "
    "label shares give by chance"
)


def pair_agreement(
    reference: Sequence[str],
    other: Sequence[str],
    categories: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """Agreement of two aligned label sequences (the items both rated): the four
    coefficients, the confusion table and both sides' prevalence."""
    if len(reference) != len(other):
        raise ValueError("the two raters' sequences must be aligned (same length)")
    cats = list(categories)
    table, _ = stats.counts_table(list(zip(reference, other, strict=True)), cats)
    confusion = pd.crosstab(
        pd.Categorical(reference, categories=cats),
        pd.Categorical(other, categories=cats),
        dropna=False,
    )
    n = len(reference)

    def shares(labels: Sequence[str]) -> dict[str, float]:
        return {c: (sum(1 for v in labels if v == c) / n if n else math.nan) for c in cats}

    return {
        "n_items": n,
        "percent_agreement": result_dict(
            stats.percent_agreement(table, confidence_level=confidence_level)
        ),
        "cohen_kappa": result_dict(
            stats.cohen_kappa(
                list(reference), list(other), categories=cats, confidence_level=confidence_level
            )
        ),
        "gwet_ac1": result_dict(stats.gwet_ac1(table, confidence_level=confidence_level)),
        "krippendorff_alpha": result_dict(
            stats.krippendorff_alpha(
                table, n_boot=n_boot, seed=seed, confidence_level=confidence_level
            )
        ),
        "confusion": {
            "labels": cats,
            "counts": [
                [int(confusion.iat[i, j]) for j in range(len(cats))] for i in range(len(cats))
            ],
        },
        "prevalence": {"reference": shares(reference), "other": shares(other)},
    }


def human_majority(wide: pd.DataFrame) -> pd.Series:
    """Per item (row), the label most of its raters (columns) gave; None on a tie or when
    nobody rated it."""

    def top(row: pd.Series) -> str | None:
        counts = row.dropna().value_counts()
        if counts.empty or (len(counts) > 1 and counts.iloc[0] == counts.iloc[1]):
            return None
        return str(counts.index[0])

    return wide.apply(top, axis=1)


def _aligned(a: pd.Series, b: pd.Series) -> tuple[list[str], list[str]]:
    both = a.notna() & b.notna()
    return [str(v) for v in a[both]], [str(v) for v in b[both]]


def _mean(blocks: Iterable[Mapping[str, Any]], name: str) -> float:
    values = [b[name]["statistic"] for b in blocks if b["n_items"] >= 2]
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def _constant_label(prevalence: Mapping[str, Any]) -> list[str]:
    return [label for label, share in prevalence.items() if share == 1.0]


def verdict_notes(block: Mapping[str, Any], judge: str) -> list[str]:
    """The plain sentences a reader needs first: is the judge worse than people are with
    each other, and is it better than chance at all?"""
    notes = []
    comparisons = block["comparisons"]
    judge_rows = [c for c in comparisons if c["kind"] == "judge-human"]
    human_rows = [c for c in comparisons if c["kind"] == "human-human"]
    judge_kappa = _mean(judge_rows, "cohen_kappa")
    human_kappa = _mean(human_rows, "cohen_kappa")
    dim = block["dimension"]
    if not human_rows:
        notes.append(
            f"{dim}: only one person rated these items, so there is no agreement between "
            "people to set the judge's against."
        )
    elif math.isfinite(judge_kappa) and math.isfinite(human_kappa):
        if judge_kappa < human_kappa:
            notes.append(
                f"{dim}: {judge} agrees less with people (mean Cohen's kappa "
                f"{judge_kappa:.3f}) than people do with each other ({human_kappa:.3f})."
            )
        else:
            notes.append(
                f"{dim}: {judge} agrees with people at least as well (mean Cohen's kappa "
                f"{judge_kappa:.3f}) as people do with each other ({human_kappa:.3f})."
            )
    majority = next((c for c in comparisons if c["kind"] == "judge-majority"), None)
    constant = [] if majority is None else _constant_label(majority["prevalence"]["other"])
    if constant:
        notes.append(
            f"{dim}: {judge} gave every item the label {constant[0]!r}, so it tells nothing "
            "apart: its agreement with people is their own share of that label."
        )
    if majority is not None:
        kappa = majority["cohen_kappa"]
        low = kappa["confidence_interval"]["low"]
        if kappa["statistic"] is None or not math.isfinite(kappa["statistic"]):
            notes.append(f"{dim}: Cohen's kappa of {judge} and the human majority is undefined.")
        elif low is not None and math.isfinite(low) and low <= 0:
            notes.append(
                f"{dim}: {judge}'s agreement with the human majority is not distinguishable "
                f"from chance (Cohen's kappa {kappa['statistic']:.3f}, interval reaching "
                f"{low:.3f})."
            )
    return notes


def judge_auc(
    reference: pd.Series, score: pd.Series, cats: Sequence[str], confidence_level: float
) -> dict[str, Any] | None:
    """The AUC of the judge's ``score`` (per item) against the ``reference`` labels on the
    items both have; None for a dimension that is not 0/1."""
    if list(cats) != ["0", "1"]:
        return None
    both = reference.notna() & score.notna()
    res = stats.roc_auc(
        score[both].astype(float).tolist(),
        (reference[both].astype(str) == "1").tolist(),
        confidence_level=confidence_level,
    )
    return {
        "statistic": res.statistic,
        "confidence_interval": {"low": res.confidence_interval.low,
                                "high": res.confidence_interval.high},
        "standard_error": res.standard_error,
        "pvalue": res.pvalue,
        "n_positive": res.n_positive,
        "n_negative": res.n_negative,
        "method": res.method,
        **res.details,
    }  # fmt: skip


def _judge_score(wide: pd.DataFrame, scores: pd.Series | None, judge: str) -> tuple[pd.Series, str]:
    """The judge's score per item: its margins when it recorded one for every judgment,
    else its verdicts as 0/1."""
    judged = wide[judge].notna()
    if scores is not None and scores.reindex(wide.index)[judged].notna().all():
        return scores.reindex(wide.index), "margins"
    return wide[judge].map(lambda v: None if pd.isna(v) else float(v == "1")), "verdicts"


def _dimension_block(
    wide: pd.DataFrame,
    dim: str,
    cats: list[str],
    judge: str,
    reference: list[str],
    options: dict[str, Any],
    scores: pd.Series | None = None,
) -> dict[str, Any]:
    """Every comparison of one dimension: judge vs majority, vs each human, human pairs."""
    comparisons = []
    majority = human_majority(wide[reference])
    judged = wide[judge].notna()
    score, auc_from = _judge_score(wide, scores, judge)
    level = options["confidence_level"]
    a, b = _aligned(majority, wide[judge])
    ties = int((judged & wide[reference].notna().any(axis=1) & majority.isna()).sum())
    comparisons.append(
        {"kind": "judge-majority", "reference": MAJORITY, "other": judge,
         **pair_agreement(a, b, cats, **options),
         "auc": judge_auc(majority, score, cats, level)}
    )  # fmt: skip
    for human in reference if len(reference) > 1 else ():  # one person: the majority row
        a, b = _aligned(wide[human], wide[judge])
        if a:
            comparisons.append(
                {"kind": "judge-human", "reference": human, "other": judge,
                 **pair_agreement(a, b, cats, **options),
                 "auc": judge_auc(wide[human], score, cats, level)}
            )  # fmt: skip
    for first, second in itertools.combinations(reference, 2):
        a, b = _aligned(wide[first], wide[second])
        if a:
            comparisons.append(
                {"kind": "human-human", "reference": first, "other": second,
                 **pair_agreement(a, b, cats, **options)}
            )  # fmt: skip
    block = {"dimension": dim, "labels": cats, "n_ties": ties, "comparisons": comparisons,
             "auc_from": auc_from}  # fmt: skip
    block["notes"] = verdict_notes(block, judge)
    return block


def calibration_report(
    ratings: pd.DataFrame,
    *,
    judge: str,
    reference: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    labels: Mapping[str, Sequence[str]] | None = None,
    judge_info: Mapping[str, Any] | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """The calibration of rater ``judge`` against the ``reference`` raters (default: every
    rater not in ``exclude``, the other judges), per dimension, as a JSON-ready dict."""
    df = prepare(ratings).drop_duplicates(subset=["item_id", "annotator", "dimension"])
    raters = sorted(set(df["annotator"]))
    if judge not in raters:
        raise InputError(f"no judgments by {judge!r} (raters: {', '.join(raters)})")
    excluded = set(exclude) | {judge}
    people = list(reference) if reference else [r for r in raters if r not in excluded]
    unknown = [r for r in people if r not in raters]
    if unknown:
        raise InputError(f"--reference-raters: no judgments by {', '.join(unknown)}")
    if not people or judge in people:
        raise InputError("calibration needs reference raters other than the judge")
    options = {"n_boot": n_boot, "seed": seed, "confidence_level": confidence_level}
    dimensions = []
    for dim in dimensions_of(df):
        sub = df[df["dimension"] == dim]
        wide = sub.pivot(index="item_id", columns="annotator", values="value")
        wide = wide.reindex(columns=[judge, *people])
        if wide[judge].isna().all():
            continue
        cats = labels_of(df, dim, labels)
        scores = None
        if "score" in sub.columns:
            mine = sub[sub["annotator"] == judge].drop_duplicates("item_id")
            scores = mine.set_index("item_id")["score"].astype(float)
        dimensions.append(_dimension_block(wide, dim, cats, judge, people, options, scores))
    return jsonable(
        {
            "analysis": "calibration",
            "estimand": ESTIMAND,
            "judge": judge,
            "judge_info": dict(judge_info) if judge_info else None,
            "reference_raters": people,
            "confidence_level": confidence_level,
            "dimensions": dimensions,
        }
    )
