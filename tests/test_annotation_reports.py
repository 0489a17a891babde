"""The three reports (scores, agreement, compare) over ratings DataFrames, and their rendering.

Published values used here are those of test_annotation_stats.py: [irrCAC] Gwet's irrCAC 1.0
vignette (cac.raw4raters: alpha 0.74342, AC1 0.77544, Fleiss 0.76117, percent agreement
0.8181818) and [K2011] Krippendorff (2011), nominal alpha 0.743 for the same data. The study's
own judgments come from ../shared/data/seed-results/human_model{4,6}.csv.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference_data import RAW_4_RATERS, naive_gwet  # [K2011] / [irrCAC] cac.raw4raters
from scipy import stats as sps

from logic_claims.annotations import reports as R
from logic_claims.annotations import stats as S
from logic_claims.harness.report.annotations import render_html, render_markdown, render_text
from logic_claims.tasks.errors import InputError

SEED_RESULTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed-results"


def long_rows(matrix, dimension="category", system="s", raters=None):
    """Items x raters matrix -> one row per judgment; a missing cell is an absent row."""
    raters = raters or [f"r{j + 1}" for j in range(len(matrix[0]))]
    return [
        {
            "item_id": f"u{i + 1}",
            "system": system,
            "annotator": raters[j],
            "dimension": dimension,
            "value": str(v),
        }
        for i, row in enumerate(matrix)
        for j, v in enumerate(row)
        if v is not None
    ]


def synthetic(
    n_claims=40,
    systems=("A", "B"),
    accuracy=(0.9, 0.7),
    raters=("ann", "bob", "cat", "dan"),
    per_item=3,
    seed=0,
    missing=0.0,
    noise=0.1,
):
    """Paired design: every claim answered by every system, each item judged by per_item raters."""
    rng = np.random.default_rng(seed)
    quantifiers = ["all", "not_all", "some", "no"]
    rows = []
    for c in range(n_claims):
        q = quantifiers[c % 4]
        claim = f"{q.replace('_', ' ').capitalize()} things {c} do stuff."
        for system, acc in zip(systems, accuracy, strict=True):
            truth = {d: rng.random() < acc for d in ("factual", "justified")}
            for rater in rng.choice(raters, size=per_item, replace=False):
                for dim, good in truth.items():
                    if rng.random() < missing:
                        continue
                    value = good if rng.random() > noise else not good
                    rows.append(
                        {
                            "item_id": f"{system}-{c}",
                            "system": system,
                            "annotator": str(rater),
                            "dimension": dim,
                            "value": str(int(value)),
                            "quantifier": q,
                            "claim": claim,
                            "label": q in ("not_all", "some"),
                            "pair_id": f"p{c}",
                        }
                    )
    return pd.DataFrame(rows)


def dumps(report):
    return json.dumps(report, allow_nan=False)  # strict JSON: no NaN, no numpy types


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
            low, high = proportion_confint(k, n, method="wilson")
            assert cell["confidence_interval"] == pytest.approx({"low": low, "high": high})
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
    half = R.scores_report(df, by=[])["rows"][0]["dimensions"]["factual"]
    assert (half["n_items"], half["positive"], half["ties"]) == (4, 2.5, 1)
    assert half["rate"] == pytest.approx(2.5 / 4)
    drop = R.scores_report(df, by=[], ties="drop")["rows"][0]["dimensions"]["factual"]
    assert (drop["n_items"], drop["positive"], drop["ties"]) == (3, 2.0, 1)
    mean = R.scores_report(df, by=[], combine="mean")
    cell = mean["rows"][0]["dimensions"]["factual"]
    assert cell["rate"] == pytest.approx((2 / 3 + 1 / 2 + 0 + 1) / 4)
    assert "share of its raters" in mean["combine_note"]
    assert "half" in R.scores_report(df, by=[])["combine_note"]


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
        (pd.DataFrame(columns=list(R.REQUIRED_COLUMNS)), {}, "no ratings"),
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
        ref = S.paired_comparison(x, y, n_resamples=1999, seed=0)
        assert primary["pvalue"] == pytest.approx(ref.pvalue)
        n10 = int(((x > 0.5) & (y < 0.5)).sum())
        n01 = int(((x < 0.5) & (y > 0.5)).sum())
        assert (exact["details"]["a_only"], exact["details"]["b_only"]) == (n10, n01)
        assert exact["pvalue"] == pytest.approx(sps.binomtest(min(n10, n01), n10 + n01).pvalue)
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
    assert "McNemar" in text and "Holm" in text and "Why these tests" in text


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


# ----------------------------------------------------------------- rendering


class TagCounter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_names_and_embeds_a_png_plot():
    evil = '<script>alert("x")</script>'
    df = synthetic(n_claims=8, systems=("A", evil), seed=8)
    df["annotator"] = df["annotator"].replace({"ann": "<b>ann</b>"})
    reports = [
        R.scores_report(df, by=["system", "quantifier"]),
        R.agreement_report(df, n_boot=50),
        R.compare_report(df, ["A", evil], n_resamples=199),
    ]
    for report in reports:
        page = render_html(report)
        assert page.startswith("<!DOCTYPE html>")
        assert evil not in page and "<b>ann</b>" not in page
        parser = TagCounter()
        parser.feed(page)
        assert "script" not in parser.tags and "b" not in parser.tags
        match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert match, "the page embeds its plot"
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
        assert "http" not in page.replace("http-equiv", "")  # self-contained: no links
        joined = "".join(parser.text)
        if report["report"] != "agreement":
            assert evil in joined  # the name is shown, as text


def test_markdown_nests_under_a_heading_level_and_keeps_tables_whole():
    df = synthetic(n_claims=8, systems=("A", "B|C"), seed=8)
    for report in (
        R.scores_report(df, by=["system"]),
        R.agreement_report(df, n_boot=20),
        R.compare_report(df, ["A", "B|C"], n_resamples=99),
    ):
        md = render_markdown(report, level=2)
        assert md.startswith("## ") and "\n# " not in md and md.endswith("\n")
        tables = [line for line in md.splitlines() if line.startswith("|")]
        assert tables, "each report has a table"
        for line in tables:  # a name holding "|" is escaped, so every row has its columns
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) == len(re.split(r"(?<!\\)\|", tables[0])[1:-1])
        if report["report"] != "agreement":
            assert "B\\|C" in md


def test_every_report_is_strict_json_and_renders_as_text():
    df = synthetic(n_claims=8, seed=9, missing=0.2)
    for report in (
        R.scores_report(df, by=["quantifier"]),
        R.agreement_report(df, n_boot=20),
        R.compare_report(df, ["A", "B"], n_resamples=99),
    ):
        assert json.loads(dumps(report)) == report
        text = render_text(report)
        assert text.endswith("\n") and len(text.splitlines()) > 3
    with pytest.raises(ValueError, match="not a report"):
        render_text({"report": "nope"})
