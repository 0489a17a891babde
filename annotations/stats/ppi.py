"""Prediction-powered inference (PPI++) for a mean rater share, clustered by generic.

People judge a random sample of items (``y``, shares in [0, 1]); an automatic judge rates
those items too (``yhat``) and the items people did not judge (``yhat_unlabeled``). The
estimate (Angelopoulos et al. 2023, *Science* 382:669; PPI++, Angelopoulos, Duchi & Zrnic
2023, arXiv 2311.01453, eq. 2)::

    theta = lam * mean_w(yhat_unlabeled) + mean_w(y - lam * yhat)

is unbiased for any fixed ``lam`` whatever the judge's quality; ``lam = 0`` is people alone.
``mean_w`` is the weighted (Hajek) mean with the design's weights: ``1 / pi`` for an item
people judged, ``1 / (1 - pi)`` for one they did not, ``pi`` the item's inclusion
probability (uniform sampling: every weight equal, plain means).

Variance: the two means are independent samples, ``V = lam^2 V_U(yhat) + V_L(y - lam yhat)``,
each the linearised variance of a weighted mean. With ``clusters`` (claims of one generic
are one cluster; the sample draws whole generics) it is the cluster-robust (CR1) variance of
:func:`~logic_claims.annotations.stats.clustered.cluster_se` over weighted residual sums,
``G/(G-1) sum_g z_g^2``, with a ``t(G - 1)`` quantile (``G`` = generics people judged;
Cameron & Miller 2015, J Hum Resour 50:317, sec. VI). ``lam`` is power-tuned: the value
that minimises that variance, ``C_L(y, yhat) / (V_L(yhat) + V_U(yhat))`` clipped to
[0, 1], computed with the same cluster sums. A judge that tells nothing (constant, or
unrelated to people) gets ``lam`` near 0 and the interval of people alone.

Without ``clusters`` (independent items) everything is ``ppi_py``'s: the PPI++ ``lam``
of ``ppi_py.ppi._calc_lam_glm`` (``cov(y, yhat) / ((1 + n/N) var(all yhat))``), the
standard errors ``std / sqrt(n)`` (ddof 0) and a normal quantile; ``interval="wald"``
then reproduces ``ppi_py.ppi_mean_pointestimate`` and ``ppi_py.ppi_mean_ci`` exactly (the
test checks it to 1e-8).

Intervals (``interval=``):

- ``"jackknife"`` (default): with ``clusters``, the labeled part's variance is the
  delete-a-generic jackknife of the estimate with ``lam`` tuned again in each deletion.
  Tuned once on the sample and plugged in, ``lam`` makes the variance look smaller than
  it is (0.91 coverage at 23 generics in ``benchmarks/ppi_study.py``, noisy-0.9 judge,
  factual; 0.935-0.945 jackknifed, 1000 draws). When that variance exceeds people's
  own, the judge did not pay: ``lam = 0``, people alone. Then the Wilson interval below.
- ``"wilson"``: the Wilson score interval at the **effective sample size** (Korn &
  Graubard 1998, Survey Methodology 24:193-201; Dean & Pagano 2015, J Surv Stat Methodol
  3:484): ``n_eff = theta (1 - theta) / V * (z / t_{G-1})^2``, and ``n_eff`` = the items
  people judged when ``theta`` is 0 or 1 or ``V`` is 0. A Wald interval collapses to a
  point when a sample has no negatives (the study's "not justified" is 2.9% of items);
  this one does not: no negatives in 40 judged items give [0.91, 1], and ``lam`` is 0
  (people's labels do not vary: nothing to learn from the judge).
- ``"wald"``: ``theta +- t_{G-1} sqrt(V)`` (``z`` without clusters), ppi_py's.

``benchmarks/type1_error.py`` (simulated) and ``benchmarks/ppi_study.py`` (the study's
1,350 judged items) measure coverage and width against people alone.

Differences between systems (:func:`ppi_difference`): the same estimator on the per-claim
difference ``a - b`` (people's and the judge's), a t interval (bounded to [-1, 1]) and
the t test of 0; withheld (nan, with the reason) when the judged differences do not vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from logic_claims.annotations.stats.intervals import wilson_interval
from logic_claims.annotations.stats.results import NAN_INTERVAL, ConfidenceInterval

INTERVALS = {
    "jackknife": "Wilson interval at the effective sample size, jackknife variance over generics",
    "wilson": "Wilson interval at the effective sample size",
    "wald": "Wald interval",
}


@dataclass(frozen=True)
class PPIResult:
    """A prediction-powered estimate of a mean, read like a ``scipy.stats`` result.

    ``statistic``/``confidence_interval``/``standard_error``: PPI with ``lam``;
    ``people``: the same estimator with ``lam = 0`` (people alone, same design and method);
    ``effective_n``: ``n_labeled * people variance / PPI variance`` (how many items people
    alone would need for the PPI interval); ``pvalue``: the test of ``null`` (nan if none).
    """

    statistic: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    lam: float
    people_statistic: float
    people_interval: ConfidenceInterval
    people_standard_error: float
    effective_n: float
    n_labeled: int
    n_unlabeled: int
    n_clusters: int | None
    df: float
    method: str
    pvalue: float = math.nan
    note: str = ""

    @property
    def width_ratio(self) -> float:
        """PPI interval width / people-only width (nan when either is missing or 0)."""
        w = self.confidence_interval.high - self.confidence_interval.low
        p = self.people_interval.high - self.people_interval.low
        return float(w / p) if p > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        """Plain fields for reports and JSON."""
        return {
            "estimate": self.statistic,
            "confidence_interval": list(self.confidence_interval),
            "standard_error": self.standard_error,
            "lambda": self.lam,
            "people_estimate": self.people_statistic,
            "people_interval": list(self.people_interval),
            "effective_n": self.effective_n,
            "n_labeled": self.n_labeled,
            "n_unlabeled": self.n_unlabeled,
            "n_clusters": self.n_clusters,
            "method": self.method,
            "pvalue": self.pvalue,
            "note": self.note,
        }


class _Sample:
    """One sample (labeled or unlabeled): per-item weights and cluster codes."""

    def __init__(self, size: int, weights: Any, clusters: Any) -> None:
        w = np.ones(size) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (size,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError("weights must be positive, finite and one per item")
        self.w = w / w.sum()  # Hajek: weights summing to 1
        self.clustered = clusters is not None
        if clusters is None:
            self.codes = np.arange(size)
        else:
            if len(clusters) != size:
                raise ValueError("clusters must give one cluster per item")
            index: dict[Any, int] = {}
            self.codes = np.array([index.setdefault(c, len(index)) for c in clusters], dtype=int)
        self.g = int(self.codes.max()) + 1 if size else 0

    def mean(self, x: np.ndarray) -> float:
        return float(np.sum(self.w * x))

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Per-cluster sums of the linearised residuals of ``mean(x)``."""
        return np.bincount(self.codes, weights=self.w * (x - self.mean(x)), minlength=self.g)

    def cov(self, x: np.ndarray, y: np.ndarray) -> float:
        """Covariance of the weighted means of ``x`` and ``y`` (CR1 when clustered; the
        ``1/n`` form of ``ppi_py`` otherwise)."""
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            return 0.0  # exactly, not the rounding error of centring a constant
        factor = self.g / (self.g - 1) if self.clustered and self.g > 1 else 1.0
        return float(factor * np.sum(self.scores(x) * self.scores(y)))


