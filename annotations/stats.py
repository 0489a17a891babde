"""Agreement and significance statistics for human judgments, with scipy.stats-style results.

Every function returns a frozen dataclass with ``statistic``, ``pvalue`` (``nan`` where no test
is meaningful) and ``confidence_interval`` (a ``ConfidenceInterval(low, high)`` namedtuple), so
results read the same way as ``scipy.stats`` results.

Input forms:

- a **counts table**: items in rows, categories in columns, cell = how many raters put that item
  in that category (the form ``statsmodels.stats.inter_rater.aggregate_raters`` returns and
  the ``krippendorff`` package calls ``value_counts``). Build one from an items x raters matrix
  of labels with :func:`counts_table`. Items rated by fewer raters simply have smaller row sums:
  that is how missing ratings are represented, and every coefficient below accepts it.
- two aligned label sequences (``None``/``NaN`` = not rated) for Cohen's kappa.
- per-unit scores in [0, 1] (the share of an item's raters who chose the positive label) for the
  comparisons between systems.

What is library code and what is not: Krippendorff's alpha is the ``krippendorff`` package,
Cohen's kappa is ``statsmodels``, Fleiss' kappa is ``statsmodels`` when every item has the same
number of raters, Wilson intervals, McNemar, Fisher, permutation tests, bootstrap and Holm are
statsmodels/scipy. Written here, because no installed library has them: Gwet's AC1, Fleiss'
kappa generalised to missing ratings, and the linearisation standard errors of AC1, Fleiss'
kappa and percent agreement, all following Gwet, *Handbook of Inter-Rater Reliability*, 4th ed.
(2014), ch. 2 and 5, and Gwet (2008), Br J Math Stat Psychol 61:29-48. The tests check them
against the published worked examples of Gwet's irrCAC package.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd


class ConfidenceInterval(NamedTuple):
    low: float
    high: float


NAN_INTERVAL = ConfidenceInterval(math.nan, math.nan)


@dataclass(frozen=True)
class ProportionResult:
    """A rate ``k / n`` with its confidence interval."""

    statistic: float
    k: float
    n: int
    confidence_interval: ConfidenceInterval
    method: str = "wilson"
    pvalue: float = math.nan


@dataclass(frozen=True)
class AgreementResult:
    """An agreement coefficient: ``statistic = (pa - pe) / (1 - pe)``.

    ``pvalue`` tests ``H0: coefficient = 0`` (nan where not computed); ``n_items`` counts the
    items with at least one rating (items with a single rating still inform chance agreement for
    AC1 and Fleiss, as in Gwet 2014); ``n_pairable`` counts items with two or more ratings.
    """

    statistic: float
    confidence_interval: ConfidenceInterval
    pvalue: float
    standard_error: float
    observed_agreement: float
    chance_agreement: float
    n_items: int
    n_pairable: int
    method: str
    n_raters: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test."""

    statistic: float
    pvalue: float
    test: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonResult:
    """Difference in rate between two systems, ``statistic = rate_a - rate_b``.

    ``pvalue`` is the permutation test's (the primary test: it uses every rater's judgment);
    ``exact_test`` is McNemar's (paired) or Fisher's (unpaired) exact test on per-item majority
    labels, the test reviewers usually expect for binary judgments.
    """

    statistic: float
    pvalue: float
    confidence_interval: ConfidenceInterval
    rate_a: float
    rate_b: float
    n_a: int
    n_b: int
    paired: bool
    test: str
    interval_method: str
    exact_test: TestResult


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def counts_table(
    matrix: Sequence[Sequence[Any]] | np.ndarray | pd.DataFrame,
    categories: Sequence[Any] | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """Items x raters labels -> (items x categories counts, categories).

    ``None``/``NaN`` cells are missing ratings. ``categories`` fixes the columns and their order;
    pass the full label set of the dimension, because AC1's chance agreement depends on the number
    of possible categories, not only the ones used. Without it, the sorted labels seen are used.
    """
    rows = matrix.to_numpy(dtype=object) if isinstance(matrix, pd.DataFrame) else matrix
    rows = [list(row) for row in rows]
    seen = sorted({v for row in rows for v in row if not _is_missing(v)}, key=str)
    cats = list(categories) if categories is not None else seen
    index = {c: j for j, c in enumerate(cats)}
    table = np.zeros((len(rows), len(cats)), dtype=float)
    for i, row in enumerate(rows):
        for value in row:
            if _is_missing(value):
                continue
            if value not in index:
                raise ValueError(f"label {value!r} is not one of the categories {cats}")
            table[i, index[value]] += 1
    return table, cats


def _check_table(table: Any) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2:
        raise ValueError("expected a 2-D table: items in rows, categories in columns")
    if t.shape[1] < 2:
        raise ValueError("agreement needs at least two categories (columns)")
    if (t < 0).any():
        raise ValueError("counts must be non-negative")
    return t[t.sum(axis=1) > 0]  # items nobody rated carry no information


def _t_interval(
    estimate: float, se: float, df: int, confidence_level: float, bounds: tuple[float, float]
) -> tuple[ConfidenceInterval, float]:
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


def _coefficient(table: Any, chance: str, confidence_level: float) -> AgreementResult:
    """The shared machinery of percent agreement, AC1 and Fleiss' kappa with missing ratings.

    Gwet (2014), Handbook 4th ed., ch. 2 (eqs. 2.9-2.11 for the coefficients with missing
    ratings) and ch. 5 (linearised variance): with r_ik raters putting item i in category k,
    r_i = sum_k r_ik, n items rated at least once and n2 items rated at least twice,

        pa  = mean over items with r_i >= 2 of  sum_k r_ik (r_ik - 1) / (r_i (r_i - 1))
        pi_k = mean over all n items of r_ik / r_i
        pe  = sum_k pi_k^2                       (Fleiss)
            = sum_k pi_k (1 - pi_k) / (q - 1)    (AC1)
            = 0                                  (percent agreement)

    and the variance is that of the per-item linearised terms
    c_i = (n/n2) (pa_i - pe [r_i >= 2]) / (1 - pe) - 2 (1 - c) (pe_i - pe) / (1 - pe),
    var = sum (c_i - c)^2 / (n (n - 1)), with a t(n - 1) interval and test.
    """
    t = _check_table(table)
    n, q = t.shape
    r = t.sum(axis=1)
    multi = r >= 2
    n2 = int(multi.sum())
    names = {
        "percent": "percent agreement (mean pairwise agreement over items rated twice or more)",
        "ac1": "Gwet's AC1 (Gwet 2008; missing ratings as in Gwet 2014, ch. 2)",
        "fleiss": "Fleiss' kappa (Fleiss 1971; missing ratings as in Gwet 2014, ch. 2)",
    }
    if n2 == 0:
        return AgreementResult(
            math.nan, NAN_INTERVAL, math.nan, math.nan, math.nan, math.nan, n, 0, names[chance]
        )
    pa_i = np.zeros(n)
    pa_i[multi] = (t[multi] * (t[multi] - 1)).sum(axis=1) / (r[multi] * (r[multi] - 1))
    pa = float(pa_i[multi].mean())
    pi = (t / r[:, None]).mean(axis=0)
    if chance == "percent":
        pe, pe_i = 0.0, np.zeros(n)
    elif chance == "ac1":
        pe = float((pi * (1 - pi)).sum() / (q - 1))
        pe_i = (t @ (1 - pi)) / r / (q - 1)
    elif chance == "fleiss":
        pe = float((pi**2).sum())
        pe_i = (t @ pi) / r
    else:  # pragma: no cover - internal
        raise ValueError(chance)
    if chance == "fleiss" and n2 == n and np.all(r == r[0]):
        # Every item has the same number of raters: the textbook case, so the point estimate
        # comes from statsmodels (the generalised formula reduces to it exactly).
        from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

        names["fleiss"] = "Fleiss' kappa (Fleiss 1971; statsmodels, complete ratings)"
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = float(sm_fleiss(t, method="fleiss")) if pe < 1 else math.nan
    else:
        coef = (pa - pe) / (1 - pe) if pe < 1 else math.nan
    se = math.nan
    if math.isfinite(coef) and n >= 2:
        c_i = (n / n2) * (pa_i - pe * multi) / (1 - pe) - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
        se = float(math.sqrt(((c_i - coef) ** 2).sum() / (n * (n - 1))))
    bounds = (0.0, 1.0) if chance == "percent" else (-1.0, 1.0)
    ci, pvalue = _t_interval(coef, se, n - 1, confidence_level, bounds)
    return AgreementResult(
        statistic=float(coef),
        confidence_interval=ci,
        pvalue=pvalue,
        standard_error=se,
        observed_agreement=pa,
        chance_agreement=pe,
        n_items=n,
        n_pairable=n2,
        method=names[chance],
    )


def percent_agreement(table: Any, *, confidence_level: float = 0.95) -> AgreementResult:
    """Share of agreeing rater pairs, averaged over the items rated by two or more raters.

    With two raters this is the share of items they labelled alike. The interval is Gwet's
    linearised one (Gwet 2014, ch. 5), as irrCAC's ``pa.coeff.raw``.
    """
    return _coefficient(table, "percent", confidence_level)


def gwet_ac1(table: Any, *, confidence_level: float = 0.95) -> AgreementResult:
    """Gwet's AC1 (Gwet 2008) for any number of raters, missing ratings allowed.

    Chance agreement is ``sum_k pi_k (1 - pi_k) / (q - 1)``: it stays small when one label
    dominates, so AC1 does not collapse under skewed prevalence the way kappa does. ``table``
    must have one column per *possible* label (q), including unused ones.
    """
    return _coefficient(table, "ac1", confidence_level)


def fleiss_kappa(table: Any, *, confidence_level: float = 0.95) -> AgreementResult:
    """Fleiss' kappa; with unequal raters per item, Gwet's (2014) generalisation.

    statsmodels' ``fleiss_kappa`` computes the complete-ratings case (and is used for it); it
    asserts when items have different numbers of raters, which is what missing ratings give.
    """
    return _coefficient(table, "fleiss", confidence_level)


def krippendorff_alpha(
    table: Any,
    *,
    n_boot: int = 1000,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> AgreementResult:
    """Krippendorff's alpha, nominal, from the ``krippendorff`` package, with a bootstrap interval.

    The interval resamples items (rows of ``table``) with replacement ``n_boot`` times and takes
    percentiles; resamples where alpha is undefined (a single label used) are skipped and counted
    in ``details``. ``n_boot=0`` skips the bootstrap.
    """
    import krippendorff

    t = _check_table(table)
    n = t.shape[0]
    n2 = int((t.sum(axis=1) >= 2).sum())

    def alpha(counts: np.ndarray) -> float:
        if (counts.sum(axis=1) >= 2).sum() == 0:
            return math.nan
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            value = float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))
        return value if math.isfinite(value) else math.nan

    method = "Krippendorff's alpha, nominal (krippendorff package)"
    point = alpha(t) if n2 else math.nan
    # Observed/expected disagreement are not exposed by the package; report pairable values.
    details: dict[str, Any] = {"pairable_values": float(t[t.sum(axis=1) >= 2].sum())}
    ci, se = NAN_INTERVAL, math.nan
    if n_boot and math.isfinite(point):
        from tqdm.auto import tqdm

        rng = np.random.default_rng(seed)
        # A few seconds for thousands of items: show progress on a terminal (disable=None
        # switches the bar off when stderr is not a TTY, e.g. in tests and pipes).
        steps = tqdm(range(n_boot), desc="bootstrap alpha", leave=False, disable=None)
        draws = np.array([alpha(t[rng.integers(0, n, size=n)]) for _ in steps])
        valid = draws[np.isfinite(draws)]
        details.update(n_boot=int(n_boot), n_boot_valid=int(valid.size), seed=seed)
        if valid.size >= 2:
            tail = (1 - confidence_level) / 2 * 100
            low, high = np.percentile(valid, [tail, 100 - tail])
            ci = ConfidenceInterval(float(low), float(high))
            se = float(valid.std(ddof=1))
        method += f"; percentile bootstrap over items ({n_boot} resamples)"
    return AgreementResult(
        statistic=point,
        confidence_interval=ci,
        pvalue=math.nan,
        standard_error=se,
        observed_agreement=math.nan,
        chance_agreement=math.nan,
        n_items=n,
        n_pairable=n2,
        method=method,
        details=details,
    )


