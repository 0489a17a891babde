"""The agreement report (Krippendorff's alpha, Gwet's AC1, Fleiss' and Cohen's kappa) over
ratings frames, with missing ratings and extreme prevalence.

Published values are those of test_annotation_stats.py: [irrCAC] Gwet's irrCAC 1.0 vignette
(cac.raw4raters: alpha 0.74342, AC1 0.77544, Fleiss 0.76117, percent agreement 0.8181818)
and [K2011] Krippendorff (2011), nominal alpha 0.743 for the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from annotation_helpers import dumps, long_rows, synthetic
from reference_data import RAW_4_RATERS, naive_gwet  # [K2011] / [irrCAC] cac.raw4raters

from logic_claims.annotations import reports as R
from logic_claims.annotations import stats as S
from logic_claims.harness.report.annotations import render_text
from logic_claims.tasks.errors import InputError

# ----------------------------------------------------------------- agreement


def test_agreement_report_reproduces_published_example_with_missing_ratings():
    """[irrCAC]/[K2011] through the report: long rows with absent (missing) ratings."""
    from sklearn.metrics import cohen_kappa_score

    report = R.agreement_report(pd.DataFrame(long_rows(RAW_4_RATERS)), n_boot=300, seed=3)
    dumps(report)
    (block,) = report["dimensions"]
    assert block["labels"] == ["1", "2", "3", "4", "5"]
    assert (block["n_items"], block["n_pairable"], block["n_raters"]) == (12, 11, 4)
    assert block["n_ratings"] == 41
    assert block["krippendorff_alpha"]["statistic"] == pytest.approx(0.74342, abs=5e-6)
    assert block["gwet_ac1"]["statistic"] == pytest.approx(0.77544, abs=5e-6)
    assert block["gwet_ac1"]["standard_error"] == pytest.approx(0.14295, abs=5e-6)
    assert block["fleiss_kappa"]["statistic"] == pytest.approx(0.76117, abs=5e-6)
    assert block["percent_agreement"]["statistic"] == pytest.approx(0.8181818, abs=1e-7)
    ci = block["krippendorff_alpha"]["confidence_interval"]
    assert ci["low"] < 0.74342 < ci["high"]
    assert block["krippendorff_alpha"]["details"]["n_boot"] == 300
    assert block["prevalence"]["3"] == pytest.approx(11 / 41)  # eleven 3s of 41 ratings
    # Pairwise Cohen's kappa over shared items, against sklearn.
    pairs = {tuple(p["raters"]): p for p in block["cohen_kappa"]["pairs"]}
    assert len(pairs) == 6
    m = np.array(RAW_4_RATERS, dtype=object)
    for (a, b), pair in pairs.items():
        i, j = int(a[1:]) - 1, int(b[1:]) - 1
        both = [(x, y) for x, y in zip(m[:, i], m[:, j], strict=True) if x and y]
        x, y = zip(*both, strict=True)
        assert pair["n_items"] == len(both)
        reference = cohen_kappa_score(x, y)
        if np.isnan(reference):
            assert pair["statistic"] is None
        else:
            assert pair["statistic"] == pytest.approx(reference, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_agreement_report_on_random_missing_data_matches_references(seed):
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    df = synthetic(seed=seed, missing=0.25, noise=0.2)
    report = R.agreement_report(df, n_boot=50)
    for block in report["dimensions"]:
        sub = df[df["dimension"] == block["dimension"]]
        wide = sub.pivot(index="item_id", columns="annotator", values="value")
        reliability = wide.T.astype(float).to_numpy()  # raters x items, NaN = not rated
        expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
        assert block["krippendorff_alpha"]["statistic"] == pytest.approx(expected, abs=1e-12)
        matrix = [[None if pd.isna(v) else v for v in row] for row in wide.to_numpy()]
        assert block["gwet_ac1"]["statistic"] == pytest.approx(
            naive_gwet(matrix, ["0", "1"], "ac1")[0], abs=1e-12
        )
        assert block["raters_per_item"]["min"] < 3  # ratings really are missing
        for pair in block["cohen_kappa"]["pairs"]:
            both = wide[pair["raters"]].dropna()
            reference = cohen_kappa_score(both.iloc[:, 0], both.iloc[:, 1])
            assert pair["statistic"] == pytest.approx(reference, abs=1e-12)


def test_extreme_prevalence_explains_kappa_paradox_and_points_at_ac1():
    # 100 items, 2 raters; 92 both '1', 4 + 4 disagreements: 96% agreement, kappa near 0.
    matrix = [["1", "1"]] * 92 + [["1", "0"]] * 4 + [["0", "1"]] * 4
    report = R.agreement_report(pd.DataFrame(long_rows(matrix, "factual")), n_boot=100)
    (block,) = report["dimensions"]
    assert block["prevalence"]["1"] == pytest.approx(0.96)
    assert block["percent_agreement"]["statistic"] == pytest.approx(0.92)
    assert block["fleiss_kappa"]["statistic"] < 0.1 < 0.9 < block["gwet_ac1"]["statistic"]
    notes = " ".join(block["notes"])
    assert "kappa paradox" in notes and "Feinstein" in notes and "AC1" in notes
    text = render_text(report)
    assert "kappa paradox" in text
    # Balanced labels: no such note.
    balanced = [["1", "1"]] * 45 + [["0", "0"]] * 45 + [["1", "0"]] * 10
    report = R.agreement_report(pd.DataFrame(long_rows(balanced, "factual")), n_boot=50)
    assert not any("paradox" in n for n in report["dimensions"][0]["notes"])


def test_agreement_with_one_rater_says_it_cannot_be_measured():
    report = R.agreement_report(pd.DataFrame(long_rows([["1"], ["0"], ["1"]], "factual")))
    dumps(report)
    (block,) = report["dimensions"]
    assert block["n_pairable"] == 0
    assert block["gwet_ac1"]["statistic"] is None
    assert block["krippendorff_alpha"]["statistic"] is None
    assert block["cohen_kappa"]["pairs"] == []
    assert "cannot be measured" in block["notes"][0]
    assert "[–]" in render_text(report)  # the missing value marker, format.MISSING


def test_declared_labels_count_for_ac1_and_reject_strangers():
    matrix = [["a", "a"], ["a", "b"], ["b", "b"], ["a", "a"]]
    df = pd.DataFrame(long_rows(matrix, "tone"))
    two = R.agreement_report(df, n_boot=0)["dimensions"][0]
    three = R.agreement_report(df, labels={"tone": ["a", "b", "c"]}, n_boot=0)["dimensions"][0]
    assert two["labels"] == ["a", "b"] and three["labels"] == ["a", "b", "c"]
    table, _ = S.counts_table(matrix, ["a", "b", "c"])
    assert three["gwet_ac1"]["statistic"] == pytest.approx(S.gwet_ac1(table).statistic)
    assert three["gwet_ac1"]["statistic"] != pytest.approx(two["gwet_ac1"]["statistic"])
    with pytest.raises(InputError, match=r"outside its labels"):
        R.agreement_report(df, labels={"tone": ["a"]})


def test_item_listed_under_two_systems_counts_once_in_agreement():
    """The store lists an answer given identically by two systems once per system."""
    rows = long_rows([["1", "1"], ["0", "1"]], "factual", system="A")
    rows += [dict(r, system="B") for r in rows if r["item_id"] == "u1"]
    df = pd.DataFrame(rows)
    block = R.agreement_report(df, n_boot=0)["dimensions"][0]
    assert (block["n_items"], block["n_ratings"]) == (2, 4)
    scores = R.scores_report(df, by=["system"])
    assert [r["dimensions"]["factual"]["n_items"] for r in scores["rows"]] == [2, 1]


# ----------------------------------------------------------------- issue 10's small defects


def test_percent_agreement_has_no_test_against_zero():
    """Agreement of 0 is nobody's null hypothesis: no p-value (the text shows none)."""
    matrix = [["1", "1"], ["0", "0"], ["1", "0"], ["1", "1"], ["0", "0"]]
    report = R.agreement_report(pd.DataFrame(long_rows(matrix, "factual")), n_boot=0)
    (block,) = report["dimensions"]
    assert block["percent_agreement"]["statistic"] == pytest.approx(0.8)
    assert block["percent_agreement"]["pvalue"] is None
    assert block["gwet_ac1"]["pvalue"] is not None  # chance-corrected: tested against 0
    line = next(x for x in render_text(report).splitlines() if "percent agreement" in x)
    assert "p =" not in line and "p <" not in line


