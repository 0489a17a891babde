"""Few generics (issue 20): every test and interval defined at any number of generics.

Hand vectors for the smallest attainable p-values, the withheld interval, the inverted
sign-flip interval against scipy's test, the equivalence test and the clustered Wilson
interval (statsmodels' Wilson on the effective count as the reference).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from logic_claims.annotations import stats
from logic_claims.annotations.reports import compare_report
from logic_claims.harness import cli as harness_cli
from logic_claims.harness.report.annotations import render_html, render_markdown, render_text
from logic_claims.tasks.errors import InputError


def generics_of(k: int) -> np.ndarray:
    return np.repeat(np.arange(k), 2)


def test_two_generics_withhold_the_interval_and_the_mdd_with_reasons():
    """The ``limit: 1`` case of issue 20: 4 claims of 2 generics, the system right on all,
    the baseline on half. Before: interval [+50, +50], design effect 0, MDD 0."""
    res = stats.clustered_paired_comparison([1, 1, 1, 1], [1, 0, 1, 0], ["a", "a", "b", "b"])
    assert math.isnan(res.confidence_interval.low) and math.isnan(res.confidence_interval.high)
    assert res.withheld["confidence_interval"].startswith("2 generics: too few for a 95%")
    assert res.min_attainable_p == pytest.approx(0.5)  # 2 / 2^2
    assert res.pvalue == pytest.approx(0.5)
    assert math.isnan(res.design_effect) and "design_effect" in res.withheld
    assert math.isnan(res.min_detectable_difference)
    assert "cannot reach p < 0.05" in res.withheld["min_detectable_difference"]


def test_one_generic_gives_p_one_not_a_scipy_error():
    res = stats.clustered_paired_comparison([1, 1, 0, 1], [0, 0, 0, 1], ["g"] * 4)
    assert res.pvalue == 1.0 and res.min_attainable_p == 1.0
    assert res.withheld["confidence_interval"].startswith("1 generic: too few")
    mcn = stats.clustered_paired_comparison(
        [1, 1, 0, 1], [0, 0, 0, 1], ["g"] * 4, primary="clustered-mcnemar"
    )
    assert mcn.min_attainable_p == pytest.approx(sps.chi2.sf(1, 1))


def test_identical_generics_have_no_design_effect_and_no_point_interval():
    """Six generics each +1/2: the clustered variance is 0, so the design effect is
    undefined (not 0) and no MDD is claimed; six would be enough for an interval, but one
    of zero width cannot be trusted with six generics: withheld, saying why."""
    a, b = [1, 1] * 6, [1, 0] * 6
    res = stats.clustered_paired_comparison(a, b, generics_of(6))
    assert math.isnan(res.design_effect) and math.isnan(res.min_detectable_difference)
    assert res.withheld["min_detectable_difference"] == "design effect undefined"
    assert res.withheld["design_effect"].startswith("no variance")
    assert math.isnan(res.confidence_interval.low)
    assert res.withheld["confidence_interval"].startswith("every generic has the same mean (0.5)")
    assert res.pvalue == pytest.approx(2 / 64) == res.min_attainable_p


def test_smallest_attainable_p_by_hand():
    """Sign-flip: 2 / 2^K over the K generics with a non-zero sum (5 of them: 0.0625,
    nothing detectable at 0.05, so no MDD); clustered McNemar: P(chi2_1 >= K)."""
    d = np.array([1.0, 2.0, 0.0, -1.0, 3.0, 1.0])
    assert stats.sign_flip_min_p(d) == pytest.approx(0.0625)
    assert stats.sign_flip_min_p(np.arange(1.0, 21.0), n_resamples=999) == pytest.approx(0.002)
    assert stats.mcnemar_min_p(d) == pytest.approx(0.025347, abs=1e-6)  # chi2.sf(5, 1)
    assert stats.mcnemar_min_p(np.ones(4)) == pytest.approx(0.0455, abs=1e-4)
    assert stats.clustered_mcnemar(np.ones(4)).pvalue == pytest.approx(0.0455, abs=1e-4)
    assert stats.min_interval_generics(0.95) == 6 and stats.min_interval_generics(0.99) == 8
    rng = np.random.default_rng(4)
    a = (rng.random(40) < 0.8).astype(int)
    b = (rng.random(40) < 0.3).astype(int)
    res = stats.clustered_paired_comparison(a, b, np.repeat(np.arange(5), 8))
    assert res.min_attainable_p == pytest.approx(0.0625)
    assert math.isnan(res.min_detectable_difference)
    assert res.primary.statistic == pytest.approx(float(np.sum(a - b)))  # the test's own


def test_inverted_sign_flip_interval_agrees_with_scipys_test():
    """Just inside each end scipy's exact test of the shifted sums does not reject at
    0.05; just outside it does: interval and test agree (8 generics of 3 claims)."""
    rng = np.random.default_rng(7)
    x = rng.random(24) * 0.6 + np.repeat(rng.random(8) * 0.4, 3)
    g = np.repeat(np.arange(8), 3)
    res = stats.cluster_interval(
        x, g, n_resamples=999, confidence_level=0.95, rng=np.random.default_rng(0)
    )
    assert res.method == "inverted exact sign-flip test over 8 generics"
    d, n = stats.cluster_sums(x, np.zeros(24), g)

    def pvalue(shift: float) -> float:
        e = d - shift * n
        return sps.permutation_test(
            (e,), np.sum, permutation_type="samples", n_resamples=9999
        ).pvalue

    low, high = res.confidence_interval
    assert low < x.mean() < high
    for end, outward in ((low, -1e-6), (high, 1e-6)):
        assert pvalue(end - outward) > 0.05
        assert pvalue(end + outward) <= 0.05


def test_equivalence_by_hand_and_at_few_generics():
    """Six generics of four claims, no difference anywhere, margin 0.25: each shifted sum
    is +-1 on every generic, so each one-sided p is 1 / 64 (only the observed pattern is as
    extreme) and the TOST p is 1 / 64; with two generics it can reach no lower than 1 / 4."""
    g = np.repeat(np.arange(6), 4)
    zeros = np.zeros(24)
    res = stats.clustered_paired_comparison(
        zeros, zeros, g, equivalence_margin=0.25, n_resamples=999
    )
    eq = res.equivalence
    assert eq.pvalue == pytest.approx(1 / 64)
    assert eq.details["lower"]["pvalue"] == pytest.approx(1 / 64)
    assert eq.details["min_attainable_p"] == pytest.approx(1 / 64)
    few = stats.equivalence_test(
        np.zeros(2), np.full(2, 4.0), 0.25, n_resamples=999, rng=np.random.default_rng(0)
    )
    assert few.pvalue == pytest.approx(0.25) == few.details["min_attainable_p"]
    # A real difference of +0.5 is not equivalent within 0.25.
    far = stats.equivalence_test(
        np.full(6, 2.0), np.full(6, 4.0), 0.25, n_resamples=999, rng=np.random.default_rng(0)
    )
    assert far.pvalue == 1.0
    assert stats.clustered_paired_comparison(zeros, zeros, g).equivalence is None


def test_clustered_wilson_uses_the_effective_count():
    """n_eff = rate (1 - rate) / CR1 variance (Korn & Graubard 1998), kept in [G, n].
    Claims that always agree within a generic (14 of 20 generics right): CR1 variance
    20/19 * 16 * 20 * 0.21 / 80^2 against 0.21 / 80 gives 19 trials, kept at G = 20, so
    Wilson on (14, 20) (statsmodels). Forty generics of one claim: 39 trials (CR1's
    G / (G - 1)), kept at G = 40: the plain Wilson interval. Up to 12 generics, and at 0
    events: Wilson on G trials, wider than on the claims."""
    per_generic = np.array([1, 0, 1, 1, 0, 1, 1, 1, 0, 1] * 2, dtype=float)
    x = np.repeat(per_generic, 4)
    g = np.repeat(np.arange(20), 4)
    res = stats.clustered_wilson(x, g)
    assert tuple(res.confidence_interval) == pytest.approx(
        proportion_confint(14, 20, method="wilson")
    )
    assert res.n == 80 and res.statistic == pytest.approx(0.7)
    x, g = x[:40], g[:40]
    flat = stats.clustered_wilson(x, np.arange(40))
    assert tuple(flat.confidence_interval) == pytest.approx(
        proportion_confint(28, 40, method="wilson")
    )
    few = stats.clustered_wilson(np.tile([1.0, 1.0, 0.0, 1.0], 10), g)  # 10 generics
    assert tuple(few.confidence_interval) == pytest.approx(
        proportion_confint(7.5, 10, method="wilson")
    )
    none = stats.clustered_wilson(np.zeros(40), g)
    assert none.confidence_interval.low == 0.0
    assert none.confidence_interval.high == pytest.approx(
        proportion_confint(0, 10, method="wilson")[1]
    )
    assert none.confidence_interval.high > proportion_confint(0, 40, method="wilson")[1]


def test_permutation_tests_carry_their_smallest_attainable_p():
    """Paired permutation = sign-flip on the units: 3 of 4 units differ, 2 / 2^3. Unpaired:
    2 and 3 items split 10 ways, scipy doubles the one-sided 1 / 10; 60 and 60 items sampled with
    999 resamples: 2 / 1000."""
    paired = stats.paired_comparison([1, 1, 0, 1], [0, 0, 0, 0], n_resamples=999)
    assert paired.min_attainable_p == pytest.approx(0.25)
    assert paired.primary_statistic == paired.statistic == pytest.approx(0.75)
    unpaired = stats.unpaired_comparison([1, 1], [0, 0, 0], n_resamples=999)
    assert unpaired.min_attainable_p == pytest.approx(0.2)
    assert unpaired.pvalue == pytest.approx(0.2)
    big = stats.unpaired_comparison(np.ones(60), np.zeros(60), n_resamples=999)
    assert big.min_attainable_p == pytest.approx(0.002)


def rated_generics(n_generics: int, good_a: list[int], good_b: list[int]) -> pd.DataFrame:
    """Two raters who agree; claims of ``n_generics`` generics, four quantifiers each;
    system A right on generic g's claims when ``good_a[g]``, B when ``good_b[g]``."""
    rows = []
    for g in range(n_generics):
        for q in ("All", "Not all", "Some", "No"):
            claim = f"{q} things{g} do stuff."
            for system, good in (("A", good_a[g]), ("B", good_b[g])):
                for rater in ("ann", "bob"):
                    rows.append(
                        {
                            "item_id": f"{system}-{g}-{q}", "system": system,
                            "annotator": rater, "dimension": "factual",
                            "value": str(good), "claim": claim, "pair_id": claim,
                        }
                    )  # fmt: skip
    return pd.DataFrame(rows)


