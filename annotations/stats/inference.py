"""Tests between systems: permutation tests, McNemar, Fisher, bootstrap intervals, Holm.

:func:`paired_comparison` and :func:`unpaired_comparison` compare two systems' per-unit
scores (the share of a unit's raters who chose the positive label). :func:`mcnemar_exact`
and :func:`holm` are the project's one McNemar test and one Holm correction: the benchmark
comparison (``logic-claims compare``) uses them too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from logic_claims.annotations.stats.intervals import bootstrap_interval
from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    ComparisonResult,
    ConfidenceInterval,
    TestResult,
)
from logic_claims.annotations.stats.signflip import sign_flip_min_p


def majority_labels(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Per-unit majority label from the share of positive ratings: 1, 0, or -1 for a tie."""
    scores = np.asarray(scores, dtype=float)
    return np.where(scores > 0.5, 1, np.where(scores < 0.5, 0, -1))


def _discordance_table(label_a: Sequence[int], label_b: Sequence[int]) -> tuple[np.ndarray, dict]:
    """The 2x2 table of paired 0/1 labels and its details (pairs with another label left out)."""
    x, y = np.asarray(label_a), np.asarray(label_b)
    keep = np.isin(x, (0, 1)) & np.isin(y, (0, 1))
    x, y = x[keep], y[keep]
    table = np.array(
        [
            [np.sum((x == 1) & (y == 1)), np.sum((x == 1) & (y == 0))],
            [np.sum((x == 0) & (y == 1)), np.sum((x == 0) & (y == 0))],
        ]
    )
    details = {
        "table": table.tolist(),
        "a_only": int(table[0, 1]),
        "b_only": int(table[1, 0]),
        "n_pairs": int(keep.sum()),
        "left_out": int((~keep).sum()),
    }
    return table, details


def mcnemar_exact(label_a: Sequence[int], label_b: Sequence[int]) -> TestResult:
    """McNemar's exact test on paired binary labels (statsmodels ``mcnemar(exact=True)``).

    ``statistic`` is min(b, c), the smaller discordant count; pairs with a missing or tied label
    (anything but 0/1) are left out and counted in ``details``. Conservative (its size is
    well under the nominal level, Fagerland et al. 2013): use :func:`mcnemar_midp`.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    table, details = _discordance_table(label_a, label_b)
    if details["a_only"] + details["b_only"] == 0:
        stat, pvalue = 0.0, 1.0  # no discordant pair: no evidence of a difference
    else:
        res = mcnemar(table, exact=True)
        stat, pvalue = float(res.statistic), float(res.pvalue)
    return TestResult(stat, pvalue, "McNemar exact test (statsmodels)", details)


def mcnemar_midp(label_a: Sequence[int], label_b: Sequence[int]) -> TestResult:
    """The mid-p McNemar test (Fagerland, Lydersen & Laake 2013, BMC Med Res Methodol 13:91).

    ``p = 2 * P(X <= k) - P(X = k)`` with ``X ~ Binomial(b + c, 1/2)`` and ``k = min(b, c)``:
    the exact conditional p-value less the point probability of the observed table, capped
    at 1. Their Table 1 (Bentur et al., b = 1, c = 7): exact 0.070, mid-p 0.039.
    ``statistic`` is min(b, c); pairs with another label than 0/1 are left out.
    """
    from scipy import stats

    _, details = _discordance_table(label_a, label_b)
    b, c = details["a_only"], details["b_only"]
    k, n = min(b, c), b + c
    pvalue = 1.0
    if n and b != c:
        pvalue = min(1.0, float(2 * stats.binom.cdf(k, n, 0.5) - stats.binom.pmf(k, n, 0.5)))
    elif n:  # b == c: the mid-p value of Fagerland et al.'s supplement
        pvalue = float(1 - 0.5 * stats.binom.pmf(k, n, 0.5))
    return TestResult(float(k), pvalue, "McNemar mid-p test (Fagerland et al. 2013)", details)


MCNEMAR_TESTS = {"midp": mcnemar_midp, "exact": mcnemar_exact}


def fisher_exact(label_a: Sequence[int], label_b: Sequence[int]) -> TestResult:
    """Fisher's exact test on two independent samples of binary labels (scipy).

    ``statistic`` is the sample odds ratio; labels other than 0/1 (ties) are left out.
    """
    from scipy import stats

    x, y = np.asarray(label_a), np.asarray(label_b)
    kx, ky = np.isin(x, (0, 1)), np.isin(y, (0, 1))
    x, y = x[kx], y[ky]
    table = np.array([[np.sum(x == 1), np.sum(x == 0)], [np.sum(y == 1), np.sum(y == 0)]])
    res = stats.fisher_exact(table)
    details = {"table": table.tolist(), "left_out": int((~kx).sum() + (~ky).sum())}
    return TestResult(float(res.statistic), float(res.pvalue), "Fisher exact test (scipy)", details)


def _mean_diff_paired(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _permutation_pvalue(
    x: np.ndarray,
    y: np.ndarray,
    statistic: Any,
    permutation_type: str,
    n_resamples: int,
    rng: np.random.Generator,
) -> float:
    """p-value of ``scipy.stats.permutation_test`` on the two systems' scores."""
    from scipy import stats

    res = stats.permutation_test(
        (x, y),
        statistic,
        permutation_type=permutation_type,
        vectorized=True,
        n_resamples=n_resamples,
        batch=500,
        rng=rng,
    )
    return float(res.pvalue)