def _check(name: str, x: Any) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a 1-D array of finite numbers")
    return a


def _ppi_py_lambda(y: np.ndarray, yhat: np.ndarray, yhat_u: np.ndarray) -> float:
    """PPI++'s plug-in ``lam`` for a mean as ``ppi_py`` computes it (``_calc_lam_glm`` with
    gradients ``y - theta``): ``cov(y, yhat) / ((1 + n/N) var(yhat, yhat_unlabeled))``."""
    n, big_n = y.size, yhat_u.size
    cov = float(np.mean((y - y.mean()) * (yhat - yhat.mean())))
    var = float(np.var(np.concatenate([yhat, yhat_u]), ddof=1))
    return cov / ((1 + n / big_n) * var) if var > 0 else 0.0


def _tuned(y: np.ndarray, yhat: np.ndarray, lab: _Sample, var_unlabeled: float) -> float:
    """The variance-minimising lam ``C_L(y, yhat) / (V_L(yhat) + V_U(yhat))`` in [0, 1]."""
    denom = lab.cov(yhat, yhat) + var_unlabeled
    return float(min(1.0, max(0.0, lab.cov(y, yhat) / denom))) if denom > 0 else 0.0


def _jackknife(
    y: np.ndarray, yhat: np.ndarray, lab: _Sample, unlabeled: tuple[float, float], tune: bool
) -> tuple[float, float] | None:
    """Delete-a-generic jackknife variances of the PPI estimate (``lam`` tuned again without
    each generic) and of people alone; None under 3 generics.

    Tuned once on the sample, ``lam`` makes the plug-in variance look smaller than it is
    (0.91 coverage at 23 generics in ``benchmarks/ppi_study.py``, noisy-0.9 judge, factual);
    the jackknife sees how the tuned estimate moves (Efron & Stein 1981; for clusters,
    Rao & Wu 1985). O(generics): each deletion's sums are the totals less one generic's.
    ``unlabeled``: the judge's mean and variance on the items people did not judge.
    """
    g = lab.g
    if g < 3:
        return None
    m_u, v_u = unlabeled
    wg = np.bincount(lab.codes, weights=lab.w, minlength=g)
    yg = np.bincount(lab.codes, weights=lab.w * y, minlength=g)
    fg = np.bincount(lab.codes, weights=lab.w * yhat, minlength=g)

    def rest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return float(np.sum(a * b)) - a * b  # sum over the other generics, per deletion

    sw, sy, sf = wg.sum() - wg, yg.sum() - yg, fg.sum() - fg
    my, mf = sy / sw, sf / sw
    c = (g - 1) / (g - 2) / sw**2  # CR1 over the g - 1 generics left
    vff = c * (rest(fg, fg) - 2 * mf * rest(fg, wg) + mf**2 * rest(wg, wg))
    cyf = c * (rest(yg, fg) - mf * rest(yg, wg) - my * rest(fg, wg) + my * mf * rest(wg, wg))
    lam = np.zeros(g)
    if tune:
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.clip(np.where(vff + v_u > 1e-300, cyf / (vff + v_u), 0.0), 0.0, 1.0)
    theta = lam * m_u + my - lam * mf
    factor = (g - 1) / g
    return float(factor * np.sum((theta - theta.mean()) ** 2)), float(
        factor * np.sum((my - my.mean()) ** 2)
    )


