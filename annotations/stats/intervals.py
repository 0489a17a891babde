"""Confidence intervals: Wilson for rates, t for linearised coefficients, and the bootstrap.

:func:`bootstrap_interval` is the one bootstrap of the project (``scipy.stats.bootstrap``):
the annotation comparisons ask for BCa, the benchmark comparison (``logic-claims compare``)
for percentile intervals. Pass a ``numpy.random.Generator`` as ``rng`` and the same seed
gives the same interval, bit for bit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np

from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    BootstrapResult,
    ConfidenceInterval,
    ProportionResult,
)

BOOTSTRAP_METHODS = ("percentile", "BCa")


def wilson_interval(k: float, n: int, *, confidence_level: float = 0.95) -> ProportionResult:
    """Rate ``k / n`` with the Wilson score interval (statsmodels ``proportion_confint``).

    ``k`` may be fractional (an item whose raters tie counts 0.5); the Wilson formula is then
    applied to the fractional count, which is what the score interval's algebra allows.
    """
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return ProportionResult(math.nan, k, n, NAN_INTERVAL)
    low, high = proportion_confint(k, n, alpha=1 - confidence_level, method="wilson")
    rate = float(k / n)  # inside the score interval; at k = n rounding left it 1 ulp out
    low, high = min(float(low), rate), max(float(high), rate)
    return ProportionResult(rate, float(k), int(n), ConfidenceInterval(low, high))


def t_interval(
    estimate: float, se: float, df: int, confidence_level: float, bounds: tuple[float, float]
) -> tuple[ConfidenceInterval, float]:
    """``estimate +- t(df) * se`` clipped to ``bounds``, and the two-sided p-value of ``H0: 0``."""
    from scipy import stats

    if not (math.isfinite(estimate) and math.isfinite(se)) or df < 1:
        return NAN_INTERVAL, math.nan
    crit = float(stats.t.ppf((1 + confidence_level) / 2, df))
    low = max(bounds[0], estimate - crit * se)
    high = min(bounds[1], estimate + crit * se)
    if se == 0:
        pvalue = 0.0 if estimate != 0 else 1.0
    else:
        pvalue = float(2 * stats.t.sf(abs(estimate / se), df))
    return ConfidenceInterval(float(low), float(high)), pvalue


def bootstrap_interval(
    data: tuple[np.ndarray, ...],
    statistic: Callable[..., np.ndarray],
    *,
    n_resamples: int,
    confidence_level: float,
    rng: np.random.Generator,
    method: str = "percentile",
    paired: bool = False,
) -> BootstrapResult:
    """Bootstrap interval of ``statistic(*data, axis=-1)`` (``scipy.stats.bootstrap``).

    ``statistic`` must be vectorized (take ``axis``), as ``np.mean`` is. ``method="BCa"``
    falls back to a percentile interval when BCa is undefined (e.g. every resample gives
    the same value), and that to a point interval when the percentile one is too.
    ``paired=True`` resamples the samples of ``data`` together (one index per unit).

    >>> x = np.array([0.0, 1.0, 1.0, 1.0])
    >>> res = bootstrap_interval((x,), np.mean, n_resamples=99, confidence_level=0.9,
    ...                          rng=np.random.default_rng(0))
    >>> res.method
    'percentile bootstrap (99 resamples)'
    """
    from scipy import stats

    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"method must be one of {BOOTSTRAP_METHODS}, got {method!r}")
    for how in dict.fromkeys((method, "percentile")):
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                data,
                statistic,
                paired=paired,
                vectorized=True,
                n_resamples=n_resamples,
                confidence_level=confidence_level,
                method=how,
                batch=500,
                rng=rng,
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return BootstrapResult(
                ConfidenceInterval(low, high), f"{how} bootstrap ({n_resamples} resamples)"
            )
    # Every resample gives the same value (e.g. all differences equal): the interval is a point.
    value = float(statistic(*data, axis=-1))
    return BootstrapResult(ConfidenceInterval(value, value), "degenerate (all resamples equal)")