def test_annotate_compare_rows_carry_the_test_statistic_min_p_and_reasons():
    """Two generics (A right on both, B on one): the primary row's statistic is the
    sign-flip sum (4 claims), not the difference (0.5); min_attainable_p 2 / 2^1 = 1 (one
    generic differs); no interval, design effect or MDD, each with its reason."""
    report = compare_report(rated_generics(2, [1, 1], [1, 0]), ["A", "B"], n_resamples=999)
    json.dumps(report, allow_nan=False)
    (c,) = report["comparisons"]
    primary = c["tests"][0]
    assert c["difference"]["estimate"] == pytest.approx(0.5)
    assert primary["statistic"] == pytest.approx(4.0)
    assert primary["min_attainable_p"] == c["min_attainable_p"] == 1.0
    assert c["difference"]["confidence_interval"] == {"low": None, "high": None}
    assert c["withheld"]["confidence_interval"].startswith("2 generics: too few")
    assert c["design_effect"] is None and c["min_detectable_difference"] is None
    assert c["withheld"]["design_effect"] == "2 generics: too few to estimate it"
    assert set(c["withheld"]) == {
        "confidence_interval", "design_effect", "min_detectable_difference"
    }  # fmt: skip
    text, md = render_text(report), render_markdown(report)
    html = render_html(report)
    assert "smallest attainable p = 1.000" in text and "min 1.000" in md and "min 1.000" in html
    for page in (text, md, html):
        assert "2 generics: too few for a 95% interval" in page


