"""The statistics in annotations/stats/ against published worked examples and references.

Published sources used (each test names its own):

- [irrCAC] K. L. Gwet, R package irrCAC 1.0 (CRAN, 2019), vignette "Calculating
  Chance-corrected Agreement Coefficients (CAC)": printed results for the datasets
  ``cac.raw4raters`` (12 subjects x 4 raters with missing ratings), ``distrib.6raters``
  (15 subjects x 6 raters, complete) and ``cont3x3abstractors`` (2 raters, 100 subjects).
  The methods are those of Gwet, Handbook of Inter-Rater Reliability, 4th ed. (2014).
- [K2011] K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg
  School for Communication departmental paper: the example with 4 observers, 12 units and
  missing values (= irrCAC's cac.raw4raters, categories 1..5), nominal alpha = 0.743.
- [F1971] J. L. Fleiss (1971), "Measuring nominal scale agreement among many raters",
  Psychological Bulletin 76(5):378-382: 30 patients x 6 psychiatrists x 5 diagnoses,
  kappa = .430 (the data ship with statsmodels' tests and R irr as ``diagnoses``).
- [N1998] R. G. Newcombe (1998), "Two-sided confidence intervals for the single proportion:
  comparison of seven methods", Statistics in Medicine 17:857-872, Table I, method 3
  (Wilson score interval without continuity correction).

Reference implementations on random data with missing ratings: the ``krippendorff`` package,
statsmodels' ``fleiss_kappa``, sklearn's ``cohen_kappa_score``, and direct pairwise loops
written below for the Gwet-style formulas.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from reference_data import RAW_4_RATERS, naive_gwet  # [K2011] / [irrCAC] cac.raw4raters
from scipy import stats as sps

from logic_claims.annotations import stats as S
from logic_claims.annotations.stats import agreement as stats_agreement

# [irrCAC] distrib.6raters: counts of 6 raters per subject over 5 categories.
DISTRIB_6_RATERS = np.array(
    [
        [0, 0, 0, 6, 0],
        [0, 3, 0, 0, 3],
        [0, 1, 4, 0, 1],
        [0, 0, 0, 0, 6],
        [0, 3, 0, 3, 0],
        [2, 0, 4, 0, 0],
        [0, 0, 4, 0, 2],
        [2, 0, 3, 1, 0],
        [2, 0, 0, 4, 0],
        [0, 0, 0, 0, 6],
        [1, 0, 0, 5, 0],
        [1, 1, 0, 4, 0],
        [0, 3, 3, 0, 0],
        [1, 0, 0, 5, 0],
        [0, 2, 0, 3, 1],
    ]
)

# [irrCAC] cont3x3abstractors: rater A in rows, rater B in columns.
ABSTRACTORS = np.array([[13, 0, 0], [0, 20, 7], [0, 4, 56]])

# [F1971] Table 1: 30 patients x 6 psychiatrists, diagnoses coded 1..5.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4],
    [2, 2, 2, 5, 5, 5],
    [2, 3, 3, 3, 3, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3],
    [3, 3, 3, 3, 5, 5],
    [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4],
    [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4],
    [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3],
    [1, 4, 4, 4, 4, 4],
    [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5],
    [1, 1, 1, 1, 1, 2],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5],
    [2, 4, 4, 4, 4, 4],
    [2, 2, 4, 5, 5, 5],
    [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4],
    [1, 1, 1, 1, 5, 5],
    [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3],
    [5, 5, 5, 5, 5, 5],
]


def pairs_from_table(table: np.ndarray) -> tuple[list[int], list[int]]:
    a, b = [], []
    for i, j in itertools.product(range(table.shape[0]), range(table.shape[1])):
        a += [i] * int(table[i, j])
        b += [j] * int(table[i, j])
    return a, b


def random_matrix(seed: int, n_items: int = 40, n_raters: int = 5, q: int = 3, missing=0.35):
    """Items x raters labels with a shared item effect (so agreement is not ~0) and gaps."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, size=n_items)
    m = np.where(
        rng.random((n_items, n_raters)) < 0.7,
        truth[:, None],
        rng.integers(0, q, (n_items, n_raters)),
    )
    m = m.astype(object)
    m[rng.random((n_items, n_raters)) < missing] = None
    return m


