"""The sign-flip test on per-generic sums, and what follows from it at any number of generics.

Under ``H0: mean difference = delta`` the shifted per-generic sums ``e_g = d_g - delta n_g``
are as likely to carry either sign, so flipping whole generics gives the test's null
distribution (Fisher's randomization test for paired data; Good 2005, *Permutation,
Parametric and Bootstrap Tests of Hypotheses*, sec. 3.7). From the one test:

======================================  ================================================
function                                what
======================================  ================================================
:func:`sign_flip_test`                  two-sided test of ``delta = 0`` (scipy)
:func:`sign_flip_min_p`                 the smallest p it can give: ``2 / 2^K`` for ``K``
                                        generics with a non-zero difference
:func:`mcnemar_min_p`                   the same for Durkalski's clustered McNemar:
                                        ``X^2 <= K`` (Cauchy-Schwarz), so ``P(chi2_1 >= K)``
:func:`min_interval_generics`           the fewest generics for a two-sided interval
:func:`sign_flip_interval`              the interval that inverts the test (exact)
:func:`equivalence_test`                two one-sided sign-flip tests of ``|delta| >= m``
======================================  ================================================

**The interval rule** (:func:`sign_flip_interval`, used by ``clustered.cluster_interval``):
with ``K`` generics the two-sided sign-flip p-value is at least ``2 / 2^K``; below
:func:`min_interval_generics` (6 for 95%) no shift can be rejected, so the only interval
that agrees with the test is the whole range: it is withheld, with the reason. From there to
:data:`EXACT_MAX_GENERICS` the interval is the set of shifts the exact test does not reject
(all ``2^K`` sign patterns), so interval and test agree; above it the cluster bootstrap-t
(``clustered._studentized``). Coverage of both is simulated in ``benchmarks/type1_error.py``
at 6, 10 and 50 generics.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from logic_claims.annotations.stats.results import NAN_INTERVAL, ConfidenceInterval, TestResult

EXACT_MAX_GENERICS = 12  # 4096 sign patterns: the inverted interval up to here
SIGN_FLIP = "sign-flip permutation test on per-generic differences (scipy permutation_test)"
TOST = "two one-sided sign-flip tests on per-generic differences shifted by the margin (TOST)"
_GRID = 801  # shifts scanned before the ends are refined by bisection


def _sum(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(d, axis=axis)


def sign_flip_min_p(d: np.ndarray, n_resamples: int | None = None) -> float:
    """The smallest two-sided p-value the sign-flip test can give on these generics.

    Only generics with a non-zero sum change the statistic when flipped: with ``K`` of them
    the observed pattern and its mirror are the two most extreme of ``2^K``, so ``2 / 2^K``
    (1 when ``K = 0``). Sampled rather than enumerated (``2^K > n_resamples``), scipy's
    p-value is at least ``2 / (n_resamples + 1)``.
    """
    k = int(np.count_nonzero(np.asarray(d, dtype=float)))
    floor = min(1.0, 2.0 / 2**k)
    if n_resamples is not None and 2**k > n_resamples:
        floor = max(floor, 2.0 / (n_resamples + 1))
    return floor


def mcnemar_min_p(d: np.ndarray) -> float:
    """The smallest p-value of Durkalski's clustered McNemar test on these generics.

    ``X^2 = (sum d_g)^2 / sum d_g^2 <= K`` (Cauchy-Schwarz, equal when every non-zero
    ``d_g`` is equal), ``K`` the generics with a non-zero difference: ``P(chi2_1 >= K)``.
    E.g. 4 generics: 0.0455; 3: 0.0833 (nothing significant at 0.05).
    """
    from scipy import stats

    k = int(np.count_nonzero(np.asarray(d, dtype=float)))
    return float(stats.chi2.sf(k, 1)) if k else 1.0


def min_interval_generics(confidence_level: float) -> int:
    """The fewest generics for which the sign-flip test can reject two-sided at
    ``1 - confidence_level``: the smallest ``K`` with ``2 / 2^K <= 1 - confidence_level``
    (6 for 95%, 8 for 99%)."""
    alpha = 1 - confidence_level
    return max(2, math.ceil(1 - math.log2(alpha) - 1e-12))


def sign_flip_test(d: np.ndarray, *, n_resamples: int, rng: np.random.Generator) -> TestResult:
    """Two-sided sign-flip permutation test of ``sum(d) = 0`` (``d``: per-cluster sums).

    Under H0 the two systems' answers to one generic are exchangeable, so each generic's
    summed difference is as likely to carry either sign. No difference at all: p = 1; one
    generic: p = 1 (both signs are as extreme). ``details["min_attainable_p"]``: see
    :func:`sign_flip_min_p`.
    """
    from scipy import stats

    d = np.asarray(d, dtype=float)
    details: dict = {
        "n_clusters": int(d.size),
        "min_attainable_p": sign_flip_min_p(d, n_resamples),
    }
    if not np.any(d) or d.size < 2:
        return TestResult(float(d.sum()), 1.0, SIGN_FLIP, details)
    res = stats.permutation_test(
        (d,), _sum, permutation_type="samples", vectorized=True,
        n_resamples=n_resamples, batch=1000, rng=rng,
    )  # fmt: skip
    details["exact"] = 2**d.size <= n_resamples
    return TestResult(float(res.statistic), float(res.pvalue), SIGN_FLIP, details)


def _all_signs(k: int) -> np.ndarray:
    """Every sign pattern of ``k`` generics, ``2^k x k``."""
    return np.array(list(itertools.product((1.0, -1.0), repeat=k)))


def _exact_pvalues(signs: np.ndarray, d: np.ndarray, n: np.ndarray, shifts: np.ndarray):
    """Two-sided exact sign-flip p-values of ``H0: mean = shift`` for each shift."""
    e = d[:, None] - n[:, None] * shifts[None, :]  # K x shifts
    observed = np.abs(e.sum(axis=0))
    flipped = np.abs(signs @ e)
    tol = 1e-10 * np.abs(e).sum(axis=0)  # rounding, on the scale of the sums
    return np.mean(flipped >= observed - tol, axis=0)


def sign_flip_interval(
    d: np.ndarray, n: np.ndarray, *, confidence_level: float, bounds: tuple[float, float]
) -> ConfidenceInterval:
    """The shifts ``delta`` in ``bounds`` that the exact two-sided sign-flip test of
    ``sum_g (d_g - delta n_g) = 0`` does not reject at ``1 - confidence_level``: the
    interval that agrees with the test (Good 2005, sec. 3.7; the hull of that set).

    ``d``, ``n``: per-generic sums and sizes, at most :data:`EXACT_MAX_GENERICS` generics.
    A shift outside the values' ``bounds`` makes every ``e_g`` one sign, rejected from 6
    generics on, so the scan stays inside them. Every generic alike: the point
    ``d_g / n_g``. Fewer generics than :func:`min_interval_generics`: ``NAN_INTERVAL``.
    """
    d, n = np.asarray(d, dtype=float), np.asarray(n, dtype=float)
    if d.size < min_interval_generics(confidence_level) or d.size > EXACT_MAX_GENERICS:
        return NAN_INTERVAL
    alpha = 1 - confidence_level
    est = float(d.sum() / n.sum())
    signs = _all_signs(d.size)
    grid = np.unique(np.concatenate([np.linspace(bounds[0], bounds[1], _GRID), [est]]))
    kept = grid[_exact_pvalues(signs, d, n, grid) > alpha]
    if kept.size == 0:
        return ConfidenceInterval(est, est)

    def edge(inside: float, outside: float) -> float:
        for _ in range(50):  # bisection to 1e-15 of the range
            mid = (inside + outside) / 2
            if _exact_pvalues(signs, d, n, np.array([mid]))[0] > alpha:
                inside = mid
            else:
                outside = mid
        return inside

    step = (bounds[1] - bounds[0]) / (_GRID - 1)
    low, high = float(kept.min()), float(kept.max())
    low = edge(low, low - step) if low > bounds[0] else low
    high = edge(high, high + step) if high < bounds[1] else high
    return ConfidenceInterval(low, high)


def equivalence_test(
    d: np.ndarray, n: np.ndarray, margin: float, *, n_resamples: int, rng: np.random.Generator
) -> TestResult:
    """Two one-sided sign-flip tests (Schuirmann 1987) of ``H0: |delta| >= margin``.

    Lower: ``e_g = d_g + margin n_g``, ``H0: delta <= -margin`` against greater; upper:
    ``e_g = d_g - margin n_g``, ``H0: delta >= margin`` against less. ``pvalue`` is the
    larger of the two (equivalence within the margin when it is at most alpha);
    ``statistic`` the estimate ``sum d / sum n`` that both shifts test. The smallest
    p-value either side can give is ``1 / 2^K`` (``K``: generics with a non-zero shifted
    sum), so it works, and says what it can reach, at any number of generics.
    """
    from scipy import stats

    d, n = np.asarray(d, dtype=float), np.asarray(n, dtype=float)
    if not margin > 0:
        raise ValueError(f"the equivalence margin must be positive, not {margin}")
    sides = {}
    for side, shifted, alternative in (
        ("lower", d + margin * n, "greater"),
        ("upper", d - margin * n, "less"),
    ):
        k = int(np.count_nonzero(shifted))
        floor = 1.0 / 2**k if 2**k <= n_resamples else 1.0 / (n_resamples + 1)
        if shifted.size < 2 or k == 0:
            p = 1.0 if k == 0 or (shifted.sum() > 0) != (alternative == "greater") else 0.5
        else:
            p = stats.permutation_test(
                (shifted,), _sum, permutation_type="samples", vectorized=True,
                n_resamples=n_resamples, batch=1000, rng=rng, alternative=alternative,
            ).pvalue  # fmt: skip
        sides[side] = {"pvalue": float(p), "min_attainable_p": floor}
    details = {
        "margin": margin,
        "lower": sides["lower"],
        "upper": sides["upper"],
        "n_clusters": int(d.size),
        "min_attainable_p": max(s["min_attainable_p"] for s in sides.values()),
    }
    pvalue = max(s["pvalue"] for s in sides.values())
    return TestResult(float(d.sum() / n.sum()), pvalue, TOST, details)