def cohen_kappa(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    categories: Sequence[Any] | None = None,
    confidence_level: float = 0.95,
) -> AgreementResult:
    """Cohen's kappa for two raters over the items both rated (``None``/``NaN`` = not rated).

    The point estimate and its asymptotic standard error come from
    ``statsmodels.stats.inter_rater.cohens_kappa``; the interval is estimate +- z * SE.
    """
    from scipy import stats
    from statsmodels.stats.inter_rater import cohens_kappa as sm_cohen

    if len(a) != len(b):
        raise ValueError("the two raters' sequences must be aligned (same length)")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if not _is_missing(x) and not _is_missing(y)]
    cats = (
        list(categories)
        if categories is not None
        else sorted({v for p in pairs for v in p}, key=str)
    )
    index = {c: j for j, c in enumerate(cats)}
    table = np.zeros((max(len(cats), 2), max(len(cats), 2)))
    for x, y in pairs:
        table[index[x], index[y]] += 1
    method = "Cohen's kappa (statsmodels cohens_kappa)"
    n = len(pairs)
    po = float(np.trace(table) / n) if n else math.nan
    pe = float((table.sum(0) * table.sum(1)).sum() / n**2) if n else math.nan
    if n < 2 or not pe < 1:
        # Undefined: both raters used one and the same label throughout (pe = 1).
        return AgreementResult(
            math.nan, NAN_INTERVAL, math.nan, math.nan, po, pe, n, n, method, n_raters=2
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        res = sm_cohen(table)
    kappa, se = float(res.kappa), float(res.std_kappa)
    z = float(stats.norm.ppf((1 + confidence_level) / 2))
    ci = ConfidenceInterval(max(-1.0, kappa - z * se), min(1.0, kappa + z * se))
    pvalue = float(res.pvalue_two_sided) if math.isfinite(float(res.std_kappa0)) else math.nan
    return AgreementResult(kappa, ci, pvalue, se, po, pe, n, n, method, n_raters=2)


def wilson_interval(k: float, n: int, *, confidence_level: float = 0.95) -> ProportionResult:
    """Rate ``k / n`` with the Wilson score interval (statsmodels ``proportion_confint``).

    ``k`` may be fractional (an item whose raters tie counts 0.5); the Wilson formula is then
    applied to the fractional count, which is what the score interval's algebra allows.
    """
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return ProportionResult(math.nan, k, n, NAN_INTERVAL)
    low, high = proportion_confint(k, n, alpha=1 - confidence_level, method="wilson")
    return ProportionResult(float(k / n), float(k), int(n), ConfidenceInterval(low, high))


def _majority(scores: np.ndarray) -> np.ndarray:
    """Per-unit majority label from the share of positive ratings: 1, 0, or -1 for a tie."""
    return np.where(scores > 0.5, 1, np.where(scores < 0.5, 0, -1))


def _bootstrap_ci(
    data: tuple[np.ndarray, ...], statistic: Any, paired: bool, n_resamples: int, cl: float, rng
) -> tuple[ConfidenceInterval, str]:
    from scipy import stats

    for method in ("BCa", "percentile"):
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                data,
                statistic,
                paired=paired,
                vectorized=True,
                n_resamples=n_resamples,
                confidence_level=cl,
                method=method,
                batch=500,
                rng=rng,
            )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return ConfidenceInterval(low, high), f"{method} bootstrap ({n_resamples} resamples)"
    # Every resample gives the same value (e.g. all differences equal): the interval is a point.
    value = float(statistic(*data, axis=-1))
    return ConfidenceInterval(value, value), "degenerate (all resamples equal)"


