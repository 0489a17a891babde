"""Paired binary outcomes in clusters: one claim per unit, one generic per cluster.

Every test generic yields four claims (All, Not all, Some, No), and a model that knows a
generic tends to get all four right, so claims are not independent: the unit of
resampling and of permutation is the **generic** (Miller 2024, "Adding error bars to
evals"). The estimand is the paired difference in per-claim correctness,
``mean over claims of (a_i - b_i)`` with ``a_i, b_i`` in {0, 1} (or shares in [0, 1]).

=======================================  ================================================
function                                 what
=======================================  ================================================
:func:`clustered_paired_comparison`      the estimate, its cluster-bootstrap interval, the
                                         primary test, design effect, MDD, sensitivity
:func:`cluster_interval`                 cluster bootstrap-t interval of a mean
:func:`cluster_se`                       cluster-robust (CR1) standard error of a mean
:func:`sign_flip_test`                   permutation test flipping whole generics
:func:`clustered_mcnemar`                Durkalski et al. (2003), Stat Med 22:2417-2428
:func:`design_effect`                    clustered variance / variance under independence
:func:`pairs_needed`                     Connor (1987), Biometrics 43:207-211
:func:`min_detectable_difference`        Connor's formula solved for the difference
=======================================  ================================================

The sign-flip test uses ``scipy.stats.permutation_test`` (one sample, ``"samples"``: the
sign of each generic's summed difference is flipped; exact when 2^G <= n_resamples), and
the interval a bootstrap-t over generics (vectorised numpy; BCa and percentile through
``scipy.stats.bootstrap`` on request).
Durkalski's statistic ``(sum_g d_g)^2 / sum_g d_g^2`` (``d_g`` = the generic's
system-only minus baseline-only claims) is the square of the sign-flip statistic divided
by its permutation standard deviation: the two primary tests ask the same question, one
by chi-square approximation, one by enumeration.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

from logic_claims.annotations.stats.inference import MCNEMAR_TESTS
from logic_claims.annotations.stats.intervals import bootstrap_interval
from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    BootstrapResult,
    ClusteredComparison,
    ConfidenceInterval,
    TestResult,
)

PRIMARY_TESTS = ("sign-flip", "clustered-mcnemar")
ALPHA = 0.05
POWER = 0.8
POWER_TEXT = f"{POWER:.0%} power"
POWER_NOTE = f"{POWER_TEXT}, two-sided {ALPHA:g}"
"""How every report names the power and level of its minimum detectable difference."""


def cluster_sums(
    a: Sequence[float], b: Sequence[float], clusters: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster (first-seen order): the summed difference ``sum(a - b)`` and its size."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(clusters) != x.size:
        raise ValueError("a, b and clusters must be 1-D and of one length")
    index: dict[Hashable, int] = {}
    codes = np.array([index.setdefault(c, len(index)) for c in clusters], dtype=int)
    d = np.bincount(codes, weights=x - y, minlength=len(index))
    n = np.bincount(codes, minlength=len(index)).astype(float)
    return d, n


def _sum(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(d, axis=axis)


def _ratio(d: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(d, axis=axis) / np.sum(n, axis=axis)


def sign_flip_test(d: np.ndarray, *, n_resamples: int, rng: np.random.Generator) -> TestResult:
    """Two-sided sign-flip permutation test of ``sum(d) = 0`` (``d``: per-cluster sums).

    Under H0 the two systems' answers to one generic are exchangeable, so each generic's
    summed difference is as likely to carry either sign. No difference at all: p = 1.
    """
    from scipy import stats

    name = "sign-flip permutation test on per-generic differences (scipy permutation_test)"
    d = np.asarray(d, dtype=float)
    if not np.any(d):
        return TestResult(0.0, 1.0, name, {"n_clusters": int(d.size)})
    res = stats.permutation_test(
        (d,), _sum, permutation_type="samples", vectorized=True,
        n_resamples=n_resamples, batch=1000, rng=rng,
    )  # fmt: skip
    exact = 2**d.size <= n_resamples
    details = {"n_clusters": int(d.size), "exact": exact}
    return TestResult(float(res.statistic), float(res.pvalue), name, details)


def clustered_mcnemar(d: np.ndarray) -> TestResult:
    """Durkalski et al.'s (2003) clustered McNemar test: ``X^2 = (sum d_g)^2 / sum d_g^2``.

    ``d_g = b_g - c_g``, the generic's claims only the system got right minus those only
    the baseline got right; chi-square with one degree of freedom. With one claim per
    cluster it is McNemar's asymptotic test ``(b - c)^2 / (b + c)``.
    """
    from scipy import stats

    name = "clustered McNemar test (Durkalski et al. 2003)"
    d = np.asarray(d, dtype=float)
    denom = float(np.sum(d**2))
    if denom == 0:
        return TestResult(0.0, 1.0, name, {"n_clusters": int(d.size)})
    chi2 = float(np.sum(d)) ** 2 / denom
    return TestResult(chi2, float(stats.chi2.sf(chi2, 1)), name, {"n_clusters": int(d.size)})


def cluster_se(d: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
    """Cluster-robust (CR1) standard error of the ratio mean ``sum d / sum n``:
    ``sqrt(G/(G-1) * sum_g (d_g - est n_g)^2) / sum n`` (Cameron & Miller 2015, eq. 12
    for a mean; the variance :func:`design_effect` divides)."""
    g = d.shape[axis]
    total = np.sum(n, axis=axis)
    est = np.sum(d, axis=axis) / total
    resid = d - np.expand_dims(est, axis) * n
    return np.sqrt(g / (g - 1) * np.sum(resid**2, axis=axis)) / total


def design_effect(d: np.ndarray, n: np.ndarray, diffs: np.ndarray) -> float:
    """Kish's design effect: the clustered variance of the mean difference over its
    variance were the claims independent.

    Clustered: the square of :func:`cluster_se` (the linearised ratio-estimator variance
    ``G/(G-1) * sum_g (d_g - D n_g)^2 / N^2`` with ``D = sum d / N``); independent:
    ``s^2 / N`` of the per-claim differences. 1 = no clustering; 0 when every cluster has
    the same mean (the clustered estimate does not vary); nan when the claims do not vary.
    """
    total = float(n.sum())
    if d.size < 2 or total < 2:
        return math.nan
    clustered = float(cluster_se(d, n)) ** 2
    independent = float(np.var(diffs, ddof=1)) / total
    return clustered / independent if independent > 0 else math.nan


def pairs_needed(
    difference: float, discordance: float, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Pairs a two-sided McNemar test needs to detect ``difference`` (Connor 1987, eq. 3).

    ``n = (z_{1-alpha/2} sqrt(psi) + z_{power} sqrt(psi - delta^2))^2 / delta^2`` with
    ``psi`` the share of discordant pairs and ``delta`` the difference in rates; nan when
    ``|delta| > psi`` (impossible: the difference cannot exceed the discordance). Multiply
    by the design effect for clustered claims. E.g. delta 0.1, psi 0.3: 233.1 pairs.
    """
    from scipy import stats

    delta = abs(difference)
    if not (0 < delta <= discordance <= 1):
        return math.nan
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    root = za * math.sqrt(discordance) + zb * math.sqrt(discordance - delta**2)
    return float(root**2 / delta**2)


