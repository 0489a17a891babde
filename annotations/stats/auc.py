"""The area under the ROC curve of a continuous judge against binary labels.

``AUC = P(score of a positive > score of a negative) + P(tie) / 2``, which is the
Mann-Whitney U statistic of the positives against the negatives over ``n1 * n0``
(Hanley & McNeil 1982, Radiology 143:29-36, section II): the statistic and its p-value
(H0: AUC = 0.5, two-sided) are ``scipy.stats.mannwhitneyu``'s. Its standard error is
DeLong, DeLong & Clarke-Pearson (1988, Biometrics 44:837-845): from the placement values
``V10_i`` (the share of negatives a positive outranks) and ``V01_j`` (the share of
positives outranking a negative), ``var = var(V10) / n1 + var(V01) / n0``. The interval
is Wald on the logit scale (Pepe 2003, *The Statistical Evaluation of Medical Tests*,
5.2.3), so it stays inside (0, 1).

The interval is withheld (NaN, with the reason in ``details``) when either class has
fewer than ``MIN_CLASS`` items or the standard error is 0 (a judge that ranks every pair
the same way, or scores every item the same): a zero-width interval would claim a
certainty these data do not give. The test checks the statistic on Hanley & McNeil's
worked example (Table I: AUC 0.893, their SE 0.032) and the interval's coverage by
simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from logic_claims.annotations.stats.results import NAN_INTERVAL, ConfidenceInterval

MIN_CLASS = 10  # fewer positives or negatives than this: the interval is withheld


@dataclass(frozen=True)
class AUCResult:
    """``statistic``: the AUC; ``pvalue``: Mann-Whitney's for H0 AUC = 0.5."""

    statistic: float
    confidence_interval: ConfidenceInterval
    pvalue: float
    standard_error: float
    n_positive: int
    n_negative: int
    method: str = "Mann-Whitney AUC, DeLong SE, logit Wald interval"
    details: dict[str, Any] = field(default_factory=dict)


def roc_auc(
    scores: Sequence[float], positive: Sequence[bool], *, confidence_level: float = 0.95
) -> AUCResult:
    """The AUC of ``scores`` for telling the items with ``positive`` True from the rest."""
    x = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("scores and labels must be aligned 1-d sequences")
    if not np.isfinite(x).all():
        raise ValueError("scores must be finite")
    pos, neg = x[y], x[~y]
    n1, n0 = len(pos), len(neg)
    if n1 == 0 or n0 == 0:
        reason = f"no {'positives' if n1 == 0 else 'negatives'}: the AUC is undefined"
        return AUCResult(math.nan, NAN_INTERVAL, math.nan, math.nan, n1, n0,
                         details={"withheld": reason})  # fmt: skip
    test = sps.mannwhitneyu(pos, neg, alternative="two-sided")
    auc = float(test.statistic) / (n1 * n0)
    # Placement values through ranks: a positive's count of negatives below it (ties 1/2)
    # is its rank among all minus its rank among the positives.
    ranks_all = sps.rankdata(np.concatenate([pos, neg]))
    v10 = (ranks_all[:n1] - sps.rankdata(pos)) / n0
    v01 = 1.0 - (ranks_all[n1:] - sps.rankdata(neg)) / n1
    var = (np.var(v10, ddof=1) / n1 if n1 > 1 else math.nan) + (
        np.var(v01, ddof=1) / n0 if n0 > 1 else math.nan
    )
    se = math.sqrt(var) if math.isfinite(var) else math.nan
    details: dict[str, Any] = {}
    if min(n1, n0) < MIN_CLASS:
        details["withheld"] = (
            f"{min(n1, n0)} {'positives' if n1 < n0 else 'negatives'} (under {MIN_CLASS}): "
            "too few for an interval"
        )
    elif not se > 0:
        details["withheld"] = "the standard error is 0 (every pair ranked alike): no interval"
    interval = NAN_INTERVAL
    if "withheld" not in details:
        z = sps.norm.ppf(0.5 + confidence_level / 2)
        logit = math.log(auc / (1 - auc))
        half = z * se / (auc * (1 - auc))
        interval = ConfidenceInterval(_expit(logit - half), _expit(logit + half))
    return AUCResult(auc, interval, float(test.pvalue), se, n1, n0, details=details)


def auc_withheld(reason: str) -> AUCResult:
    """No AUC, and why (a dimension that is not 0/1, a pair with no scores)."""
    return AUCResult(math.nan, NAN_INTERVAL, math.nan, math.nan, 0, 0,
                     details={"withheld": reason})  # fmt: skip


def _expit(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))