# ----------------------------------------------------------------- published examples


def test_raw4raters_with_missing_ratings_matches_irrcac_vignette():
    """[irrCAC] vignette, 'Computing agreement coefficients from raw ratings' (cac.raw4raters):
    pa.coeff.raw 0.8181818 (SE 0.12561, CI (0.542,1), p 4.345373e-05); gwet.ac1.raw 0.77544
    (pe 0.1903212, SE 0.14295, CI (0.461,1), p 0.000208721); fleiss.kappa.raw 0.76117
    (pe 0.2387153, SE 0.15302, CI (0.424,1), p 0.000419173)."""
    table, cats = S.counts_table(RAW_4_RATERS)
    assert cats == [1, 2, 3, 4, 5]
    pa = S.percent_agreement(table)
    assert pa.statistic == pytest.approx(0.8181818, abs=1e-7)
    assert pa.standard_error == pytest.approx(0.12561, abs=1e-5)
    assert pa.confidence_interval.low == pytest.approx(0.542, abs=5e-4)
    assert pa.confidence_interval.high == 1.0
    # irrCAC also prints p = 4.345373e-05 against 0 agreement; issue 10 drops that test
    # (0 agreement is no one's null hypothesis), so there is no p-value to compare.
    assert math.isnan(pa.pvalue)

    ac1 = S.gwet_ac1(table)
    assert ac1.statistic == pytest.approx(0.77544, abs=5e-6)
    assert ac1.observed_agreement == pytest.approx(0.8181818, abs=1e-7)
    assert ac1.chance_agreement == pytest.approx(0.1903212, abs=1e-7)
    assert ac1.standard_error == pytest.approx(0.14295, abs=5e-6)
    assert ac1.confidence_interval.low == pytest.approx(0.461, abs=5e-4)
    assert ac1.confidence_interval.high == 1.0
    assert ac1.pvalue == pytest.approx(0.000208721, rel=1e-5)
    assert (ac1.n_items, ac1.n_pairable) == (12, 11)

    fk = S.fleiss_kappa(table)
    assert fk.statistic == pytest.approx(0.76117, abs=5e-6)
    assert fk.chance_agreement == pytest.approx(0.2387153, abs=1e-7)
    assert fk.standard_error == pytest.approx(0.15302, abs=5e-6)
    assert fk.confidence_interval.low == pytest.approx(0.424, abs=5e-4)
    assert fk.pvalue == pytest.approx(0.000419173, rel=1e-5)
    assert "missing ratings" in fk.method


def test_krippendorff_alpha_matches_krippendorff_2011_example():
    """[K2011]: nominal alpha of the 4-observer, 12-unit example with missing values is 0.743;
    [irrCAC] krippen.alpha.raw(cac.raw4raters) prints 0.74342."""
    table, _ = S.counts_table(RAW_4_RATERS)
    res = S.krippendorff_alpha(table, n_boot=200, seed=1)
    assert res.statistic == pytest.approx(0.74342, abs=5e-6)
    assert round(res.statistic, 3) == 0.743
    assert res.confidence_interval.low < res.statistic < res.confidence_interval.high
    assert res.details["n_boot"] == 200


def test_complete_ratings_match_irrcac_distrib_6raters():
    """[irrCAC] vignette, 'from the distribution of raters by subject & category':
    gwet.ac1.dist 0.4448007 (SE 0.08418757, pa 0.5511111, pe 0.1914815, p 0.0001155927,
    CI (0.264,0.625)); fleiss.kappa.dist 0.4139265 (SE 0.08119291, pe 0.2340741,
    CI (0.24,0.588)); krippen.alpha.dist 0.4204384."""
    ac1 = S.gwet_ac1(DISTRIB_6_RATERS)
    assert ac1.statistic == pytest.approx(0.4448007, abs=1e-7)
    assert ac1.standard_error == pytest.approx(0.08418757, abs=1e-8)
    assert ac1.observed_agreement == pytest.approx(0.5511111, abs=1e-7)
    assert ac1.chance_agreement == pytest.approx(0.1914815, abs=1e-7)
    assert ac1.pvalue == pytest.approx(0.0001155927, rel=1e-6)
    assert tuple(round(x, 3) for x in ac1.confidence_interval) == (0.264, 0.625)

    fk = S.fleiss_kappa(DISTRIB_6_RATERS)
    assert fk.statistic == pytest.approx(0.4139265, abs=1e-7)
    assert fk.standard_error == pytest.approx(0.08119291, abs=1e-8)
    assert fk.chance_agreement == pytest.approx(0.2340741, abs=1e-7)
    assert tuple(round(x, 3) for x in fk.confidence_interval) == (0.240, 0.588)
    assert "statsmodels" in fk.method  # complete ratings: the library computes it

    alpha = S.krippendorff_alpha(DISTRIB_6_RATERS, n_boot=0)
    assert alpha.statistic == pytest.approx(0.4204384, abs=1e-7)
    assert math.isnan(alpha.confidence_interval.low)


