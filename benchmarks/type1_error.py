"""Type I error and coverage of the tests and intervals the reports use, by simulation.

Null data of the kinds this harness sees, each with fixed seeds:

``clustered claims``
    ``logic-claims compare``: two systems answer the same claims, four per generic. A
    system answers a claim right with probability ``sigmoid(u_g + v_sg)``: ``u_g ~ N(0, 1)``
    is the generic's difficulty, shared by both systems, ``v_sg ~ N(0, 1)`` whether this
    system knows this generic (a model that knows a generic gets its claims right). Both
    systems have the same distribution: true difference 0, true rate 0.5 (by symmetry).
``raters, paired``
    ``annotate compare`` on claims judged for both systems: 1-5 raters per item (ties
    happen with even counts); system A's items all have a positive share of 0.6, system
    B's are 1 with probability 0.6 and 0 otherwise. Equal mean rater shares (the
    estimand), unequal score distributions and unequal majorities.
``raters, unpaired``
    the same two systems judged on different items (independent samples of equal size).
``raters, clustered``
    ``annotate compare``'s default: 34 generics of four claims (the study's 68 shared claims
    come from 34 generics), 1-5 raters per item; per system and generic a quality
    ``q ~ U(0.3, 0.9)`` (mean 0.6): A's raters each say 1 with probability ``q``, B's all
    agree (1 with probability ``q``). Equal mean rater shares; the claims of one generic
    move together.

For each test the rejection rate at 0.05 with its Monte Carlo standard error
``sqrt(0.05 * 0.95 / sims)``; for each 95% interval the share of simulations whose interval
covers the true value. Primary tests must reject at most ``0.05 + 2 SE``, intervals
cover at least 93%; the other tests are shown for what they are (McNemar on claims and the
unclustered permutation test ignore clustering; McNemar on majorities tests another
estimand).

    python benchmarks/type1_error.py                  # docs/statistics.md's table (2000 sims)
    python benchmarks/type1_error.py --sims 300 --json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from logic_claims.annotations import stats

ALPHA = 0.05
N_RESAMPLES = 999  # per permutation test and bootstrap (--resamples)
COVERAGE_FLOOR = 0.93


def _clustered_claims(rng: np.random.Generator, generics: int = 50) -> tuple[Any, ...]:
    shared = rng.normal(size=generics)
    logit_a = np.repeat(shared + rng.normal(size=generics), 4)
    logit_b = np.repeat(shared + rng.normal(size=generics), 4)
    a = (rng.random(logit_a.size) < 1 / (1 + np.exp(-logit_a))).astype(int)
    b = (rng.random(logit_b.size) < 1 / (1 + np.exp(-logit_b))).astype(int)
    return a, b, np.repeat(np.arange(generics), 4)


def _rater_shares(rng: np.random.Generator, items: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item: A's share of positive ratings (each rater 1 w.p. 0.6), B's (all raters
    agree: 1 w.p. 0.6); 1-5 raters per item."""
    raters = rng.integers(1, 6, size=items)
    a = rng.binomial(raters, 0.6) / raters
    b = (rng.random(items) < 0.6).astype(float)
    return a, b


def _majority(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0.5, 1, np.where(x < 0.5, 0, -1))


def _covers(ci: Any, value: float) -> bool:
    return bool(ci.low <= value <= ci.high)


def simulate_claims(rng: np.random.Generator, n_resamples: int) -> dict[str, float]:
    """One null data set of clustered claims: each test's p-value, each interval's cover."""
    a, b, g = _clustered_claims(rng)
    seed = int(rng.integers(2**31))
    flip = stats.clustered_paired_comparison(a, b, g, n_resamples=n_resamples, seed=seed)
    durkalski = stats.clustered_mcnemar(stats.cluster_sums(a, b, g)[0])
    rate = stats.cluster_interval(
        a, g, n_resamples=n_resamples, confidence_level=0.95, rng=np.random.default_rng(seed)
    )
    return {
        "sign-flip (primary)": flip.pvalue,
        "clustered McNemar (primary)": durkalski.pvalue,
        "McNemar mid-p on claims (sensitivity)": stats.mcnemar_midp(a, b).pvalue,
        "McNemar exact on claims (sensitivity)": stats.mcnemar_exact(a, b).pvalue,
        "cover: difference, cluster bootstrap": _covers(flip.confidence_interval, 0.0),
        "cover: rate, cluster bootstrap": _covers(rate.confidence_interval, 0.5),
    }