def test_one_label_note_explains_ac1_of_one():
    """Every rating '1': kappas undefined; the note says why AC1 and percent agreement are 1
    instead of calling percent agreement the only meaningful number beside AC1 = 1."""
    report = R.agreement_report(pd.DataFrame(long_rows([["1", "1"]] * 4, "factual")), n_boot=0)
    (block,) = report["dimensions"]
    assert block["gwet_ac1"]["statistic"] == 1.0 and block["fleiss_kappa"]["statistic"] is None
    note = next(n for n in block["notes"] if "same label" in n)
    assert "AC1" in note and "only percent agreement" not in note


def test_nan_alpha_beside_finite_fleiss_is_explained():
    """Pairable items all '1', a single-rated item '0': alpha has no variation among the
    pairable values (nan); Fleiss' chance agreement counts the single rating too."""
    matrix = [["1", "1"], ["1", "1"], ["1", "1"], ["0", None]]
    report = R.agreement_report(pd.DataFrame(long_rows(matrix, "factual")), n_boot=0)
    (block,) = report["dimensions"]
    assert block["krippendorff_alpha"]["statistic"] is None
    assert block["fleiss_kappa"]["statistic"] is not None
    assert any("alpha is undefined" in n and "rated once" in n for n in block["notes"])


def test_cohen_kappa_unknown_label_is_a_clear_error():
    with pytest.raises(ValueError, match=r"label\(s\) \['c'\] are not among the categories"):
        S.cohen_kappa(["a", "c"], ["a", "b"], categories=["a", "b"])


def test_agreement_report_refuses_bad_settings_and_one_label_with_input_error():
    df = pd.DataFrame(long_rows([["1", "1"], ["1", "1"]], "factual"))
    with pytest.raises(InputError, match="needs two or more possible labels"):
        R.agreement_report(df, labels={"factual": ["1"]})
    with pytest.raises(InputError, match="n_boot"):
        R.agreement_report(df, n_boot=-1)
    with pytest.raises(InputError, match="confidence_level"):
        R.agreement_report(df, confidence_level=1.5)


def test_default_dimensions_refuse_labels_outside_their_schema():
    """factual/justified are 0/1 (records.DEFAULT_DIMENSIONS) even when no labels are
    declared: a '2' is refused, not counted as a third category."""
    df = pd.DataFrame(long_rows([["1", "2"], ["0", "1"]], "factual"))
    for report in (R.agreement_report, R.scores_report):
        with pytest.raises(InputError, match=r"value\(s\) \['2'\] outside its labels"):
            report(df)