def test_fleiss_1971_worked_example():
    """[F1971]: kappa = .430 for 30 patients x 6 psychiatrists."""
    table, _ = S.counts_table(FLEISS_1971)
    assert S.fleiss_kappa(table).statistic == pytest.approx(0.430, abs=5e-4)


def test_two_raters_match_irrcac_cont3x3abstractors():
    """[irrCAC] vignette, 'from contingency tables': kappa2.table 0.7964094 (SE 0.05891072),
    gwet.ac1.table 0.8493305, krippen2.table 0.7972585, pa2.table 0.89."""
    a, b = pairs_from_table(ABSTRACTORS)
    kappa = S.cohen_kappa(a, b)
    assert kappa.statistic == pytest.approx(0.7964094, abs=1e-7)
    assert kappa.standard_error == pytest.approx(0.05891072, abs=1e-8)
    assert kappa.n_items == 100
    table, _ = S.counts_table(list(zip(a, b, strict=True)))
    assert S.gwet_ac1(table).statistic == pytest.approx(0.8493305, abs=1e-7)
    assert S.krippendorff_alpha(table, n_boot=0).statistic == pytest.approx(0.7972585, abs=1e-7)
    assert S.percent_agreement(table).statistic == pytest.approx(0.89)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    """[N1998] Table I, method 3 (score interval without continuity correction)."""
    res = S.wilson_interval(k, n)
    assert res.statistic == pytest.approx(k / n)
    assert res.confidence_interval.low == pytest.approx(low, abs=6e-5)
    assert res.confidence_interval.high == pytest.approx(high, abs=6e-5)


# ----------------------------------------------------------------- hand-computed cases


def test_ac1_hand_computed_small_case():
    """Two raters, three items: (1,1), (1,0), (0,0).

    pa = 2/3; pi_1 = (1 + 1/2 + 0)/3 = 1/2; pe = 2 * 1/2 * 1/2 / (2-1) = 1/2;
    AC1 = (2/3 - 1/2) / (1 - 1/2) = 1/3. Fleiss: pe = 1/4 + 1/4 = 1/2, kappa = 1/3 too."""
    table, _ = S.counts_table([["1", "1"], ["1", "0"], ["0", "0"]], ["0", "1"])
    assert S.gwet_ac1(table).statistic == pytest.approx(1 / 3)
    assert S.fleiss_kappa(table).statistic == pytest.approx(1 / 3)
    assert S.percent_agreement(table).statistic == pytest.approx(2 / 3)


def test_kappa_paradox_hand_computed():
    """High agreement, skewed prevalence: 118 items both '+', 5 A '+' B '-', 2 A '-' B '+'.

    pa = 118/125 = 0.944. Cohen: pe = (123/125)(120/125) + (2/125)(5/125) = 0.94528,
    kappa = (0.944 - 0.94528)/(1 - 0.94528) = -0.023392. AC1: pi_+ = 243/250 = 0.972,
    pe = 2 * 0.972 * 0.028 = 0.054432, AC1 = (0.944 - 0.054432)/(1 - 0.054432) = 0.940777."""
    a = ["+"] * 118 + ["+"] * 5 + ["-"] * 2
    b = ["+"] * 118 + ["-"] * 5 + ["+"] * 2
    kappa = S.cohen_kappa(a, b)
    assert kappa.observed_agreement == pytest.approx(0.944)
    assert kappa.chance_agreement == pytest.approx(0.94528)
    assert kappa.statistic == pytest.approx((0.944 - 0.94528) / (1 - 0.94528))
    table, _ = S.counts_table(list(zip(a, b, strict=True)), ["-", "+"])
    ac1 = S.gwet_ac1(table)
    assert ac1.chance_agreement == pytest.approx(0.054432)
    assert ac1.statistic == pytest.approx((0.944 - 0.054432) / (1 - 0.054432))
    assert ac1.statistic > 0.9 > 0 > kappa.statistic