def mcnemar_exact(label_a: Sequence[int], label_b: Sequence[int]) -> TestResult:
    """McNemar's exact test on paired binary labels (statsmodels ``mcnemar(exact=True)``).

    ``statistic`` is min(b, c), the smaller discordant count; pairs with a missing or tied label
    (anything but 0/1) are left out and counted in ``details``.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    x, y = np.asarray(label_a), np.asarray(label_b)
    keep = np.isin(x, (0, 1)) & np.isin(y, (0, 1))
    x, y = x[keep], y[keep]
    table = np.array(
        [
            [np.sum((x == 1) & (y == 1)), np.sum((x == 1) & (y == 0))],
            [np.sum((x == 0) & (y == 1)), np.sum((x == 0) & (y == 0))],
        ]
    )
    b, c = int(table[0, 1]), int(table[1, 0])
    if b + c == 0:
        stat, pvalue = 0.0, 1.0  # no discordant pair: no evidence of a difference
    else:
        res = mcnemar(table, exact=True)
        stat, pvalue = float(res.statistic), float(res.pvalue)
    details = {
        "table": table.tolist(),
        "a_only": b,
        "b_only": c,
        "n_pairs": int(keep.sum()),
        "left_out": int((~keep).sum()),
    }
    return TestResult(stat, pvalue, "McNemar exact test (statsmodels)", details)


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


def paired_comparison(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> ComparisonResult:
    """Compare two systems judged on the same units (``a[i]`` and ``b[i]`` are one claim).

    ``a``/``b`` are per-unit scores: the share of the unit's raters who gave the positive label
    (0 or 1 with one rater). Primary test: paired permutation test of the mean difference
    (``scipy.stats.permutation_test``, ``permutation_type="samples"``: swaps the two systems'
    scores within a unit; exact when 2^n <= n_resamples). Interval: paired bootstrap over units.
    Exact test: McNemar on the per-unit majority labels (ties left out).
    """

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("paired scores must be two 1-D arrays of the same length")
    if x.size == 0:
        raise ValueError("no paired units to compare")
    rng = np.random.default_rng(seed)
    diff = float(np.mean(x - y))
    if np.all(x == y):
        pvalue = 1.0  # every permutation gives 0: no evidence either way
    else:
        pvalue = _permutation_pvalue(x, y, _mean_diff_paired, "samples", n_resamples, rng)
    if x.size >= 2:
        ci, how = _bootstrap_ci((x, y), _mean_diff_paired, True, n_resamples, confidence_level, rng)
    else:
        ci, how = NAN_INTERVAL, "none (one unit)"
    return ComparisonResult(
        statistic=diff,
        pvalue=pvalue,
        confidence_interval=ci,
        rate_a=float(x.mean()),
        rate_b=float(y.mean()),
        n_a=int(x.size),
        n_b=int(y.size),
        paired=True,
        test="paired permutation test on per-unit rater means (scipy permutation_test, samples)",
        interval_method="paired " + how + " over units",
        exact_test=mcnemar_exact(_majority(x), _majority(y)),
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
    units separately. Exact test: Fisher on the per-unit majority labels (ties left out).
    """

    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError("each system needs at least one unit")
    rng = np.random.default_rng(seed)
    diff = float(x.mean() - y.mean())
    if np.all(np.concatenate([x, y]) == x[0]):
        pvalue = 1.0
    else:
        pvalue = _permutation_pvalue(x, y, _mean_diff, "independent", n_resamples, rng)
    if x.size >= 2 and y.size >= 2:
        ci, how = _bootstrap_ci((x, y), _mean_diff, False, n_resamples, confidence_level, rng)
    else:
        ci, how = NAN_INTERVAL, "none (a system has one unit)"
    return ComparisonResult(
        statistic=diff,
        pvalue=pvalue,
        confidence_interval=ci,
        rate_a=float(x.mean()),
        rate_b=float(y.mean()),
        n_a=int(x.size),
        n_b=int(y.size),
        paired=False,
        test="permutation test on per-item rater means (scipy permutation_test, independent)",
        interval_method=how + ", resampling each system's items",
        exact_test=fisher_exact(_majority(x), _majority(y)),
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
