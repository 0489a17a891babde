"""The fast version of ``benchmarks/type1_error.py``: simulated null data, fixed seeds.

200 simulations per data kind with 199 resamples per test and interval (a few seconds);
docs/statistics.md's table is the full run (2000 simulations, 999 resamples). Bounds from
issue 10: every primary test rejects at most 0.05 + 2 Monte Carlo SE, every 95% interval
covers at least 93%. The same simulation must also show what clustering is for: McNemar on
the claims, ignoring the generic, rejects more often than that bound.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "type1_error.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("type1_error", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules["type1_error"] = module
    spec.loader.exec_module(module)
    return module


def test_primary_tests_hold_their_level_and_intervals_cover():
    bench = load_benchmark()
    rows = bench.run(200, seed=20261128, n_resamples=199)
    by_name = {(r["data"].split(" ")[0], r["name"]): r for r in rows}
    primary = [r for r in rows if "(primary)" in r["name"]]
    intervals = [r for r in rows if r["name"].startswith("cover:")]
    assert len(primary) == 5 and len(intervals) == 5
    for r in primary:
        assert r["rejection_rate"] <= 0.05 + 2 * r["mc_se"], r
        assert r["ok"] is True
    for r in intervals:
        assert r["coverage"] >= 0.93, r
    naive = by_name["clustered", "McNemar mid-p on claims (sensitivity)"]
    assert naive["rejection_rate"] > 0.05 + 2 * naive["mc_se"]
    flat = by_name["raters", "paired permutation, claims as independent (on request)"]
    assert flat["data"].endswith("34 generics x 4")
    assert flat["rejection_rate"] > 0.05 + 2 * flat["mc_se"]
    assert "| sign-flip (primary) |" in bench.table(rows)
