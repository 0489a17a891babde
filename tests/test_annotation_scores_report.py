"""The scores report: rates per group with Wilson intervals, how raters are combined, and
the study's own numbers from ../shared/data/seed-results/human_model{4,6}.csv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from annotation_helpers import SEED_RESULTS, dumps, long_rows, synthetic

from logic_claims.annotations import reports as R
from logic_claims.annotations.frame import REQUIRED_COLUMNS
from logic_claims.harness.report.annotations import render_text
from logic_claims.tasks.claims import claim_type_of, generic_of, quantifier_of
from logic_claims.tasks.errors import InputError

# ----------------------------------------------------------------- scores


def read_study_file(path: Path, system: str) -> list[dict]:
    """Minimal reading of the study's CSV (no quoting): the last three fields from the right."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        head, factual, justified, _empty = line.rsplit(",", 3)
        index, claim, _answer = head.split(",", 2)
        for dim, value in (("factual", factual), ("justified", justified)):
            rows.append(
                {
                    "item_id": f"{system}:{index}",
                    "system": system,
                    "annotator": "study",
                    "dimension": dim,
                    "value": value,
                    "claim": claim,
                }
            )
    return rows


def claim_type_of_text(claim: str) -> str | None:
    return claim_type_of(quantifier_of(claim))


def test_scores_on_the_study_files_per_universal_and_existential():
    """human_model4.csv / human_model6.csv, one annotator: the study's per-claim-type rates."""
    if not SEED_RESULTS.is_dir():
        pytest.fail(f"the study's files are expected at {SEED_RESULTS}")
    df = pd.DataFrame(
        read_study_file(SEED_RESULTS / "human_model4.csv", "model4")
        + read_study_file(SEED_RESULTS / "human_model6.csv", "model6")
    )
    report = R.scores_report(df, by=["system", "quantifier"])  # quantifier from the claim
    dumps(report)
    rows = {(r["group"]["system"], r["group"]["quantifier"]): r for r in report["rows"]}
    expected = {  # (items, factual, justified)
        ("model4", "universal"): (316, 271, 313),
        ("model4", "existential"): (190, 178, 190),
        ("model6", "universal"): (526, 433, 504),
        ("model6", "existential"): (318, 311, 304),
    }
    from statsmodels.stats.proportion import proportion_confint

    for key, (n, factual, justified) in expected.items():
        row = rows[key]
        assert row["n_items"] == n
        for dim, k in (("factual", factual), ("justified", justified)):
            cell = row["dimensions"][dim]
            assert cell["positive"] == k and cell["rate"] == pytest.approx(k / n)
            # Claims of one generic are a cluster (issue 20): Wilson on the effective count
            # p (1 - p) / CR1 variance, kept between the generics and the items.
            sub = df[(df["system"] == key[0]) & (df["dimension"] == dim)]
            sub = sub[sub["claim"].map(claim_type_of_text) == key[1]]
            x = (sub["value"] == "1").to_numpy(dtype=float)
            groups = sub["claim"].map(generic_of).to_numpy()
            names, codes = np.unique(groups, return_inverse=True)
            sums, sizes = np.bincount(codes, weights=x), np.bincount(codes)
            p, g = k / n, len(names)
            var = g / (g - 1) * np.sum((sums - p * sizes) ** 2) / n**2
            n_eff = min(max(p * (1 - p) / var, g), n) if g > 12 and var > 0 else g
            low, high = proportion_confint(p * n_eff, n_eff, method="wilson")
            assert cell["confidence_interval"] == pytest.approx({"low": low, "high": high})
            assert cell["n_generics"] == g and "effective" in cell["interval_method"]
            assert high - low > np.diff(proportion_confint(k, n, method="wilson"))[0] * 0.99
    # universal = all + not_all
    for system in ("model4", "model6"):
        parts = [rows[system, q]["dimensions"]["factual"]["positive"] for q in ("all", "not_all")]
        assert sum(parts) == rows[system, "universal"]["dimensions"]["factual"]["positive"]
    order = [q for s, q in rows if s == "model4"]
    assert order == ["all", "not_all", "universal", "some", "no", "existential"]
    text = render_text(report)
    assert "85.8%" in text  # model4 universal factual: 271/316