def test_one_label_only_makes_kappas_undefined_not_errors():
    table, _ = S.counts_table([["1", "1"], ["1", "1"], ["1", None]], ["0", "1"])
    assert math.isnan(S.fleiss_kappa(table).statistic)
    assert math.isnan(S.krippendorff_alpha(table, n_boot=10).statistic)
    assert math.isnan(S.cohen_kappa(["1", "1", "1"], ["1", "1", "1"]).statistic)
    assert S.percent_agreement(table).statistic == 1.0
    # AC1's chance agreement is 0 here (pi = (0, 1)), so AC1 = percent agreement = 1.
    assert S.gwet_ac1(table).statistic == 1.0


def test_no_pairable_item_gives_nan():
    table, _ = S.counts_table([["1", None], [None, "0"]], ["0", "1"])
    res = S.gwet_ac1(table)
    assert math.isnan(res.statistic) and res.n_pairable == 0 and res.n_items == 2


def test_counts_table_rejects_unknown_label():
    with pytest.raises(ValueError, match="not one of the categories"):
        S.counts_table([["0", "2"]], ["0", "1"])


# ----------------------------------------------------------------- reference implementations


@pytest.mark.parametrize("seed", range(6))
def test_random_missing_data_against_references(seed):
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    m = random_matrix(seed)
    cats = [0, 1, 2]
    table, _ = S.counts_table(m, cats)

    # Krippendorff's alpha: the package on the raters x units reliability matrix.
    reliability = np.array([[np.nan if v is None else v for v in col] for col in m.T], float)
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert S.krippendorff_alpha(table, n_boot=0).statistic == pytest.approx(expected, abs=1e-12)

    # AC1, Fleiss (generalised), percent agreement: direct pairwise evaluation.
    ac1, pa = naive_gwet(m, cats, "ac1")
    fleiss, _ = naive_gwet(m, cats, "fleiss")
    assert S.gwet_ac1(table).statistic == pytest.approx(ac1, abs=1e-12)
    assert S.fleiss_kappa(table).statistic == pytest.approx(fleiss, abs=1e-12)
    assert S.percent_agreement(table).statistic == pytest.approx(pa, abs=1e-12)

    # Cohen's kappa for every pair of raters over their shared items: sklearn.
    for i, j in itertools.combinations(range(m.shape[1]), 2):
        both = [
            (x, y) for x, y in zip(m[:, i], m[:, j], strict=True) if x is not None and y is not None
        ]
        x, y = zip(*both, strict=True)
        res = S.cohen_kappa(list(m[:, i]), list(m[:, j]), categories=cats)
        assert res.n_items == len(both)
        assert res.statistic == pytest.approx(cohen_kappa_score(x, y), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_generalised_fleiss_equals_statsmodels_on_complete_data(seed):
    """The missing-ratings formula must reduce to Fleiss (1971) when every item has r raters."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    table, _ = S.counts_table(random_matrix(seed, n_items=30, n_raters=4, missing=0.0), [0, 1, 2])
    # the generalised path, the one used when ratings have gaps
    generalised = stats_agreement._coefficient(table, "fleiss", 0.95).statistic
    assert generalised == pytest.approx(fleiss_kappa(table), abs=1e-12)


def test_krippendorff_bootstrap_is_seeded_and_skips_undefined_resamples():
    table, _ = S.counts_table(random_matrix(11), [0, 1, 2])
    a = S.krippendorff_alpha(table, n_boot=300, seed=5)
    b = S.krippendorff_alpha(table, n_boot=300, seed=5)
    c = S.krippendorff_alpha(table, n_boot=300, seed=6)
    assert a.confidence_interval == b.confidence_interval != c.confidence_interval
    assert a.confidence_interval.low < a.statistic < a.confidence_interval.high
    # Nearly constant data: many resamples have one label only, alpha undefined there.
    skewed = np.array([[2, 0]] * 30 + [[1, 1]])
    s = S.krippendorff_alpha(skewed, n_boot=200, seed=0)
    assert s.details["n_boot_valid"] < 200


# ----------------------------------------------------------------- comparisons


def test_paired_comparison_matches_exact_enumeration_and_binomial_mcnemar():
    rng = np.random.default_rng(3)
    a = rng.choice([0, 0.5, 1, 1, 1], size=10)
    b = rng.choice([0, 0.5, 1], size=10)
    res = S.paired_comparison(a, b, n_resamples=9999, seed=0)
    d = a - b
    observed = d.mean()
    flips = np.array(list(itertools.product([1, -1], repeat=len(d))))
    null = (flips * d).mean(axis=1)
    # Null values are multiples of 0.05: a tolerance of 1e-9 counts the ties, as scipy does.
    exact = min(1.0, 2 * min((null >= observed - 1e-9).mean(), (null <= observed + 1e-9).mean()))
    assert res.statistic == pytest.approx(observed)
    assert res.pvalue == pytest.approx(exact)
    assert res.confidence_interval.low <= observed <= res.confidence_interval.high
    # McNemar on majority labels (>0.5 -> 1, <0.5 -> 0, 0.5 left out): exact binomial.
    la, lb = (
        np.where(a > 0.5, 1, np.where(a < 0.5, 0, -1)),
        np.where(b > 0.5, 1, np.where(b < 0.5, 0, -1)),
    )
    keep = (la >= 0) & (lb >= 0)
    n10 = int(((la == 1) & (lb == 0) & keep).sum())
    n01 = int(((la == 0) & (lb == 1) & keep).sum())
    mc = res.exact_test
    assert (mc.details["a_only"], mc.details["b_only"]) == (n10, n01)
    assert mc.details["left_out"] == int((~keep).sum())
    # The sensitivity test is mid-p by default: the exact binomial p less P(X = k).
    k, n = min(n10, n01), n10 + n01
    exact_p = sps.binomtest(k, n, 0.5).pvalue
    assert mc.pvalue == pytest.approx(exact_p - sps.binom.pmf(k, n, 0.5))
    on_request = S.paired_comparison(a, b, n_resamples=99, seed=0, mcnemar="exact")
    assert on_request.exact_test.pvalue == pytest.approx(exact_p)


def test_unpaired_comparison_matches_exact_enumeration_and_fisher():
    a = np.array([1, 1, 1, 0.5, 1, 0])
    b = np.array([0, 1, 0, 0, 1, 0])
    res = S.unpaired_comparison(a, b, n_resamples=9999, seed=0)
    pooled = np.concatenate([a, b])
    observed = a.mean() - b.mean()
    null = []
    for idx in itertools.combinations(range(12), 6):
        mask = np.zeros(12, bool)
        mask[list(idx)] = True
        null.append(pooled[mask].mean() - pooled[~mask].mean())
    null = np.array(null)
    exact = min(1.0, 2 * min((null >= observed - 1e-9).mean(), (null <= observed + 1e-9).mean()))
    assert res.statistic == pytest.approx(observed)
    assert res.pvalue == pytest.approx(exact)
    assert not res.paired
    # Fisher on majority labels; the 0.5 item of a is a tie and is left out.
    expected = sps.fisher_exact([[4, 1], [2, 4]])
    assert res.exact_test.details["table"] == [[4, 1], [2, 4]]
    assert res.exact_test.pvalue == pytest.approx(expected.pvalue)
    assert res.exact_test.details["left_out"] == 1


def test_identical_systems_give_p_one_and_zero_difference():
    a = np.array([1, 1, 0, 1.0])
    res = S.paired_comparison(a, a.copy())
    assert res.statistic == 0 and res.pvalue == 1.0 and res.exact_test.pvalue == 1.0
    assert res.confidence_interval == (0.0, 0.0)


def test_holm_hand_computed_and_nan_kept():
    # sorted p: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; max(0.06, 0.04 * 1) = 0.06
    assert S.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    out = S.holm([0.01, float("nan"), 0.04])
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
