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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import coefficients, stats
from logic_claims.annotations.agreement import result_dict
from logic_claims.annotations.coefficients import TWO_RATERS, Inputs
from logic_claims.annotations.frame import dimensions_of, jsonable, labels_of, prepare
from logic_claims.annotations.resampling import N_BOOT
from logic_claims.tasks.errors import InputError

MAJORITY = "human majority"
SEED = 0
ESTIMAND = (
    "agreement of two raters' labels on the items both rated, beyond the agreement their "
    "label shares give by chance"
)


@dataclass
class RaterPair:
    """One comparison of two raters on one dimension, a row of the calibration report:
    the coefficients of :data:`~logic_claims.annotations.coefficients.TWO_RATERS` (each a
    result dict), the confusion table and each side's label shares. The report's JSON
    is :meth:`to_json` (the coefficients as top-level keys); the renderers read rows back
    with :meth:`from_json`."""

    kind: str  # judge-majority, judge-human or human-human
    reference: str
    other: str
    n_items: int
    coefficients: dict[str, dict[str, Any]]
    confusion: dict[str, Any]  # {"labels": [...], "counts": rows of the reference's labels}
    prevalence: dict[str, dict[str, float | None]]  # {"reference": {...}, "other": {...}}

    def to_json(self) -> dict[str, Any]:
        head = {"kind": self.kind, "reference": self.reference, "other": self.other}
        return {
            **head,
            "n_items": self.n_items,
            **self.coefficients,
            "confusion": self.confusion,
            "prevalence": self.prevalence,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RaterPair:
        coefficients = {name: data[name] for name in TWO_RATERS}
        rest = {k: v for k, v in data.items() if k not in coefficients}
        return cls(coefficients=coefficients, **rest)


def pair_agreement(
    reference: Sequence[str],
    other: Sequence[str],
    categories: Sequence[str],
    *,
    n_boot: int = N_BOOT,
    seed: int | None = SEED,
    confidence_level: float = 0.95,
    kind: str = "judge-human",
    names: tuple[str, str] = ("reference", "other"),
) -> RaterPair:
    """Agreement of two aligned label sequences (the items both rated) of the raters
    ``names``: the coefficients, the confusion table and both sides' prevalence."""
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

    inputs = Inputs(
        table, cats, (reference, other), n_boot=n_boot, seed=seed, confidence_level=confidence_level
    )
    results = coefficients.compute(TWO_RATERS, inputs)
    return RaterPair(
        kind=kind,
        reference=names[0],
        other=names[1],
        n_items=n,
        coefficients={name: result_dict(res) for name, res in results.items()},
        confusion={
            "labels": cats,
            "counts": [
                [int(confusion.iat[i, j]) for j in range(len(cats))] for i in range(len(cats))
            ],
        },
        prevalence={"reference": shares(reference), "other": shares(other)},
    )


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


def _dimension_block(
    wide: pd.DataFrame,
    dim: str,
    cats: list[str],
    judge: str,
    reference: list[str],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Every comparison of one dimension: judge vs majority, vs each human, human pairs."""
    majority = human_majority(wide[reference])
    judged = wide[judge].notna()
    a, b = _aligned(majority, wide[judge])
    ties = int((judged & wide[reference].notna().any(axis=1) & majority.isna()).sum())
    comparisons = [
        pair_agreement(a, b, cats, **options, kind="judge-majority", names=(MAJORITY, judge))
    ]
    for human in reference if len(reference) > 1 else ():  # one person: the majority row
        a, b = _aligned(wide[human], wide[judge])
        if a:
            comparisons.append(pair_agreement(a, b, cats, **options, names=(human, judge)))
    for first, second in itertools.combinations(reference, 2):
        a, b = _aligned(wide[first], wide[second])
        if a:
            pair = pair_agreement(a, b, cats, **options, kind="human-human", names=(first, second))
            comparisons.append(pair)
    rows = [c.to_json() for c in comparisons]
    block = {"dimension": dim, "labels": cats, "n_ties": ties, "comparisons": rows}
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
    n_boot: int = N_BOOT,
    seed: int | None = SEED,
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
        dimensions.append(_dimension_block(wide, dim, cats, judge, people, options))
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


def calibrate_file(
    ratings_path: str,
    judge: str,
    reference: Sequence[str] | None = None,
    n_boot: int = N_BOOT,
    seed: int | None = SEED,
) -> dict[str, Any]:
    """The calibration report of ``judge`` on a store or ratings file: a store's raters
    with judge settings are judges, not people, and its dimensions give the labels."""
    from logic_claims.annotations.ratings import file_format, load_ratings
    from logic_claims.annotations.records import DEFAULT_DIMENSIONS
    from logic_claims.annotations.store import Store

    dimensions, judges, info = DEFAULT_DIMENSIONS, set(), None
    if file_format(ratings_path) == "store":
        with Store.open(ratings_path) as store:
            dimensions = store.dimensions
            judges = {r for r in store.annotators() if store.rater_info(r) is not None}
            info = store.rater_info(judge)
    ratings = load_ratings(ratings_path, dimensions)
    labels = {d.name: list(d.labels) for d in dimensions}
    return calibration_report(
        ratings,
        judge=judge,
        reference=reference,
        exclude=judges,
        labels=labels,
        judge_info=info,
        n_boot=n_boot,
        seed=seed,
    )


def judges_calibrations(ratings_path: str, raters: Sequence[str]) -> dict[str, Any]:
    """For each judge among ``raters`` (a store's raters with judge settings): its
    calibration against every person of the store, to print beside its scores."""
    from logic_claims.annotations.ratings import file_format
    from logic_claims.annotations.store import Store

    if file_format(ratings_path) != "store":
        return {}
    with Store.open(ratings_path) as store:
        judges = [r for r in raters if store.rater_info(r) is not None]
        people = store.conn.execute(
            "SELECT 1 FROM ratings r JOIN annotators a ON a.name = r.annotator"
            " WHERE a.kind = 'person' LIMIT 1"
        ).fetchone()
    if people is None:  # the scores stand; there is no one to calibrate the judge against
        reason = "no person has judged this set, so no calibration is possible"
        return {judge: {"no_calibration": reason} for judge in judges}
    return {judge: calibrate_file(ratings_path, judge) for judge in judges}