def min_detectable_difference(
    n_pairs: float, discordance: float, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest difference detectable with ``power`` by ``n_pairs`` (effective) pairs.

    Connor's (1987) sample size solved for ``delta`` (it falls as ``delta`` grows);
    pass ``n / design_effect`` for clustered claims (Card et al. 2020, "With little power
    comes great responsibility", report it next to every comparison). nan when no
    difference up to the discordance itself is detectable.
    """
    from scipy import optimize

    if not (n_pairs > 0 and 0 < discordance <= 1):
        return math.nan
    if math.isinf(n_pairs):
        return 0.0
    if pairs_needed(discordance, discordance, alpha=alpha, power=power) > n_pairs:
        return math.nan

    def gap(delta: float) -> float:
        return pairs_needed(delta, discordance, alpha=alpha, power=power) - n_pairs

    return float(optimize.brentq(gap, 1e-9, discordance, xtol=1e-10))


def _studentized(
    d: np.ndarray,
    n: np.ndarray,
    n_resamples: int,
    confidence_level: float,
    rng: np.random.Generator,
) -> ConfidenceInterval | None:
    """Cluster bootstrap-t interval (Hall 1992; Cameron, Gelbach & Miller 2008): resample
    clusters, studentize each resample's estimate by its own CR1 standard error, and invert
    the quantiles of ``t*`` around the estimate. None when the standard error is 0."""
    est, se = float(d.sum() / n.sum()), float(cluster_se(d, n))
    if not se > 0:
        return None
    idx = rng.integers(0, d.size, size=(n_resamples, d.size))
    db, nb = d[idx], n[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (db.sum(axis=1) / nb.sum(axis=1) - est) / cluster_se(db, nb)
    t = t[np.isfinite(t)]  # a resample of identical clusters has no spread
    if t.size < 2:
        return None
    tail = (1 - confidence_level) / 2
    t_low, t_high = np.quantile(t, [tail, 1 - tail])
    return ConfidenceInterval(float(est - t_high * se), float(est - t_low * se))


def cluster_interval(
    values: Sequence[float],
    clusters: Sequence[Hashable],
    *,
    n_resamples: int,
    confidence_level: float,
    rng: np.random.Generator,
    method: str = "studentized",
) -> BootstrapResult:
    """Cluster-bootstrap interval of ``mean(values)`` (clusters resampled whole).

    ``"studentized"`` (default): the bootstrap-t of :func:`_studentized`, which keeps its
    level with a few dozen generics where percentile intervals fall short (95.0% of 3000
    against 92.3% of 600 simulations of 34 generics of shares, the data of
    ``benchmarks/type1_error.py``); it
    falls back to BCa when the standard error is 0. ``"BCa"`` or ``"percentile"``:
    ``scipy.stats.bootstrap``.

    The mean over units drawn is the resampled clusters' summed values over their summed
    sizes. One cluster, or every cluster alike, gives the point interval.
    """
    x = np.asarray(values, dtype=float)
    d, n = cluster_sums(x, np.zeros_like(x), clusters)
    if d.size < 2:
        value = float(x.mean())
        return BootstrapResult(ConfidenceInterval(value, value), "degenerate (one cluster)")
    if method == "studentized":
        ci = _studentized(d, n, n_resamples, confidence_level, rng)
        if ci is not None:  # kept within the values' range, as every resampled mean is
            ci = ConfidenceInterval(max(ci.low, float(x.min())), min(ci.high, float(x.max())))
            how = f"cluster bootstrap-t ({n_resamples} resamples) over generics"
            return BootstrapResult(ci, how)
        method = "BCa"
    res = bootstrap_interval(
        (d, n), _ratio, n_resamples=n_resamples, confidence_level=confidence_level,
        rng=rng, method=method, paired=True,
    )  # fmt: skip
    return BootstrapResult(res.confidence_interval, f"cluster {res.method} over generics")


def _sensitivity(x: np.ndarray, y: np.ndarray, mcnemar: str) -> TestResult | None:
    """McNemar on the claims (clustering ignored), when the outcomes are 0/1."""
    if not (np.isin(x, (0, 1)).all() and np.isin(y, (0, 1)).all()):
        return None
    return MCNEMAR_TESTS[mcnemar](x.astype(int), y.astype(int))


def clustered_paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    clusters: Sequence[Hashable],
    *,
    primary: str = "sign-flip",
    mcnemar: str = "midp",
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> ClusteredComparison:
    """Paired difference ``mean(a - b)`` over units grouped in clusters (claims by generic).

    Interval: cluster bootstrap-t (generics resampled with replacement, the estimate
    recomputed as summed difference over claims drawn, studentized by its CR1 SE). Primary test:
    ``primary`` of :data:`PRIMARY_TESTS`. Sensitivity: McNemar (``"midp"`` by default,
    ``"exact"`` on request) on the claims as if independent. Design effect and the
    minimum detectable difference (80% power, two-sided 0.05) from the observed
    discordance and ``n / design effect`` effective pairs.
    """
    if primary not in PRIMARY_TESTS:
        raise ValueError(f"primary test must be one of {PRIMARY_TESTS}, not {primary!r}")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d, n = cluster_sums(x, y, clusters)
    if x.size == 0:
        raise ValueError("no paired units to compare")
    rng = np.random.default_rng(seed)
    if primary == "sign-flip":
        test = sign_flip_test(d, n_resamples=n_resamples, rng=rng)
    else:
        test = clustered_mcnemar(d)
    ci, how = NAN_INTERVAL, "none (fewer than two generics)"
    if d.size >= 2:
        boot = cluster_interval(
            x - y, clusters, n_resamples=n_resamples, confidence_level=confidence_level, rng=rng
        )
        ci, how = boot.confidence_interval, boot.method
    diffs = x - y
    deff = design_effect(d, n, diffs)
    discordance = float(np.mean(np.abs(diffs)))
    if not math.isfinite(deff):
        effective = float(x.size)
    else:
        effective = x.size / deff if deff > 0 else math.inf
    sens = _sensitivity(x, y, mcnemar)
    return ClusteredComparison(
        statistic=float(diffs.mean()),
        pvalue=test.pvalue,
        confidence_interval=ci,
        test=test.test,
        interval_method=how,
        rate_a=float(x.mean()),
        rate_b=float(y.mean()),
        n_units=int(x.size),
        n_clusters=int(d.size),
        design_effect=deff,
        discordance=discordance,
        min_detectable_difference=min_detectable_difference(effective, discordance),
        primary=test,
        sensitivity=(sens,) if sens else (),
    )