def test_scores_combine_majority_ties_and_mean():
    # item u1: 2 of 3 say 1; u2: 1 vs 1 (tie); u3: 0 of 2; u4: 1 of 1
    matrix = [["1", "1", "0"], ["1", "0", None], ["0", None, "0"], [None, "1", None]]
    df = pd.DataFrame(long_rows(matrix, "factual"))
    majority = R.scores_report(df, by=[], combine="majority")
    half = majority["rows"][0]["dimensions"]["factual"]
    assert (half["n_items"], half["positive"], half["ties"]) == (4, 2.5, 1)
    assert half["rate"] == pytest.approx(2.5 / 4)
    assert majority["estimand"] == "majority rate" and "half" in majority["combine_note"]
    drop = R.scores_report(df, by=[], combine="majority", ties="drop")
    drop = drop["rows"][0]["dimensions"]["factual"]
    assert (drop["n_items"], drop["positive"], drop["ties"]) == (3, 2.0, 1)
    # The default is the mean rater share, the estimand compare_report tests.
    mean = R.scores_report(df, by=[])
    cell = mean["rows"][0]["dimensions"]["factual"]
    assert cell["rate"] == pytest.approx((2 / 3 + 1 / 2 + 0 + 1) / 4)
    assert mean["estimand"] == "mean rater share"
    assert "share of its raters" in mean["combine_note"]


def test_scores_other_positive_label_and_by_label_column():
    df = synthetic(n_claims=8, seed=2)
    ones = R.scores_report(df, by=["system", "label"])
    zeros = R.scores_report(df, by=["system", "label"], positive="0")
    for a, b in zip(ones["rows"], zeros["rows"], strict=True):
        assert a["group"] == b["group"]
        fa, fb = a["dimensions"]["factual"], b["dimensions"]["factual"]
        assert fa["positive"] + fb["positive"] == fa["n_items"]  # 3 raters: no ties
    assert {r["group"]["label"] for r in ones["rows"]} == {True, False}


def test_scores_by_annotator_counts_each_raters_own_judgments():
    # r1 says 1, 1, 0; r2 says 0, 1 (did not rate u3); r3 rated only u3: 1
    matrix = [["1", "0", None], ["1", "1", None], ["0", None, "1"]]
    df = pd.DataFrame(long_rows(matrix, "factual"))
    report = R.scores_report(df, by=["annotator"])
    assert report["by"] == ["annotator"] and report["n_items"] == 3
    rows = {r["group"]["annotator"]: r["dimensions"]["factual"] for r in report["rows"]}
    assert {a: (c["positive"], c["n_items"]) for a, c in rows.items()} == {
        "r1": (2.0, 3),
        "r2": (1.0, 2),
        "r3": (1.0, 1),
    }
    assert "annotator" in render_text(report)


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"item_id": ["x"], "system": ["s"]}), {}, "lack column"),
        (pd.DataFrame(columns=list(REQUIRED_COLUMNS)), {}, "no ratings"),
        (
            pd.DataFrame(long_rows([["1"]], "factual") + long_rows([["0"]], "factual")),
            {},
            "conflicting ratings",
        ),
        (pd.DataFrame(long_rows([["1"]], "factual")), {"by": ["model"]}, "cannot group by model"),
        (pd.DataFrame(long_rows([["1"]], "factual")), {"combine": "median"}, "combine must"),
        (pd.DataFrame(long_rows([["a"], ["b"]], "tone")), {}, "positive label '1'"),
    ],
)
def test_scores_bad_input_is_one_line_input_error(frame, kwargs, message):
    with pytest.raises(InputError, match=message) as info:
        R.scores_report(frame, **kwargs)
    assert "\n" not in str(info.value)
