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

Rare labels: a Wald interval collapses to a point when the sample has no negatives (the
study's "not justified" is 2.9% of items). The default interval is therefore the Wilson
score interval at the **effective sample size** (Korn & Graubard 1998, Survey
Methodology 24:193-201; Dean & Pagano 2015, J Surv Stat Methodol 3:484):
``n_eff = theta (1 - theta) / V * (z / t_{G-1})^2``, and ``n_eff`` = the items people judged
when ``theta`` is 0 or 1 or ``V`` is 0 (no variation seen: ``lam`` is then 0, people
alone). With no negatives in 40 judged items the interval is [0.91, 1], not [1, 1].
``benchmarks/type1_error.py`` and ``benchmarks/ppi_study.py`` measure its coverage.

Differences between systems (:func:`ppi_difference`): the same estimator on the per-claim
difference ``a - b`` (people's and the judge's), a t interval (bounded to [-1, 1]) and
the t test of 0; withheld (nan, with the reason) when the judged differences do not vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from logic_claims.annotations.stats.results import NAN_INTERVAL, ConfidenceInterval

INTERVALS = ("wilson", "wald")


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


def _interval(
    estimate: float, variance: float, df: float, n_items: int, confidence_level: float, how: str
) -> tuple[ConfidenceInterval, float]:
    """The interval of a mean in [0, 1] and the effective sample size it used."""
    from scipy import stats

    z = float(stats.norm.ppf((1 + confidence_level) / 2))
    crit = float(stats.t.ppf((1 + confidence_level) / 2, df)) if math.isfinite(df) else z
    if how == "wald":
        half = crit * math.sqrt(variance)
        return ConfidenceInterval(estimate - half, estimate + half), math.nan
    p = min(1.0, max(0.0, estimate))
    if variance > 0 and 0 < p < 1:
        n_eff = p * (1 - p) / variance * (z / crit) ** 2
    else:
        n_eff = float(n_items)
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    half = z / (1 + z**2 / n_eff) * math.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
    return ConfidenceInterval(max(0.0, centre - half), min(1.0, centre + half)), n_eff


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
    interval: str = "wilson",
) -> PPIResult:
    """PPI++ estimate of the mean of ``y`` over labeled and unlabeled items, and its interval.

    ``y``: people's values (rater shares in [0, 1]) on the items they judged; ``yhat``: the
    judge's on those items; ``yhat_unlabeled``: the judge's on the other items.
    ``clusters``/``clusters_unlabeled``: each item's generic (both or neither); ``w``,
    ``w_unlabeled``: design weights (``1/pi``, ``1/(1-pi)``). ``lam``: fixed (0 = people
    alone, 1 = plain PPI) or None (power-tuned). ``interval``: ``"wilson"`` (Wilson at
    the effective sample size, keeps coverage for rare labels) or ``"wald"`` (ppi_py's).

    >>> r = ppi_mean([1, 0, 1, 1], [1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 1, 1], interval="wald")
    >>> round(r.statistic, 3), round(r.lam, 3)
    (0.836, 0.344)
    """
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS}, not {interval!r}")
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
    if lam is None:
        if np.ptp(np.concatenate([yhat, yhat_u])) == 0:
            lam = 0.0  # a constant judge tells nothing (and would divide 0 by rounding)
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
    ci, _ = _interval(estimate, variance, df, y.size, confidence_level, interval)
    people_ci, _ = _interval(people, people_var, df, y.size, confidence_level, interval)
    eff = y.size * people_var / variance if variance > 0 else float(y.size)
    unit = f"cluster-robust over {lab.g} generics, t({df})" if clustered else "independent items"
    how = {"wilson": "Wilson interval at the effective sample size", "wald": "Wald interval"}
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
        method=f"PPI++ (power-tuned lambda), {how[interval]}, {unit}",
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
    ``y``, the judge's as ``yhat`` and ``yhat_unlabeled``). A t (or z) interval bounded to
    [-1, 1] and the two-sided test of 0; withheld (nan, with the reason in ``note``) when
    the variance is 0."""
    from scipy import stats

    res = ppi_mean(
        y, yhat, yhat_unlabeled, clusters=clusters, clusters_unlabeled=clusters_unlabeled,
        w=w, w_unlabeled=w_unlabeled, confidence_level=confidence_level, interval="wald",
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
            "method": res.method.replace("Wald interval", "t interval, t test of 0"),
        }
    )
