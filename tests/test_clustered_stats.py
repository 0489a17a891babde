"""Clustered paired comparisons, the mid-p McNemar test and power: published and hand vectors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from logic_claims.annotations import stats


def labels(b: int, c: int, both: int = 0, neither: int = 0) -> tuple[list[int], list[int]]:
    """Paired 0/1 labels with ``b`` pairs (1, 0), ``c`` pairs (0, 1) and the concordant ones."""
    a = [1] * b + [0] * c + [1] * both + [0] * neither
    other = [0] * b + [1] * c + [1] * both + [0] * neither
    return a, other


def test_midp_mcnemar_matches_fagerland_2013_table_1():
    """Fagerland, Lydersen & Laake (2013), BMC Med Res Methodol 13:91, Table 1 (Bentur et
    al.: AHR before/after stem cell transplantation, n = 21, discordant 1 and 7): exact
    conditional p = 0.070, mid-p = 0.039 (their worked example, supplement eq. 2)."""
    a, b = labels(1, 7, both=1, neither=12)
    exact, midp = stats.mcnemar_exact(a, b), stats.mcnemar_midp(a, b)
    assert round(exact.pvalue, 3) == 0.070
    assert round(midp.pvalue, 3) == 0.039
    assert midp.pvalue == pytest.approx(10 / 256)  # 2 * 9/256 - 8/256, by hand
    assert midp.details["table"] == [[1, 1], [7, 12]]


def test_midp_mcnemar_equal_discordant_counts_and_none():
    """b = c: 1 - P(X = b) / 2 (Fagerland et al.'s supplement); no discordance: p = 1."""
    a, b = labels(3, 3)
    assert stats.mcnemar_midp(a, b).pvalue == pytest.approx(1 - 0.5 * 20 / 64)
    assert stats.mcnemar_midp(*labels(0, 0, both=4)).pvalue == 1.0


def test_clustered_mcnemar_with_one_claim_per_cluster_is_mcnemar_asymptotic():
    """Durkalski et al. (2003): with clusters of one, X^2 = (b - c)^2 / (b + c), McNemar's
    uncorrected chi-square (statsmodels as the reference)."""
    a, b = labels(9, 3, both=5, neither=4)
    d, _ = stats.cluster_sums(a, b, list(range(len(a))))
    res = stats.clustered_mcnemar(d)
    ref = mcnemar(np.array([[5, 9], [3, 4]]), exact=False, correction=False)
    assert res.statistic == pytest.approx(ref.statistic) == pytest.approx(36 / 12)
    assert res.pvalue == pytest.approx(ref.pvalue)


def test_clustered_mcnemar_hand_computed_clusters():
    """Per-cluster (b_g, c_g) = (2, 0), (1, 1), (3, 0), (0, 1): d = (2, 0, 3, -1),
    X^2 = 4^2 / (4 + 0 + 9 + 1) = 16/14; p = P(chi2_1 >= 16/14) = 0.2850 (scipy)."""
    d = np.array([2.0, 0.0, 3.0, -1.0])
    res = stats.clustered_mcnemar(d)
    assert res.statistic == pytest.approx(16 / 14)
    assert res.pvalue == pytest.approx(0.28505, abs=1e-5)


def test_sign_flip_test_matches_enumeration():
    """Exact when 2^G <= n_resamples: equal to counting all sign patterns by hand."""
    d = np.array([3.0, -1.0, 2.0, 2.0, 0.0, 4.0, -2.0, 1.0])
    observed = abs(d.sum())
    flips = [abs(np.dot(s, d)) for s in itertools.product((1, -1), repeat=d.size)]
    by_hand = np.mean([f >= observed - 1e-9 for f in flips])
    res = stats.sign_flip_test(d, n_resamples=9999, rng=np.random.default_rng(0))
    assert res.details["exact"] is True
    assert res.pvalue == pytest.approx(by_hand)


def test_connor_sample_size_and_its_inverse():
    """Connor (1987): n = (z_.975 sqrt(psi) + z_.8 sqrt(psi - delta^2))^2 / delta^2.
    By hand, psi = 0.3, delta = 0.1: (1.959964 * 0.547723 + 0.841621 * 0.538516)^2 / 0.01
    = 1.526742^2 / 0.01 = 233.09 pairs."""
    assert stats.pairs_needed(0.1, 0.3) == pytest.approx(233.09, abs=0.01)
    assert stats.min_detectable_difference(233.0945, 0.3) == pytest.approx(0.1, abs=1e-5)
    assert math.isnan(stats.pairs_needed(0.4, 0.3))  # a difference beyond the discordance
    assert math.isnan(stats.min_detectable_difference(10, 0.3))  # too few pairs for any


def test_design_effect_is_one_without_clusters_and_large_with_them():
    """Clusters of one: the ratio-estimator variance is s^2 / N exactly, so DE = 1. Whole
    clusters moving together (all four claims alike): DE near the cluster size."""
    rng = np.random.default_rng(3)
    diffs = rng.integers(-1, 2, size=40).astype(float)
    d, n = stats.cluster_sums(diffs, np.zeros(40), list(range(40)))
    assert stats.design_effect(d, n, diffs) == pytest.approx(1.0)
    per_generic = rng.integers(-1, 2, size=40).astype(float)
    diffs = np.repeat(per_generic, 4)
    d, n = stats.cluster_sums(diffs, np.zeros(160), np.repeat(np.arange(40), 4))
    assert stats.design_effect(d, n, diffs) == pytest.approx(4 * 159 / 156, rel=0.01)


def test_clustered_comparison_reports_primary_and_sensitivity():
    """Whole generics won by one system: the claims look like 24 independent wins to
    McNemar (mid-p 2^-24 by hand), while the clustered tests see six generics."""
    a = [1] * 24 + [0] * 16
    b = [0] * 24 + [0] * 16
    generics = np.repeat(np.arange(10), 4)
    res = stats.clustered_paired_comparison(a, b, generics, n_resamples=1024, seed=0)
    assert res.statistic == pytest.approx(0.6) and res.n_clusters == 10
    # 2^10 <= 1024: exact. 6 generics +4, 4 at 0: |sum| = 24 in 2 of the 2^6 sign patterns
    assert res.pvalue == pytest.approx(2 / 64)
    (sens,) = res.sensitivity
    assert sens.test.startswith("McNemar mid-p")
    assert sens.pvalue == pytest.approx(2 * 0.5**24 - 0.5**24)
    assert res.design_effect > 3
    low, high = res.confidence_interval
    assert 0 < low < 0.6 < high <= 1
    exact = stats.clustered_paired_comparison(a, b, generics, mcnemar="exact", seed=0)
    assert exact.sensitivity[0].pvalue == pytest.approx(2 * 0.5**24)
    with pytest.raises(ValueError, match="primary test must be one of"):
        stats.clustered_paired_comparison(a, b, generics, primary="t-test")


def test_cluster_se_by_hand_and_without_clusters():
    """CR1 by hand: clusters (d, n) = (1, 2), (0, 2), (2, 2): est = 3/6 = 0.5, residuals
    d - 0.5 n = (0, -1, 1), SE = sqrt(3/2 * 2) / 6 = sqrt(3) / 6. Clusters of one: the
    usual s / sqrt(N)."""
    se = stats.cluster_se(np.array([1.0, 0.0, 2.0]), np.array([2.0, 2.0, 2.0]))
    assert float(se) == pytest.approx(math.sqrt(3) / 6)
    x = np.random.default_rng(1).normal(size=30)
    assert float(stats.cluster_se(x, np.ones(30))) == pytest.approx(x.std(ddof=1) / math.sqrt(30))


def test_cluster_bootstrap_t_is_near_the_t_interval_for_a_normal_sample():
    """Bootstrap-t over 400 singleton clusters of a normal sample: the pivot is nearly t, so
    the interval is within a few percent of mean +- t(399) s / sqrt(n)."""
    from scipy import stats as sps

    x = np.random.default_rng(2).normal(0.3, 1.0, size=400)
    res = stats.cluster_interval(
        x, list(range(400)), n_resamples=4000, confidence_level=0.95,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    half = sps.t.ppf(0.975, 399) * x.std(ddof=1) / 20
    low, high = res.confidence_interval
    assert res.method.startswith("cluster bootstrap-t")
    assert low == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert high == pytest.approx(x.mean() + half, abs=0.1 * half)
    # Twenty generics that all score the same: no spread to resample. A rate gets Wilson's
    # interval at one trial per generic, never a point; any other mean is withheld; two
    # such generics are too few for any interval (issue 20).
    how = {"n_resamples": 99, "confidence_level": 0.95, "rng": np.random.default_rng(0)}
    half = stats.cluster_interval([1, 0] * 20, np.repeat(np.arange(20), 2), rate=True, **how)
    assert half.confidence_interval == stats.wilson_interval(10, 20).confidence_interval
    every = stats.cluster_interval([1] * 80, np.repeat(np.arange(40), 2), rate=True, **how)
    assert every.confidence_interval == stats.wilson_interval(40, 40).confidence_interval
    assert every.confidence_interval.low == pytest.approx(0.9124, abs=1e-4)  # 40/40: Wilson
    assert every.confidence_interval.high == 1.0  # the rate itself, not 1 ulp below it
    same = stats.cluster_interval([1, 0] * 20, np.repeat(np.arange(20), 2), **how)
    assert math.isnan(same.confidence_interval.low)
    assert same.withheld.startswith("every generic has the same mean (0.5)")
    two = stats.cluster_interval(
        [1, 0, 1, 0], ["a", "a", "b", "b"], n_resamples=99, confidence_level=0.95,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    assert math.isnan(two.confidence_interval.low) and two.withheld.startswith("2 generics")
