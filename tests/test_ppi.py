"""Prediction-powered inference: ppi_py's estimate and interval, the PPI++ lambda, the
clustered variance, design weights and the interval for samples without negatives."""

from __future__ import annotations

import math

import numpy as np
import ppi_py
import pytest
from statsmodels.stats.proportion import proportion_confint

from logic_claims.annotations import stats


def judged(seed: int, n: int = 80, big_n: int = 700, accuracy: float = 0.85):
    """People's 0/1 labels on n items, a judge right with ``accuracy`` on them and its
    labels on ``big_n`` items people did not judge."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.6).astype(float)
    yhat = np.where(rng.random(n) < accuracy, y, 1 - y)
    truth_u = rng.random(big_n) < 0.6
    yhat_u = np.where(rng.random(big_n) < accuracy, truth_u, ~truth_u).astype(float)
    return y, yhat, yhat_u


def ppi_plus_plus_lambda(y: np.ndarray, yhat: np.ndarray, yhat_u: np.ndarray) -> float:
    """PPI++ (Angelopoulos, Duchi & Zrnic 2023, arXiv 2311.01453, example 6.1 / eq. 8 for
    a mean): lam = Cov(Y, f) / ((1 + n/N) Var(f)), clipped to [0, 1], with ppi_py's
    estimators (covariance over the labeled items, ddof 0; variance over all, ddof 1)."""
    n, big_n = len(y), len(yhat_u)
    cov = np.sum((y - y.mean()) * (yhat - yhat.mean())) / n
    var = np.var(np.concatenate([yhat, yhat_u]), ddof=1)
    return float(np.clip(cov / ((1 + n / big_n) * var), 0, 1))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("accuracy", [0.55, 0.85, 1.0])
def test_unclustered_uniform_equals_ppi_py(seed, accuracy):
    y, yhat, yhat_u = judged(seed, accuracy=accuracy)
    res = stats.ppi_mean(y, yhat, yhat_u, interval="wald", confidence_level=0.95)
    point = ppi_py.ppi_mean_pointestimate(y, yhat, yhat_u)
    low, high = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.05)  # its default is 0.1
    assert res.statistic == pytest.approx(float(np.squeeze(point)), abs=1e-8)
    assert res.confidence_interval.low == pytest.approx(float(np.squeeze(low)), abs=1e-8)
    assert res.confidence_interval.high == pytest.approx(float(np.squeeze(high)), abs=1e-8)
    assert res.lam == pytest.approx(ppi_plus_plus_lambda(y, yhat, yhat_u), abs=1e-12)
    # lam = 0 is people alone: ppi_py's classical interval and the sample mean.
    alone = stats.ppi_mean(y, yhat, yhat_u, lam=0, interval="wald")
    low0, high0 = ppi_py.ppi_mean_ci(y, yhat, yhat_u, alpha=0.05, lam=0)
    assert alone.statistic == pytest.approx(y.mean(), abs=1e-12)
    assert alone.confidence_interval.low == pytest.approx(float(np.squeeze(low0)), abs=1e-8)
    assert alone.confidence_interval.high == pytest.approx(float(np.squeeze(high0)), abs=1e-8)


def test_informative_judge_narrows_and_counts_effective_items():
    y, yhat, yhat_u = judged(3, accuracy=0.95)
    res = stats.ppi_mean(y, yhat, yhat_u)
    assert res.lam > 0.5
    assert res.width_ratio < 0.75
    var_people = res.people_standard_error**2
    assert res.effective_n == pytest.approx(len(y) * var_people / res.standard_error**2)
    assert res.effective_n > 1.5 * len(y)


def test_people_alone_wilson_is_statsmodels_wilson():
    """lam = 0, independent items: n_eff = p(1-p) / (p(1-p)/n) = n, so the interval is the
    Wilson score interval of k of n (statsmodels, Wilson 1927)."""
    y, yhat, yhat_u = judged(4, n=37)
    res = stats.ppi_mean(y, yhat, yhat_u, lam=0)
    low, high = proportion_confint(int(y.sum()), len(y), alpha=0.05, method="wilson")
    assert res.confidence_interval == pytest.approx((low, high), abs=1e-12)


def test_clustered_people_alone_is_the_cluster_robust_se():
    """lam = 0 with generics as clusters: the standard error is clustered.cluster_se (CR1)
    and the interval's quantile a t with G - 1 degrees of freedom."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(15), 4)
    y = (rng.random(60) < np.repeat(rng.uniform(0.1, 0.9, 15), 4)).astype(float)
    gu = np.repeat(np.arange(15, 100), 4)
    res = stats.ppi_mean(y, y, np.ones(gu.size), clusters=g, clusters_unlabeled=gu, lam=0,
                         interval="wald")  # fmt: skip
    d, n = stats.cluster_sums(y, np.zeros_like(y), g)
    assert res.standard_error == pytest.approx(float(stats.cluster_se(d, n)), rel=1e-12)
    assert res.df == 14 and res.n_clusters == 15
    from scipy.stats import t

    half = t.ppf(0.975, 14) * res.standard_error
    assert res.confidence_interval == pytest.approx((y.mean() - half, y.mean() + half))


