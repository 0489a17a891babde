"""Inter-rater agreement: percent agreement, Gwet's AC1, Fleiss', Krippendorff's, Cohen's.

Input is a **counts table** (items in rows, categories in columns, cell = how many raters put
the item in the category; build one with :func:`counts_table`), or, for Cohen's kappa, two
aligned label sequences. Missing ratings are smaller row sums, and every coefficient takes them.

Written here, because no installed library has them: Gwet's AC1, Fleiss' kappa generalised
to missing ratings, and the linearisation standard errors of AC1, Fleiss' kappa and percent
agreement, all following Gwet, *Handbook of Inter-Rater Reliability*, 4th ed. (2014), ch. 2
and 5, and Gwet (2008), Br J Math Stat Psychol 61:29-48.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations.stats.intervals import t_interval
from logic_claims.annotations.stats.results import (
    NAN_INTERVAL,
    AgreementResult,
    ConfidenceInterval,
)


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
    ci, pvalue = t_interval(coef, se, n - 1, confidence_level, bounds)
    if chance == "percent":
        pvalue = math.nan  # agreement of 0 is no one's null hypothesis: no test
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
    linearised one (Gwet 2014, ch. 5), as irrCAC's ``pa.coeff.raw``. No p-value (nan): a
    test against 0 agreement is meaningless, and chance agreement is what the
    chance-corrected coefficients test against.
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
    unknown = sorted({v for p in pairs for v in p if v not in index}, key=str)
    if unknown:
        raise ValueError(f"label(s) {unknown} are not among the categories {cats}")
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
