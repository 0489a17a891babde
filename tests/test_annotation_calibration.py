"""Calibration of a judge against people: exact values for an oracle and a constant judge,
the same numbers as the agreement report on the same data, the plain-language notes, and
the ``annotate calibrate`` command."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from annotation_helpers import cli, make_store

from logic_claims.annotations.agreement import agreement_report
from logic_claims.annotations.calibration import calibrate_file, calibration_report, human_majority
from logic_claims.annotations.ratings import load_ratings
from logic_claims.annotations.store import Store
from logic_claims.harness.judge import judge_store

N_ITEMS = 40
LABELS = {"factual": ["0", "1"], "justified": ["0", "1"]}


def rate_people(path: Path, seed: int = 0, agree: float = 0.85) -> dict[tuple, str]:
    """ann and bob judge every item: ann at random (70% "1"), bob as ann ``agree`` of the
    time. Returns (claim, answer, dimension) -> ann's label, for an oracle judge."""
    rng = np.random.default_rng(seed)
    oracle = {}
    with Store.open(path) as store:
        items = [store.item(i) for i in store.queue("ann")]
        for item in items:
            for dim in ("factual", "justified"):
                ann = str(int(rng.random() < 0.7))
                bob = ann if rng.random() < agree else str(1 - int(ann))
                store.rate(item["item_id"], "ann", dim, ann)
                store.rate(item["item_id"], "bob", dim, bob)
                oracle[(item["claim"], item["answer"], dim)] = ann
    return oracle


@pytest.fixture()
def rated(tmp_path: Path) -> tuple[Path, dict[tuple, str]]:
    path = make_store(tmp_path / "s.sqlite", N_ITEMS, raters=("ann", "bob"))
    return path, rate_people(path)


def row(report: dict, dim: str, reference: str) -> dict:
    block = next(b for b in report["dimensions"] if b["dimension"] == dim)
    return next(c for c in block["comparisons"] if c["reference"] == reference)


def test_an_oracle_judge_agrees_perfectly(rated) -> None:
    path, oracle = rated
    judge_store(path, lambda reqs: [oracle[(c, a, d.name)] for d, c, a in reqs], {}, "oracle")
    report = calibrate_file(str(path), "oracle", ["ann"], n_boot=50, seed=0)
    for dim in ("factual", "justified"):
        for reference in ("human majority",):  # one reference person: the majority
            r = row(report, dim, reference)
            assert r["n_items"] == N_ITEMS
            for name in ("percent_agreement", "cohen_kappa", "gwet_ac1", "krippendorff_alpha"):
                assert r[name]["statistic"] == pytest.approx(1.0), (dim, reference, name)
            counts = np.array(r["confusion"]["counts"])
            assert counts.sum() == N_ITEMS and counts[0, 1] == counts[1, 0] == 0


def test_a_constant_judge_gets_the_values_prevalence_explains(rated) -> None:
    """A judge that always says "1", against a person whose share of "1" is p on N items:
    agreement p; Cohen's kappa 0 (its chance agreement is p as well); Gwet's AC1
    (p - pe) / (1 - pe) with pe = 2 pi0 pi1, pi1 = (p + 1) / 2 (Gwet 2008, eq. 3 with
    q = 2); Krippendorff's nominal alpha 1 - (2N - 1) D / (n0 n1) with D = N(1 - p)
    disagreeing pairs, n0 = N(1 - p), n1 = N(1 + p) values (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability", sec. B), i.e. 1 - (2N - 1) / (N (1 + p))."""
    path, _ = rated
    judge_store(path, lambda reqs: ["1"] * len(reqs), {}, "yes-man")
    report = calibrate_file(str(path), "yes-man", ["ann"], n_boot=0, seed=0)
    frame = load_ratings(path)
    for dim in ("factual", "justified"):
        ann = frame[(frame.annotator == "ann") & (frame.dimension == dim)]
        p = float((ann.value == "1").mean())
        assert 0 < p < 1
        r = row(report, dim, "human majority")  # = ann, the one reference person
        pe = 2 * (1 + p) / 2 * (1 - p) / 2
        assert r["percent_agreement"]["statistic"] == pytest.approx(p)
        assert r["cohen_kappa"]["statistic"] == pytest.approx(0.0, abs=1e-12)
        assert r["gwet_ac1"]["statistic"] == pytest.approx((p - pe) / (1 - pe))
        expected_alpha = 1 - (2 * N_ITEMS - 1) / (N_ITEMS * (1 + p))
        assert r["krippendorff_alpha"]["statistic"] == pytest.approx(expected_alpha)
        assert r["prevalence"]["other"] == {"0": 0.0, "1": 1.0}
        assert r["prevalence"]["reference"]["1"] == pytest.approx(p)
        block = next(b for b in report["dimensions"] if b["dimension"] == dim)
        assert any("not distinguishable from chance" in n for n in block["notes"])
        assert any("yes-man gave every item the label '1'" in n for n in block["notes"])