def _interval(
    estimate: float,
    variance: float,
    df: float,
    n_items: int,
    confidence_level: float,
    how: str,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> tuple[ConfidenceInterval, float]:
    """The interval of a mean (Wilson for a rate in [0, 1], Wald otherwise) and the effective
    sample size it used."""
    from scipy import stats

    z = float(stats.norm.ppf((1 + confidence_level) / 2))
    crit = float(stats.t.ppf((1 + confidence_level) / 2, df)) if math.isfinite(df) else z
    if how == "wald":
        half = crit * math.sqrt(variance)
        if bounds == (0.0, 1.0):  # ppi_py's interval, as it gives it
            return ConfidenceInterval(estimate - half, estimate + half), math.nan
        low, high = max(bounds[0], estimate - half), min(bounds[1], estimate + half)
        return ConfidenceInterval(low, high), math.nan
    p = min(1.0, max(0.0, estimate))
    if variance > 0 and 0 < p < 1:
        n_eff = p * (1 - p) / variance * (z / crit) ** 2
    else:
        n_eff = float(n_items)
    wilson = wilson_interval(p * n_eff, n_eff, confidence_level=confidence_level)
    low, high = wilson.confidence_interval
    return ConfidenceInterval(max(0.0, low), min(1.0, high)), n_eff


def ppi_mean(
    y: Any,
    yhat: Any,
    yhat_unlabeled: Any,
    *,
    clusters: Any = None,
    clusters_unlabeled: Any = None,
    w: Any = None,
    w_unlabeled: Any = None,
    lam: float | None = None,
    confidence_level: float = 0.95,
    interval: str = "jackknife",
    bounds: tuple[float, float] = (0.0, 1.0),
) -> PPIResult:
    """PPI++ estimate of the mean of ``y`` over labeled and unlabeled items, and its interval.

    ``y``: people's values (rater shares in [0, 1]) on the items they judged; ``yhat``: the
    judge's on those items; ``yhat_unlabeled``: the judge's on the other items.
    ``clusters``/``clusters_unlabeled``: each item's generic (both or neither); ``w``,
    ``w_unlabeled``: design weights (``1/pi``, ``1/(1-pi)``). ``lam``: fixed (0 = people
    alone, 1 = plain PPI) or None (power-tuned). ``interval``: ``"jackknife"``,
    ``"wilson"`` or ``"wald"`` (see the module). ``bounds``: the values' range (a
    difference of shares: (-1, 1), and Wald intervals clipped to it).

    >>> r = ppi_mean([1, 0, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 1, 1], interval="wald")
    >>> round(r.statistic, 3), round(r.lam, 3)
    (0.836, 0.344)
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {list(INTERVALS)}, not {interval!r}")
    if (clusters is None) != (clusters_unlabeled is None):
        raise ValueError("give clusters for both the labeled and the unlabeled items, or neither")
    y, yhat, yhat_u = _check("y", y), _check("yhat", yhat), _check("yhat_unlabeled", yhat_unlabeled)
    if y.size != yhat.size:
        raise ValueError("y and yhat must have one value per labeled item")
    if y.size < 2 or yhat_u.size < 1:
        raise ValueError("PPI needs at least two labeled items and one unlabeled item")
    lab = _Sample(y.size, w, clusters)
    unl = _Sample(yhat_u.size, w_unlabeled, clusters_unlabeled)
    clustered = clusters is not None
    fixed = lam
    if lam is None:
        if np.ptp(np.concatenate([yhat, yhat_u])) == 0 or np.ptp(y) == 0:
            lam = 0.0  # a constant judge, or people's labels all alike: nothing to learn
        elif clustered or w is not None or w_unlabeled is not None:
            denom = lab.cov(yhat, yhat) + unl.cov(yhat_u, yhat_u)
            lam = lab.cov(y, yhat) / denom if denom > 0 else 0.0
        else:
            lam = _ppi_py_lambda(y, yhat, yhat_u)
        lam = float(min(1.0, max(0.0, lam)))
    rect = y - lam * yhat
    estimate = lam * unl.mean(yhat_u) + lab.mean(rect)
    variance = lam**2 * unl.cov(yhat_u, yhat_u) + lab.cov(rect, rect)
    people, people_var = lab.mean(y), lab.cov(y, y)
    df = lab.g - 1 if clustered else math.inf
    how = INTERVALS[interval]
    if interval == "jackknife" and clustered:
        jack = _jackknife(
            y, yhat, lab, (unl.mean(yhat_u), unl.cov(yhat_u, yhat_u)), fixed is None and lam > 0
        )
        if jack is not None:
            variance = lam**2 * unl.cov(yhat_u, yhat_u) + jack[0]
            people_var = jack[1]
        if fixed is None and variance > people_var:  # tuning did not pay: people alone
            lam, estimate, variance = 0.0, people, people_var
    if interval == "jackknife":
        interval = "wilson" if bounds == (0.0, 1.0) else "wald"
    ci, _ = _interval(estimate, variance, df, y.size, confidence_level, interval, bounds)
    people_ci, _ = _interval(people, people_var, df, y.size, confidence_level, interval, bounds)
    eff = y.size * people_var / variance if variance > 0 else float(y.size)
    unit = "clustered by generic" if clustered else "independent items"
    return PPIResult(
        statistic=float(estimate),
        confidence_interval=ci,
        standard_error=math.sqrt(variance),
        lam=lam,
        people_statistic=people,
        people_interval=people_ci,
        people_standard_error=math.sqrt(people_var),
        effective_n=float(eff),
        n_labeled=int(y.size),
        n_unlabeled=int(yhat_u.size),
        n_clusters=lab.g if clustered else None,
        df=float(df),
        method=f"PPI++ (power-tuned lambda), {how}, {unit}",
    )


def ppi_difference(
    y: Any,
    yhat: Any,
    yhat_unlabeled: Any,
    *,
    clusters: Any = None,
    clusters_unlabeled: Any = None,
    w: Any = None,
    w_unlabeled: Any = None,
    confidence_level: float = 0.95,
) -> PPIResult:
    """PPI++ for a paired difference: pass per-claim differences ``a - b`` (people's as
    ``y``, the judge's as ``yhat`` and ``yhat_unlabeled``). The jackknife variance, a t
    (or z) interval bounded to [-1, 1] and the two-sided t test of 0; withheld (nan, with
    the reason in ``note``) when the variance is 0."""
    from scipy import stats

    res = ppi_mean(
        y, yhat, yhat_unlabeled, clusters=clusters, clusters_unlabeled=clusters_unlabeled,
        w=w, w_unlabeled=w_unlabeled, confidence_level=confidence_level, bounds=(-1.0, 1.0),
    )  # fmt: skip

    def bounded(ci: ConfidenceInterval, se: float) -> ConfidenceInterval:
        if not se > 0:
            return NAN_INTERVAL
        return ConfidenceInterval(max(-1.0, ci.low), min(1.0, ci.high))

    ci = bounded(res.confidence_interval, res.standard_error)
    people_ci = bounded(res.people_interval, res.people_standard_error)
    note = "" if res.standard_error > 0 else "withheld: the judged differences do not vary"
    pvalue = math.nan
    if res.standard_error > 0:
        t = res.statistic / res.standard_error
        dist = stats.t(res.df) if math.isfinite(res.df) else stats.norm
        pvalue = float(2 * dist.sf(abs(t)))
    return PPIResult(
        **{
            **res.__dict__,
            "confidence_interval": ci,
            "people_interval": people_ci,
            "pvalue": pvalue,
            "note": note,
            "method": res.method.replace(
                "Wilson interval at the effective sample size", "t interval"
            )
            + "; t test of 0",
        }
    )