def test_annotate_compare_equivalence_margin():
    """Eight generics, A and B alike on every one: within +-10 points equivalent at p =
    1 / 2^8 on each side; a margin outside (0, 1) is refused in one line."""
    same = [1, 0, 1, 1, 0, 1, 1, 0]
    df = rated_generics(8, same, same)
    report = compare_report(df, ["A", "B"], n_resamples=999, equivalence_margin=0.1)
    (c,) = report["comparisons"]
    eq = next(t for t in c["tests"] if t["role"] == "equivalence")
    assert eq["pvalue"] == pytest.approx(1 / 256) == eq["min_attainable_p"]
    assert eq["margin"] == 0.1 and report["settings"]["equivalence_margin"] == 0.1
    assert "equivalence within ±10.0 pts: TOST p" in render_markdown(report)
    assert "equivalence: two one-sided sign-flip tests" in render_text(report)
    assert all(
        t["role"] != "equivalence"
        for t in compare_report(df, ["A", "B"])["comparisons"][0]["tests"]
    )
    with pytest.raises(InputError, match="equivalence_margin must be a fraction"):
        compare_report(df, ["A", "B"], equivalence_margin=5)


def test_annotate_compare_cli_equivalence_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    same = [1, 0, 1, 1, 0, 1, 1, 0]
    ratings = tmp_path / "ratings.csv"
    wide = rated_generics(8, same, same).rename(columns={"value": "factual"})
    wide.drop(columns="dimension").to_csv(ratings, index=False)
    argv = ["annotate", "compare", str(ratings), "--systems", "A,B", "--json"]
    assert harness_cli.main([*argv, "--equivalence-margin", "0.1"]) == 0
    report = json.loads(capsys.readouterr().out)
    (c,) = report["comparisons"]
    assert c["min_attainable_p"] == 1.0  # no generic differs: the sign-flip test gives 1
    assert next(t for t in c["tests"] if t["role"] == "equivalence")["pvalue"] < 0.05
    assert harness_cli.main([*argv, "--equivalence-margin", "1.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "equivalence_margin must be a fraction" in err


@pytest.mark.parametrize("limit", [1, 2])
def test_rules_only_compare_at_one_or_two_generics(
    tmp_path: Path, built_data: Path, limit: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20's acceptance: a rules-only compare at ``limit: 1`` and ``limit: 2`` exits 0;
    no interval of zero width on one or two generics (withheld, with the reason), no
    design effect or MDD of 0, and ``min_attainable_p`` in every significance row, shown
    beside the p in text, Markdown and HTML; the equivalence test beside it on request."""
    config = tmp_path / "rules.yaml"
    config.write_text(
        f"data_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: {limit}\n"
        "baseline: majority-class\nequivalence_margin: 0.05\n"
        "systems:\n  - {name: quantifier-rule}\n  - {name: majority-class}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert harness_cli.main(["compare", "--config", str(config), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    rows = report["significance"]
    assert rows
    for row in rows:
        assert 0 < row["min_attainable_p"] <= 1
        assert row["tests"][0]["min_attainable_p"] == row["min_attainable_p"]
        assert row["design_effect"] != 0 and row["min_detectable_difference"] != 0
        ci = row["confidence_interval"]
        if row["n_generics"] < 6:
            assert ci["low"] is None and "too few" in ci["withheld"]
        elif ci["low"] is not None:
            assert ci["low"] < ci["high"] or ci["low"] == row["difference"]
        assert row["equivalence"]["role"] == "equivalence"
    for per in report["systems"].values():
        for split in per["splits"].values():
            for kind in ("gen", "mc"):
                for group in (split.get(kind) or {}).values():
                    ci = group.get("correct_ci") or group.get("acc_ci")
                    if ci and ci["low"] is not None:
                        assert ci["low"] < ci["high"], group  # never a point on few generics
    md = (out / "report.md").read_text(encoding="utf-8")
    html = (out / "report.html").read_text(encoding="utf-8")
    for page in (text, md, html):
        assert "min p" in page and "too few for a 95% interval" in page
        assert "TOST p" in page


def test_plan_says_nothing_is_detectable_on_two_generics(
    tmp_path: Path, built_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "rules.yaml"
    config.write_text(
        f"data_dir: {built_data}\nlimit: 1\nsystems:\n  - {{name: quantifier-rule}}\n",
        encoding="utf-8",
    )
    argv = ["compare", "--config", str(config), "--plan", "--detect", "0.1"]
    assert harness_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "of 2 generics: nothing is detectable" in out and "below p = 0.5" in out
