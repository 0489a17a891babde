"""``benchmarks/ppi_study.py --quick --json`` as a user runs it: the study's 1,350 judged
items as the truth, a control judge, the rows issue 21 names and its bounds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ppi_study_quick_json_rows_within_bounds():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/ppi_study.py"), "--quick", "--json",
         "--judges", "noisy-0.9"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["dimension"], r["n"]) for r in rows] == [
        (d, n) for d in ("factual", "justified") for n in (50, 100, 200, 400)
    ]
    for r in rows:
        assert {
            "judge",
            "dimension",
            "n",
            "draws",
            "coverage",
            "width_ratio",
            "lambda_mean",
        } <= set(r)
        assert r["judge"] == "noisy-0.9" and r["draws"] >= 200
        assert r["coverage"] >= 0.95 - 3 * (0.95 * 0.05 / r["draws"]) ** 0.5, r
        assert r["width_ratio"] <= 1 + 3 * r["width_ratio_mc_se"], r
        assert 0 < r["lambda_mean"] <= 1
    factual = [r for r in rows if r["dimension"] == "factual"]
    assert all(r["width_ratio"] < 0.9 for r in factual)  # a 90% judge pays on the study


def test_ppi_study_refuses_unknown_judge():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/ppi_study.py"), "--judges", "oracle"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "invalid choice: 'oracle'" in out.stderr
