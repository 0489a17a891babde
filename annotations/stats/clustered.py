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
:func:`cluster_interval`                 clustered interval of a mean (:func:`interval_rule`)
:func:`clustered_wilson`                 design-effect-adjusted Wilson interval of a rate
:func:`cluster_se`                       cluster-robust (CR1) standard error of a mean
:func:`sign_flip_test`                   permutation test flipping whole generics
:func:`clustered_mcnemar`                Durkalski et al. (2003), Stat Med 22:2417-2428
:func:`design_effect`                    clustered variance / variance under independence
:func:`pairs_needed`                     Connor (1987), Biometrics 43:207-211
:func:`min_detectable_difference`        Connor's formula solved for the difference
=======================================  ================================================

The sign-flip test (:mod:`.signflip`) uses ``scipy.stats.permutation_test`` (one sample,
``"samples"``: the sign of each generic's summed difference is flipped; exact when
2^G <= n_resamples). The interval follows :func:`interval_rule`: none below 6 generics,
the inverted exact sign-flip test up to 12, a bootstrap-t over generics above (vectorised
numpy; BCa and percentile through ``scipy.stats.bootstrap`` on request).
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
from logic_claims.annotations.stats.intervals import bootstrap_interval, wilson_interval
from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    BootstrapResult,
    ClusteredComparison,
    ConfidenceInterval,
    ProportionResult,
    TestResult,
)
from logic_claims.annotations.stats.signflip import (
    EXACT_MAX_GENERICS,
    equivalence_test,
    mcnemar_min_p,
    min_interval_generics,
    sign_flip_interval,
    sign_flip_test,
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


def _ratio(d: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.sum(d, axis=axis) / np.sum(n, axis=axis)


def clustered_mcnemar(d: np.ndarray) -> TestResult:
    """Durkalski et al.'s (2003) clustered McNemar test: ``X^2 = (sum d_g)^2 / sum d_g^2``.

    ``d_g = b_g - c_g``, the generic's claims only the system got right minus those only
    the baseline got right; chi-square with one degree of freedom. With one claim per
    cluster it is McNemar's asymptotic test ``(b - c)^2 / (b + c)``.
    ``details["min_attainable_p"]``: :func:`signflip.mcnemar_min_p`.
    """
    from scipy import stats

    name = "clustered McNemar test (Durkalski et al. 2003)"
    d = np.asarray(d, dtype=float)
    details = {"n_clusters": int(d.size), "min_attainable_p": mcnemar_min_p(d)}
    denom = float(np.sum(d**2))
    if denom == 0:
        return TestResult(0.0, 1.0, name, details)
    chi2 = float(np.sum(d)) ** 2 / denom
    return TestResult(chi2, float(stats.chi2.sf(chi2, 1)), name, details)


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
    ``s^2 / N`` of the per-claim differences. 1 = no clustering. Undefined (nan), not 0,
    when either variance is 0: every generic with the same mean (nothing to estimate the
    clustered variance from), or claims that do not vary.
    """
    total = float(n.sum())
    if d.size < 2 or total < 2:
        return math.nan
    clustered = float(cluster_se(d, n)) ** 2
    independent = float(np.var(diffs, ddof=1)) / total
    return clustered / independent if clustered > 0 and independent > 0 else math.nan


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


SAME_MEAN = "every generic has the same mean"  # the reason an interval is withheld


def interval_rule(n_generics: int, confidence_level: float) -> tuple[str, str | None]:
    """How :func:`cluster_interval` treats this many generics: ``("withheld", reason)``,
    ``("sign-flip", None)`` (the inverted exact test) or ``("bootstrap-t", None)``; see
    :mod:`~logic_claims.annotations.stats.signflip` for the rule and why."""
    fewest = min_interval_generics(confidence_level)
    if n_generics < fewest:
        noun = "generic" if n_generics == 1 else "generics"
        return "withheld", (
            f"{n_generics} {noun}: too few for a {confidence_level:.0%} interval (fewer than "
            f"{fewest}: the sign-flip test cannot reach p < {1 - confidence_level:.2g})"
        )
    return ("sign-flip" if n_generics <= EXACT_MAX_GENERICS else "bootstrap-t"), None


def cluster_interval(
    values: Sequence[float],
    clusters: Sequence[Hashable],
    *,
    n_resamples: int,
    confidence_level: float,
    rng: np.random.Generator,
    method: str = "studentized",
    rate: bool = False,
) -> BootstrapResult:
    """Clustered interval of ``mean(values)``, by :func:`interval_rule`.

    Fewer generics than :func:`signflip.min_interval_generics` (6 at 95%): no interval
    (``NAN_INTERVAL``, the reason in ``withheld``). Up to
    :data:`signflip.EXACT_MAX_GENERICS`: the inverted exact sign-flip test
    (:func:`signflip.sign_flip_interval`; coverage 95-99% at 6 and 10 generics in
    ``benchmarks/type1_error.py`` where the bootstrap-t reached 94% and less). Above:
    ``"studentized"`` (default), the bootstrap-t of :func:`_studentized`, which keeps its
    level with a few dozen generics where percentile intervals fall short (95.0% of 3000
    against 92.3% of 600 simulations of 34 generics of shares); it falls back to BCa when
    the standard error is 0. ``"BCa"`` or ``"percentile"``: ``scipy.stats.bootstrap``.

    ``rate=True`` (values in [0, 1]: a rate or mean share): up to 12 generics the
    :func:`clustered_wilson` interval instead of the inverted test, which assumes the
    generics' means symmetric about the rate (coverage 82% of a rate of 0.91 at 10
    generics in the benchmark's power rows).

    Where every generic has the same mean there is no spread to resample and every
    method above would give a zero-width interval, which no sample of generics can be
    trusted with: a rate gets :func:`clustered_wilson` at one trial per generic (100% of
    40 generics: [91.2%, 100%]); any other mean is withheld with the reason.
    """
    x = np.asarray(values, dtype=float)
    d, n = cluster_sums(x, np.zeros_like(x), clusters)
    rule, reason = interval_rule(d.size, confidence_level)
    if rule == "withheld":
        return BootstrapResult(NAN_INTERVAL, "none", withheld=reason)
    bounds = (float(x.min()), float(x.max()))
    means = d / n
    if (rule == "sign-flip" or np.ptp(means) == 0) and rate:
        res = clustered_wilson(x, clusters, confidence_level=confidence_level)
        return BootstrapResult(res.confidence_interval, res.method)
    if np.ptp(means) == 0:
        reason = f"{SAME_MEAN} ({means[0]:.4g}): no spread between generics to estimate it from"
        return BootstrapResult(NAN_INTERVAL, "none", withheld=reason)
    if rule == "sign-flip":
        ci = sign_flip_interval(d, n, confidence_level=confidence_level, bounds=bounds)
        return BootstrapResult(ci, f"inverted exact sign-flip test over {d.size} generics")
    if method == "studentized":
        ci = _studentized(d, n, n_resamples, confidence_level, rng)
        if ci is not None:  # kept within the values' range, as every resampled mean is
            ci = ConfidenceInterval(max(ci.low, bounds[0]), min(ci.high, bounds[1]))
            how = f"cluster bootstrap-t ({n_resamples} resamples) over generics"
            return BootstrapResult(ci, how)
        method = "BCa"
    res = bootstrap_interval(
        (d, n), _ratio, n_resamples=n_resamples, confidence_level=confidence_level,
        rng=rng, method=method, paired=True,
    )  # fmt: skip
    return BootstrapResult(res.confidence_interval, f"cluster {res.method} over generics")


def clustered_wilson(
    values: Sequence[float], clusters: Sequence[Hashable], *, confidence_level: float = 0.95
) -> ProportionResult:
    """Rate ``mean(values)`` (each in [0, 1]) over units in clusters, with a
    design-effect-adjusted Wilson interval (Kish 1965; Korn & Graubard 1998, Survey
    Methodology 24:193-201): Wilson's score interval on ``n_eff = n / deff`` trials with
    ``rate * n_eff`` successes.

    ``deff`` = the CR1 clustered variance of the mean (:func:`cluster_se` squared) over the
    binomial ``rate (1 - rate) / n`` that Wilson assumes; ``n_eff`` is kept between the
    number of generics ``G`` (as if the claims of a generic were one trial: the most
    clustering can take away) and ``n`` (one trial per unit, as the plain Wilson interval;
    shares vary less than 0/1 outcomes). Up to :data:`signflip.EXACT_MAX_GENERICS`
    generics, too few to estimate the clustered variance (coverage 93% at 6 generics in
    200 simulations), or without variance to estimate it from (0 or ``n`` events),
    ``n_eff = G``: valid because a generic's mean in [0, 1] varies at most as one trial
    does, and Wilson keeps working at any count.
    """
    x = np.asarray(values, dtype=float)
    d, n = cluster_sums(x, np.zeros_like(x), clusters)
    if x.size == 0:
        return wilson_interval(0.0, 0, confidence_level=confidence_level)
    rate, groups = float(x.mean()), d.size
    n_eff = float(groups)
    binomial = rate * (1 - rate) / x.size
    if groups > EXACT_MAX_GENERICS and binomial > 0:
        clustered = float(cluster_se(d, n)) ** 2
        if clustered > 0:
            n_eff = min(max(x.size * binomial / clustered, groups), x.size)
    ci = wilson_interval(rate * n_eff, n_eff, confidence_level=confidence_level)
    method = (
        f"Wilson, design-effect adjusted ({n_eff:.1f} effective of {x.size} items, "
        f"{groups} generics)"
    )
    return ProportionResult(rate, float(x.sum()), int(x.size), ci.confidence_interval, method)


def _sensitivity(x: np.ndarray, y: np.ndarray, mcnemar: str) -> TestResult | None:
    """McNemar on the claims (clustering ignored), when the outcomes are 0/1."""
    if not (np.isin(x, (0, 1)).all() and np.isin(y, (0, 1)).all()):
        return None
    return MCNEMAR_TESTS[mcnemar](x.astype(int), y.astype(int))


def _power(
    d: np.ndarray, n: np.ndarray, diffs: np.ndarray, floor: float, withheld: dict[str, str]
) -> tuple[float, float, float]:
    """Design effect, discordance and MDD; each undefined one's reason into ``withheld``.

    No design effect where there are too few generics for an interval (the clustered
    variance of 2 generics is noise: 7 for clusters of 4), no MDD where the primary test
    cannot reach ``ALPHA`` with these generics (its ``floor``), nor where the design effect
    is undefined.
    """
    deff = design_effect(d, n, diffs)
    discordance = float(np.mean(np.abs(diffs)))
    if "confidence_interval" in withheld and not withheld["confidence_interval"].startswith(
        SAME_MEAN
    ):  # too few generics for the clustered variance
        deff = math.nan
        withheld["design_effect"] = f"{d.size} generics: too few to estimate it"
    elif not math.isfinite(deff):
        withheld["design_effect"] = "no variance (every generic has the same mean difference)"
    if floor > ALPHA:
        withheld["min_detectable_difference"] = (
            f"the primary test cannot reach p < {ALPHA:g} with these generics "
            f"(smallest attainable p {floor:.3g})"
        )
        return deff, discordance, math.nan
    if not math.isfinite(deff):
        withheld["min_detectable_difference"] = "design effect undefined"
        return deff, discordance, math.nan
    mdd = min_detectable_difference(diffs.size / deff, discordance)
    if not math.isfinite(mdd):
        withheld["min_detectable_difference"] = (
            "no difference up to the observed discordance is detectable with 80% power"
        )
    return deff, discordance, mdd


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
    equivalence_margin: float | None = None,
) -> ClusteredComparison:
    """Paired difference ``mean(a - b)`` over units grouped in clusters (claims by generic).

    Interval: :func:`cluster_interval` (withheld below 6 generics, the inverted sign-flip
    test up to 12, cluster bootstrap-t above). Primary test: ``primary`` of
    :data:`PRIMARY_TESTS`, with the smallest p-value it can reach here
    (``min_attainable_p``). Sensitivity: McNemar (``"midp"`` by default, ``"exact"`` on
    request) on the claims as if independent. Design effect and the minimum detectable
    difference (80% power, two-sided 0.05) from the observed discordance and
    ``n / design effect`` effective pairs, none where the primary test cannot reach 0.05.
    ``equivalence_margin`` (a fraction, e.g. 0.05): two one-sided sign-flip tests of
    ``|difference| >= margin`` (:func:`signflip.equivalence_test`).
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
    floor = float(test.details["min_attainable_p"])
    diffs = x - y
    boot = cluster_interval(
        diffs, clusters, n_resamples=n_resamples, confidence_level=confidence_level, rng=rng
    )
    withheld = {"confidence_interval": boot.withheld} if boot.withheld else {}
    deff, discordance, mdd = _power(d, n, diffs, floor, withheld)
    equivalence = None
    if equivalence_margin is not None:
        equivalence = equivalence_test(d, n, equivalence_margin, n_resamples=n_resamples, rng=rng)
    sens = _sensitivity(x, y, mcnemar)
    return ClusteredComparison(
        statistic=float(diffs.mean()),
        pvalue=test.pvalue,
        confidence_interval=boot.confidence_interval,
        test=test.test,
        interval_method=boot.method,
        rate_a=float(x.mean()),
        rate_b=float(y.mean()),
        n_units=int(x.size),
        n_clusters=int(d.size),
        design_effect=deff,
        discordance=discordance,
        min_detectable_difference=mdd,
        primary=test,
        sensitivity=(sens,) if sens else (),
        min_attainable_p=floor,
        equivalence=equivalence,
        withheld=withheld,
    )