def simulate_raters(
    rng: np.random.Generator, n_resamples: int, items: int = 60
) -> dict[str, float]:
    """One null data set of rated items, paired and unpaired."""
    a, b = _rater_shares(rng, items)
    _, d = _rater_shares(rng, items)
    seed = int(rng.integers(2**31))
    paired = stats.paired_comparison(a, b, n_resamples=n_resamples, seed=seed)
    unpaired = stats.unpaired_comparison(a, d, n_resamples=n_resamples, seed=seed)
    return {
        "paired permutation, mean share (primary)": paired.pvalue,
        "unpaired permutation, mean share (primary)": unpaired.pvalue,
        "McNemar mid-p on majorities (sensitivity)": stats.mcnemar_midp(
            _majority(a), _majority(b)
        ).pvalue,
        "Fisher on majorities (sensitivity)": unpaired.exact_test.pvalue,
        "cover: paired difference, BCa bootstrap": _covers(paired.confidence_interval, 0.0),
        "cover: unpaired difference, BCa bootstrap": _covers(unpaired.confidence_interval, 0.0),
    }


def simulate_clustered_raters(rng: np.random.Generator, n_resamples: int) -> dict[str, float]:
    """One null data set of rated claims in generics of four."""
    generics = 34  # as the study's 68 claims judged for both models
    g = np.repeat(np.arange(generics), 4)
    q_a, q_b = rng.uniform(0.3, 0.9, size=(2, generics))
    raters = rng.integers(1, 6, size=g.size)
    a = rng.binomial(raters, q_a[g]) / raters
    b = (rng.random(g.size) < q_b[g]).astype(float)
    seed = int(rng.integers(2**31))
    flip = stats.clustered_paired_comparison(a, b, g, n_resamples=n_resamples, seed=seed)
    flat = stats.paired_comparison(a, b, n_resamples=n_resamples, seed=seed)
    return {
        "sign-flip by generic, mean share (primary)": flip.pvalue,
        "paired permutation, claims as independent (on request)": flat.pvalue,
        "cover: difference, cluster bootstrap": _covers(flip.confidence_interval, 0.0),
    }


KINDS: dict[str, Callable[[np.random.Generator, int], dict[str, float]]] = {
    "clustered claims (50 generics x 4)": simulate_claims,
    "raters 1-5, 60 items": simulate_raters,
    "raters 1-5, 34 generics x 4": simulate_clustered_raters,
}


def run(sims: int, seed: int = 20261128, n_resamples: int = N_RESAMPLES) -> list[dict[str, Any]]:
    """Every kind ``sims`` times: one row per test (rejection rate) or interval (coverage)."""
    se = math.sqrt(ALPHA * (1 - ALPHA) / sims)
    rows = []
    for index, (kind, simulate) in enumerate(KINDS.items()):
        rng = np.random.default_rng([seed, index])
        draws = [simulate(rng, n_resamples) for _ in range(sims)]
        for name in draws[0]:
            values = np.array([d[name] for d in draws], dtype=float)
            row: dict[str, Any] = {"data": kind, "name": name, "sims": sims}
            if name.startswith("cover:"):
                cover = float(values.mean())
                row |= {"coverage": cover, "mc_se": math.sqrt(cover * (1 - cover) / sims)}
                row["ok"] = cover >= COVERAGE_FLOOR
            else:
                rate = float(np.mean(values <= ALPHA))
                row |= {"rejection_rate": rate, "mc_se": se}
                row["ok"] = rate <= ALPHA + 2 * se if "(primary)" in name else None
            rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [
        "| data | test or interval | rejection at 0.05 / coverage | MC SE | within bound |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        value = r.get("rejection_rate", r.get("coverage"))
        ok = {True: "yes", False: "NO", None: "(not primary)"}[r["ok"]]
        lines.append(f"| {r['data']} | {r['name']} | {value:.3f} | {r['mc_se']:.3f} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=2000, help="simulations per data kind")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--resamples", type=int, default=N_RESAMPLES, help="per test/interval")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.sims < 1 or args.resamples < 99:
        parser.error("--sims must be at least 1 and --resamples at least 99")
    rows = run(args.sims, args.seed, args.resamples)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