def test_clusters_widen_when_claims_of_a_generic_agree():
    """Four identical claims per generic: the clustered standard error is about twice the
    one that treats them as independent (design effect ~4)."""
    rng = np.random.default_rng(6)
    per_generic = (rng.random(30) < 0.5).astype(float)
    y = np.repeat(per_generic, 4)
    g = np.repeat(np.arange(30), 4)
    yu = np.repeat((rng.random(200) < 0.5).astype(float), 4)
    gu = np.repeat(np.arange(30, 230), 4)
    flat = stats.ppi_mean(y, y, yu, lam=0)
    clustered = stats.ppi_mean(y, y, yu, clusters=g, clusters_unlabeled=gu, lam=0)
    ratio = clustered.standard_error / flat.standard_error
    assert ratio == pytest.approx(2 * math.sqrt(30 / 29), rel=1e-9)


def test_design_weights_undo_oversampling():
    """A stratified sample that oversamples a rare stratum: weighted by 1/pi the estimate
    lands on the population mean, unweighted it does not (fixed data, exact numbers)."""
    # population: stratum A (900 items, rate 0.9), stratum B (100 items, rate 0.1)
    y_pop = np.r_[np.ones(810), np.zeros(90), np.ones(10), np.zeros(90)]
    stratum = np.r_[np.zeros(900), np.ones(100)].astype(int)
    pi = np.where(stratum == 0, 0.05, 0.5)  # 45 of A, 50 of B
    rng = np.random.default_rng(7)
    take = np.zeros(1000, bool)
    take[rng.choice(900, 45, replace=False)] = True
    take[900 + rng.choice(100, 50, replace=False)] = True
    y = y_pop[take]
    weighted = stats.ppi_mean(y, y, y_pop[~take], w=1 / pi[take], w_unlabeled=1 / (1 - pi[~take]))
    plain = stats.ppi_mean(y, y, y_pop[~take])
    # judge = truth: lam = V_L / (V_L + V_U), most weight on the judge
    assert 0.8 < weighted.lam < 1
    assert abs(weighted.statistic - y_pop.mean()) < 0.02
    assert abs(plain.people_statistic - y_pop.mean()) > 0.2
    assert abs(weighted.people_statistic - y_pop.mean()) < 0.06


def test_no_negatives_interval_keeps_width():
    """A sample with no negatives: the Wald interval would be the point [1, 1]; the Wilson
    interval at the effective sample size (Korn & Graubard 1998) keeps a width, the Wilson
    interval of 40 of 40 items."""
    y = np.ones(40)
    g = np.repeat(np.arange(10), 4)
    yhat = np.r_[np.ones(36), np.zeros(4)]
    yhat_u = (np.random.default_rng(8).random(960) < 0.97).astype(float)
    gu = np.repeat(np.arange(10, 250), 4)
    res = stats.ppi_mean(y, yhat, yhat_u, clusters=g, clusters_unlabeled=gu)
    assert res.lam == 0.0  # people's labels do not vary: nothing to learn from the judge
    assert res.statistic == 1.0
    low, high = proportion_confint(40, 40, alpha=0.05, method="wilson")
    assert res.confidence_interval == pytest.approx((low, high))
    assert res.confidence_interval.low < 0.92
    wald = stats.ppi_mean(y, yhat, yhat_u, clusters=g, clusters_unlabeled=gu, interval="wald")
    assert wald.confidence_interval.low == wald.confidence_interval.high == 1.0


def test_paired_difference_by_ppi_and_withheld_when_flat():
    rng = np.random.default_rng(9)
    g = np.repeat(np.arange(20), 4)
    a = (rng.random(80) < 0.8).astype(float)
    b = (rng.random(80) < 0.4).astype(float)
    gu = np.repeat(np.arange(20, 120), 4)
    au = (rng.random(400) < 0.8).astype(float)
    bu = (rng.random(400) < 0.4).astype(float)
    res = stats.ppi_difference(a - b, a - b, au - bu, clusters=g, clusters_unlabeled=gu)
    assert res.confidence_interval.low > 0 and res.pvalue < 0.01
    assert res.lam > 0.7
    flat = stats.ppi_difference(np.zeros(80), a - b, au - bu, clusters=g, clusters_unlabeled=gu)
    assert math.isnan(flat.confidence_interval.low) and "withheld" in flat.note


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="both"):
        stats.ppi_mean([1, 0], [1, 0], [1], clusters=[0, 1])
    with pytest.raises(ValueError, match="one value per labeled item"):
        stats.ppi_mean([1, 0], [1], [1])
    with pytest.raises(ValueError, match="finite"):
        stats.ppi_mean([1, math.nan], [1, 0], [1])


def test_jackknife_of_a_plain_mean_is_the_cluster_robust_variance():
    """Generics of equal size, people alone: the delete-a-generic jackknife variance of the
    mean equals CR1's (both s^2 / G over generic means; Efron & Stein 1981), so the
    default interval is the Wilson interval at that variance."""
    rng = np.random.default_rng(10)
    g = np.repeat(np.arange(12), 4)
    y = (rng.random(48) < np.repeat(rng.uniform(0.2, 0.8, 12), 4)).astype(float)
    gu = np.repeat(np.arange(12, 60), 4)
    constant = np.ones(gu.size)
    res = stats.ppi_mean(y, np.ones(48), constant, clusters=g, clusters_unlabeled=gu)
    d, n = stats.cluster_sums(y, np.zeros_like(y), g)
    assert res.lam == 0.0
    assert res.people_standard_error == pytest.approx(float(stats.cluster_se(d, n)), rel=1e-9)
    assert res.standard_error == res.people_standard_error