def test_judge_against_people_equals_the_agreement_report(rated) -> None:
    """The judge's row against one person is the agreement report of those two raters;
    the people's row is the agreement report of the two people."""
    path, _ = rated
    rng = np.random.default_rng(5)
    judge_store(path, lambda reqs: [str(rng.integers(0, 2)) for _ in reqs], {}, "coin")
    report = calibrate_file(str(path), "coin", None, n_boot=200, seed=3)
    frame = load_ratings(path)
    for pair, reference in (
        (("ann", "coin"), "ann"),
        (("bob", "coin"), "bob"),
        (("ann", "bob"), "ann"),
    ):
        sub = frame[frame.annotator.isin(pair)]
        expected = agreement_report(sub, labels=LABELS, n_boot=200, seed=3)
        for block in expected["dimensions"]:
            got = next(
                c
                for c in next(
                    b for b in report["dimensions"] if b["dimension"] == block["dimension"]
                )["comparisons"]
                if c["reference"] == reference and c["other"] == pair[1]
            )
            for name in ("percent_agreement", "gwet_ac1", "krippendorff_alpha"):
                assert got[name]["statistic"] == pytest.approx(block[name]["statistic"])
                assert got[name]["confidence_interval"] == pytest.approx(
                    block[name]["confidence_interval"]
                )
            kappa = block["cohen_kappa"]["pairs"][0]
            assert got["cohen_kappa"]["statistic"] == pytest.approx(kappa["statistic"])
            assert got["cohen_kappa"]["confidence_interval"] == pytest.approx(
                kappa["confidence_interval"]
            )


def test_the_report_says_when_the_judge_agrees_less_than_people(rated, capsys) -> None:
    path, _ = rated
    rng = np.random.default_rng(1)
    judge_store(path, lambda reqs: [str(rng.integers(0, 2)) for _ in reqs], {"kind": "x"}, "coin")
    code, out, err = cli("annotate", "calibrate", path, "--judge", "coin", "--n-boot", "50",
                         capsys=capsys)  # fmt: skip
    assert code == 0, err
    assert "coin agrees less with people (mean Cohen's kappa" in out
    for text in ("human majority", "ann", "bob", "Confusion", "Estimand"):
        assert text in out
    code, md, _ = cli("annotate", "calibrate", path, "--judge", "coin", "--format", "markdown",
                      "--n-boot", "50", capsys=capsys)  # fmt: skip
    assert code == 0 and "| human majority | coin |" in md and "> factual: coin" in md
    out_file = path.parent / "cal.json"
    code, _, _ = cli("annotate", "calibrate", path, "--judge", "coin", "--format", "json",
                     "--out", out_file, "--n-boot", "50", capsys=capsys)  # fmt: skip
    report = json.loads(out_file.read_text())
    assert code == 0 and report["reference_raters"] == ["ann", "bob"]
    assert report["judge_info"] == {"kind": "x"}
    code, _, err = cli("annotate", "calibrate", path, "--judge", "nobody", capsys=capsys)
    assert code == 2 and "no judgments by 'nobody'" in err and err.count("\n") == 1
    code, _, err = cli("annotate", "calibrate", path, "--judge", "coin", "--out", path,
                       capsys=capsys)  # fmt: skip
    assert code == 2


def test_human_majority_leaves_ties_out() -> None:
    wide = pd.DataFrame(
        {"a": ["1", "0", "1", None], "b": ["1", "1", None, None], "c": ["0", None, None, None]}
    )
    majority = human_majority(wide)
    assert [None if pd.isna(v) else v for v in majority] == ["1", None, "1", None]
    frame = pd.DataFrame(
        [
            {"item_id": i, "system": "s", "annotator": r, "dimension": "factual", "value": v}
            for i, (a, b, j) in enumerate([("1", "0", "1"), ("1", "1", "1"), ("0", "0", "0")])
            for r, v in (("a", a), ("b", b), ("judge", j))
        ]
    )
    report = calibration_report(frame, judge="judge", labels=LABELS, n_boot=0)
    block = report["dimensions"][0]
    assert block["n_ties"] == 1
    assert row(report, "factual", "human majority")["n_items"] == 2


def test_scores_of_a_judge_come_with_its_calibration(rated, capsys) -> None:
    path, _ = rated
    judge_store(path, lambda reqs: ["1"] * len(reqs), {"kind": "x"}, "yes-man")
    code, out, err = cli("annotate", "scores", path, "--raters", "yes-man", capsys=capsys)
    assert code == 0, err
    assert f"Scores: {N_ITEMS} items, {2 * N_ITEMS} ratings, 1 annotator(s)" in out
    assert out.count("100.0% [") == 2  # the judge's own rate of "1", both dimensions
    assert "Scores above that came from the judge yes-man" in out
    assert "gave every item the label '1'" in out
    code, out, _ = cli("annotate", "scores", path, "--raters", "ann", "--json", capsys=capsys)
    report = json.loads(out)
    assert code == 0 and "judge_calibration" not in report and report["n_annotators"] == 1
    code, out, _ = cli("annotate", "scores", path, "--raters", "yes-man", "--json", capsys=capsys)
    calibration = json.loads(out)["judge_calibration"]["yes-man"]
    assert calibration["reference_raters"] == ["ann", "bob"]
    code, _, err = cli("annotate", "scores", path, "--raters", "nobody", capsys=capsys)
    assert code == 2 and "--raters: no judgments by nobody" in err


def test_calibrate_n_boot_default_is_the_libraries_read_without_pandas() -> None:
    """``annotate calibrate --n-boot`` defaults to the one N_BOOT the calibration and the
    coefficient registry use, and its command module reads it without pandas or numpy."""
    code = (
        "import sys\n"
        "import logic_claims.harness.annotate_judge_cli\n"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules\n"
        "from logic_claims.harness.cli import build_parser\n"
        "args = build_parser().parse_args(['annotate', 'calibrate', 'r.sqlite', '--judge', 'j'])\n"
        "print(args.n_boot)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    from logic_claims.annotations.coefficients import Inputs
    from logic_claims.annotations.resampling import N_BOOT

    assert int(out.stdout) == N_BOOT
    assert Inputs(None, ()).n_boot == N_BOOT
    for function in (calibration_report, agreement_report):
        assert inspect.signature(function).parameters["n_boot"].default == N_BOOT
