"""The compare report: paired (McNemar, paired permutation) or unpaired (Fisher) tests
between systems, Holm-corrected, checked against scipy and statsmodels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from annotation_helpers import dumps, synthetic
from scipy import stats as sps

from logic_claims.annotations import reports as R
from logic_claims.annotations import stats as S
from logic_claims.harness.report.annotations import render_text
from logic_claims.tasks.claims import generic_of
from logic_claims.tasks.errors import InputError

# ----------------------------------------------------------------- compare


def unit_means(df, system, dim):
    sub = df[(df["system"] == system) & (df["dimension"] == dim)]
    return {
        pid: float(np.mean([v == "1" for v in g["value"]])) for pid, g in sub.groupby("pair_id")
    }


def test_compare_paired_uses_mcnemar_and_paired_permutation_with_holm():
    df = synthetic(n_claims=40, accuracy=(0.95, 0.6), seed=4)
    report = R.compare_report(df, ["A", "B"], n_resamples=1999, seed=0)
    dumps(report)
    assert report["pair_key"] == "pair_id"
    assert len(report["comparisons"]) == 2
    raw_primary, raw_exact = [], []
    for c in report["comparisons"]:
        assert c["paired"] is True and c["n_a"] == c["n_b"] == 40
        assert "McNemar" in c["why"] and "same claims" in c["why"]
        a, b = unit_means(df, "A", c["dimension"]), unit_means(df, "B", c["dimension"])
        keys = sorted(a)
        x, y = np.array([a[k] for k in keys]), np.array([b[k] for k in keys])
        assert c["rate_a"] == pytest.approx(x.mean()) and c["rate_b"] == pytest.approx(y.mean())
        assert c["difference"]["estimate"] == pytest.approx(x.mean() - y.mean())
        low, high = c["difference"]["confidence_interval"].values()
        assert low <= x.mean() - y.mean() <= high
        primary, exact = c["tests"]
        # Every synthetic claim is its own generic: the clusters are the claims.
        assert c["n_generics"] == 40 and "sign-flip" in primary["name"]
        claims = df.drop_duplicates("pair_id").set_index("pair_id")["claim"]
        generics = [generic_of(claims[k]) for k in keys]
        ref = S.clustered_paired_comparison(x, y, generics, n_resamples=1999, seed=0)
        assert primary["pvalue"] == pytest.approx(ref.pvalue)
        assert c["design_effect"] == pytest.approx(ref.design_effect)
        n10 = int(((x > 0.5) & (y < 0.5)).sum())
        n01 = int(((x < 0.5) & (y > 0.5)).sum())
        assert (exact["details"]["a_only"], exact["details"]["b_only"]) == (n10, n01)
        assert exact["role"] == "sensitivity" and "mid-p" in exact["name"]
        k, n = min(n10, n01), n10 + n01
        midp = sps.binomtest(k, n).pvalue - sps.binom.pmf(k, n, 0.5)
        assert exact["pvalue"] == pytest.approx(midp)
        raw_primary.append(primary["pvalue"])
        raw_exact.append(exact["pvalue"])
    from statsmodels.stats.multitest import multipletests

    holm_p = multipletests(raw_primary, method="holm")[1]
    holm_e = multipletests(raw_exact, method="holm")[1]
    for c, hp, he in zip(report["comparisons"], holm_p, holm_e, strict=True):
        assert c["tests"][0]["pvalue_holm"] == pytest.approx(hp)
        assert c["tests"][1]["pvalue_holm"] == pytest.approx(he)
    # A is clearly better here: the rates differ and the test says so.
    assert report["comparisons"][0]["tests"][0]["pvalue"] < 0.05
    text = render_text(report)
    assert "sensitivity: McNemar mid-p" in text and "primary: sign-flip" in text
    assert "McNemar" in text and "Holm" in text and "Why these tests" in text
    unclustered = R.compare_report(
        df, ["A", "B"], n_resamples=1999, seed=0, primary_test="permutation"
    )
    for c in unclustered["comparisons"]:
        a, b = unit_means(df, "A", c["dimension"]), unit_means(df, "B", c["dimension"])
        x, y = np.array([a[k] for k in sorted(a)]), np.array([b[k] for k in sorted(b)])
        ref = S.paired_comparison(x, y, n_resamples=1999, seed=0)
        assert c["tests"][0]["pvalue"] == pytest.approx(ref.pvalue)
        assert "n_generics" not in c


def test_compare_clusters_the_claims_of_one_generic():
    """Four claims of each of 12 generics (All/Not all/Some/No ... read off the claim), the
    same answer quality within a generic: 12 clusters, and a design effect above 1."""
    rows = []
    rng = np.random.default_rng(5)
    for g in range(12):
        good = {"A": rng.random() < 0.8, "B": rng.random() < 0.5}
        for q in ("All", "Not all", "Some", "No"):
            claim = f"{q} kinds {g} do things."
            for system in ("A", "B"):
                for rater in ("ann", "bob"):
                    rows.append(
                        {
                            "item_id": f"{system}-{g}-{q}",
                            "system": system,
                            "annotator": rater,
                            "dimension": "factual",
                            "value": str(int(good[system])),
                            "claim": claim,
                            "pair_id": claim,
                        }
                    )
    report = R.compare_report(pd.DataFrame(rows), ["A", "B"], n_resamples=999, seed=0)
    (c,) = report["comparisons"]
    assert c["n_generics"] == 12 and c["n_a"] == 48
    assert c["design_effect"] > 2  # four claims that always agree: close to 4
    assert "12 generics" in c["design"]
    with pytest.raises(InputError, match="primary_test must be one of"):
        R.compare_report(pd.DataFrame(rows), ["A", "B"], primary_test="t-test")
    text = render_text(report)
    assert "design effect" in text and "12 generics" in text


def test_compare_unpaired_uses_fisher_when_no_claims_are_shared():
    df = synthetic(n_claims=30, accuracy=(0.9, 0.5), seed=5)
    df = df.drop(columns=["pair_id", "claim"])  # nothing to pair on
    report = R.compare_report(df, ["A", "B"], n_resamples=999)
    for c in report["comparisons"]:
        assert c["paired"] is False
        assert "Fisher" in c["tests"][1]["name"] and "independent" in c["why"]
        sub = df[df["dimension"] == c["dimension"]]
        shares = sub.groupby(["system", "item_id"])["value"].apply(lambda v: (v == "1").mean())
        a, b = shares["A"].to_numpy(), shares["B"].to_numpy()
        table = [
            [int((a > 0.5).sum()), int((a < 0.5).sum())],
            [int((b > 0.5).sum()), int((b < 0.5).sum())],
        ]
        assert c["tests"][1]["details"]["table"] == table
        assert c["tests"][1]["pvalue"] == pytest.approx(sps.fisher_exact(table).pvalue)


def test_compare_pairs_only_when_enough_claims_are_shared():
    df = synthetic(n_claims=20, seed=6)
    # B's answers to 15 of the 20 claims are dropped: 5 shared claims out of B's 5, A's 20.
    few = df[(df["system"] == "A") | df["pair_id"].isin([f"p{i}" for i in range(5)])]
    assert R.compare_report(few, ["A", "B"], n_resamples=199)["comparisons"][0]["paired"]
    # Renaming A's pair ids leaves 0 shared: unpaired, and paired=True is refused.
    apart = df.copy()
    apart.loc[apart["system"] == "A", "pair_id"] = "a" + apart["pair_id"]
    assert not R.compare_report(apart, ["A", "B"], n_resamples=199)["comparisons"][0]["paired"]
    with pytest.raises(InputError, match="share no claim"):
        R.compare_report(apart, ["A", "B"], paired=True)
    forced = R.compare_report(df, ["A", "B"], paired=False, n_resamples=199)
    assert not forced["comparisons"][0]["paired"]


def test_compare_with_baseline_orients_differences_against_it():
    df = synthetic(n_claims=12, systems=("base", "x", "y"), accuracy=(0.5, 0.9, 0.7), seed=7)
    report = R.compare_report(df, ["x", "y"], baseline="base", n_resamples=199)
    pairs = {(c["system_a"], c["system_b"]) for c in report["comparisons"]}
    assert pairs == {("x", "base"), ("y", "base")}
    assert len(report["comparisons"]) == 4
    assert "4 comparisons" in report["correction"]
    c = report["comparisons"][0]
    assert c["difference"]["estimate"] == pytest.approx(c["rate_a"] - c["rate_b"])


def test_compare_bad_systems_are_input_errors():
    df = synthetic(n_claims=4)
    with pytest.raises(InputError, match="system 'C' has no ratings; systems present: A, B"):
        R.compare_report(df, ["A", "C"])
    with pytest.raises(InputError, match="at least two"):
        R.compare_report(df, ["A"])