def _test_and_interval(
    x: np.ndarray,
    y: np.ndarray,
    *,
    paired: bool,
    constant: bool,
    enough: bool,
    n_resamples: int,
    confidence_level: float,
    seed: int | None,
) -> tuple[float, ConfidenceInterval, str | None]:
    """The permutation test's p-value (1 when every score is the same: no evidence either
    way) and the BCa bootstrap interval of the mean difference (None as its method when
    there are too few units), drawn from one generator in that order."""
    rng = np.random.default_rng(seed)
    statistic = _mean_diff_paired if paired else _mean_diff
    kind = "samples" if paired else "independent"
    pvalue = 1.0 if constant else _permutation_pvalue(x, y, statistic, kind, n_resamples, rng)
    if not enough:
        return pvalue, NAN_INTERVAL, None
    boot = bootstrap_interval(
        (x, y),
        statistic,
        n_resamples=n_resamples,
        confidence_level=confidence_level,
        rng=rng,
        method="BCa",
        paired=paired,
    )
    return pvalue, boot.confidence_interval, boot.method


def permutation_min_p(x: np.ndarray, y: np.ndarray, *, paired: bool, n_resamples: int) -> float:
    """The smallest p-value the two-sided permutation test can give (at least this).

    Paired: the sign-flip bound ``2 / 2^K`` over units with a non-zero difference
    (:func:`signflip.sign_flip_min_p`). Unpaired: scipy doubles the smaller one-sided p,
    at least one split of ``C(N, n_a)``, so ``2 / C(N, n_a)`` (ties only raise it); sampled
    (more splits than ``n_resamples``), at least ``2 / (n_resamples + 1)``.
    """
    if paired:
        return sign_flip_min_p(x - y, n_resamples)
    splits = math.comb(x.size + y.size, x.size)
    floor = 2 / splits if splits > 1 else 1.0
    if splits > n_resamples:
        floor = max(floor, 2 / (n_resamples + 1))
    return min(1.0, floor)


def _result(
    x: np.ndarray, y: np.ndarray, diff: float, pvalue: float, ci: ConfidenceInterval, **how: Any
) -> ComparisonResult:
    """The comparison of scores ``x`` and ``y``; ``how``: paired, test, interval_method,
    exact_test, min_attainable_p. The permutation tests' statistic is the difference."""
    return ComparisonResult(
        statistic=diff,
        primary_statistic=diff,
        pvalue=pvalue,
        confidence_interval=ci,
        rate_a=float(x.mean()),
        rate_b=float(y.mean()),
        n_a=int(x.size),
        n_b=int(y.size),
        **how,
    )


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    mcnemar: str = "midp",
) -> ComparisonResult:
    """Compare two systems judged on the same units (``a[i]`` and ``b[i]`` are one claim).

    ``a``/``b`` are per-unit scores: the share of the unit's raters who gave the positive label
    (0 or 1 with one rater). Primary test: paired permutation test of the mean difference
    (``scipy.stats.permutation_test``, ``permutation_type="samples"``: swaps the two systems'
    scores within a unit; exact when 2^n <= n_resamples). Interval: paired bootstrap over units.
    Sensitivity test (``exact_test``): McNemar, mid-p by default or ``mcnemar="exact"``, on the
    per-unit majority labels (ties left out): another estimand, never the test of record.
    """

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired scores must be two 1-D arrays of the same length")
    if x.size == 0:
        raise ValueError("no paired units to compare")
    pvalue, ci, how = _test_and_interval(
        x, y, paired=True, constant=bool(np.all(x == y)), enough=x.size >= 2,
        n_resamples=n_resamples, confidence_level=confidence_level, seed=seed,
    )  # fmt: skip
    return _result(
        x,
        y,
        float(np.mean(x - y)),
        pvalue,
        ci,
        paired=True,
        test="paired permutation test on per-unit rater means (scipy permutation_test, samples)",
        interval_method=f"paired {how or 'none (one unit)'} over units",
        exact_test=MCNEMAR_TESTS[mcnemar](majority_labels(x), majority_labels(y)),
        min_attainable_p=permutation_min_p(x, y, paired=True, n_resamples=n_resamples),
    )


def unpaired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> ComparisonResult:
    """Compare two systems judged on different units (independent samples).

    Primary test: permutation test of the difference in means that reshuffles units between the
    systems (``permutation_type="independent"``). Interval: bootstrap resampling each system's
    units separately. Sensitivity test (``exact_test``): Fisher on the per-unit majority labels
    (ties left out).
    """

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError("each system needs at least one unit")
    pvalue, ci, how = _test_and_interval(
        x, y, paired=False, constant=bool(np.all(np.concatenate([x, y]) == x[0])),
        enough=x.size >= 2 and y.size >= 2,
        n_resamples=n_resamples, confidence_level=confidence_level, seed=seed,
    )  # fmt: skip
    return _result(
        x,
        y,
        float(x.mean() - y.mean()),
        pvalue,
        ci,
        paired=False,
        test="permutation test on per-item rater means (scipy permutation_test, independent)",
        interval_method=f"{how or 'none (a system has one unit)'}, resampling each system's items",
        exact_test=fisher_exact(majority_labels(x), majority_labels(y)),
        min_attainable_p=permutation_min_p(x, y, paired=False, n_resamples=n_resamples),
    )


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (statsmodels ``multipletests(method="holm")``).

    NaN entries (tests that could not run) are kept as NaN and do not count as comparisons.
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, math.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return [float(v) for v in out]
