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
``clustered claims, few generics`` (issue 20)
    the first kind with 3, 4, 6 and 10 generics: below 6 the intervals are withheld by rule
    (``stats.interval_rule``), from 6 the kept ones must cover.
``power``
    the first kind with system A's logit moved (a known true difference, computed by
    quadrature): each primary test must reject at least 80% of the time, and the intervals
    must cover the true difference and A's true rate.
``scores``
    ``annotate scores`` on rated claims in generics of four: the clustered Wilson interval
    of the mean rater share, beside Wilson on claims as independent trials (shown).
``equivalence``
    two one-sided sign-flip tests: at the margin (true difference = margin) at most 5%
    rejections; with no difference and a margin of 0.2, at least 80%.

For each test the rejection rate at 0.05 with its own Monte Carlo SE beside the SE at the
nominal rate, ``sqrt(0.05 * 0.95 / sims)``, which the bound uses; for each 95% interval
the share of simulations whose interval covers the true value (among those that gave one).
Primary tests must reject at most ``0.05 + 2 SE`` (power rows: at least 80%), intervals
cover at least 93%; the other tests are shown for what they are (McNemar on claims and the
unclustered permutation test ignore clustering; McNemar on majorities tests another
estimand). JSON rows: ``data``, ``name``, ``sims``, ``rejection_rate`` or ``coverage``,
``mc_se``, ``own_se``, ``bound``, ``ok`` (and ``withheld`` for intervals).

    python benchmarks/type1_error.py                  # docs/statistics.md's table (2000 sims)
    python benchmarks/type1_error.py --sims 300 --json
    python benchmarks/type1_error.py --kinds power: scores:
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


def _clustered_claims(
    rng: np.random.Generator, generics: int = 50, shift: float = 0.0
) -> tuple[Any, ...]:
    shared = rng.normal(size=generics)
    logit_a = np.repeat(shared + rng.normal(size=generics) + shift, 4)
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


def _covers(ci: Any, value: float) -> float:
    """1 or 0: whether ``ci`` covers ``value``; nan where the interval was withheld."""
    if math.isnan(ci.low):
        return math.nan
    return float(ci.low <= value <= ci.high)


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


def true_rate(shift: float) -> float:
    """``E[sigmoid(N(shift, 2))]``: a system's true rate in the clustered-claims model
    (logit ``u_g + v_sg + shift``, both standard normal), by 80-point Gauss-Hermite."""
    x, w = np.polynomial.hermite.hermgauss(80)
    return float(np.sum(w / (1 + np.exp(-(shift + 2 * x)))) / math.sqrt(math.pi))


def claims_at(generics: int, shift: float = 0.0) -> Callable[..., dict[str, float]]:
    """Clustered claims of ``generics`` generics, system A's logit moved by ``shift``: the
    primary tests' p-values, and whether each interval (when not withheld: nan) covers the
    true difference and A's true rate."""
    rate_a = true_rate(shift)
    difference = rate_a - 0.5

    def simulate(rng: np.random.Generator, n_resamples: int) -> dict[str, float]:
        a, b, g = _clustered_claims(rng, generics, shift)
        seed = int(rng.integers(2**31))
        flip = stats.clustered_paired_comparison(a, b, g, n_resamples=n_resamples, seed=seed)
        durkalski = stats.clustered_mcnemar(stats.cluster_sums(a, b, g)[0])
        rate = stats.cluster_interval(
            a, g, n_resamples=n_resamples, confidence_level=0.95,
            rng=np.random.default_rng(seed), rate=True,
        )  # fmt: skip
        return {
            "sign-flip (primary)": flip.pvalue,
            "clustered McNemar (primary)": durkalski.pvalue,
            "cover: difference, clustered interval": _covers(flip.confidence_interval, difference),
            "cover: rate, clustered interval": _covers(rate.confidence_interval, rate_a),
        }

    return simulate


def scores_at(generics: int, raters: tuple[int, int]) -> Callable[..., dict[str, float]]:
    """``annotate scores`` on rated claims in generics of four (quality ``q ~ U(0.3, 0.9)``
    per generic, each rater 1 w.p. ``q``, ``raters`` = (fewest, most) raters per claim):
    does the clustered Wilson interval cover the true mean rater share 0.6, and the plain
    one (one trial per item, generics ignored)?"""

    def simulate(rng: np.random.Generator, n_resamples: int) -> dict[str, float]:
        g = np.repeat(np.arange(generics), 4)
        q = rng.uniform(0.3, 0.9, size=generics)
        n = rng.integers(raters[0], raters[1] + 1, size=g.size)
        share = rng.binomial(n, q[g]) / n
        clustered = stats.clustered_wilson(share, g)
        plain = stats.wilson_interval(share.sum(), share.size)
        return {
            "cover: rate, clustered Wilson": _covers(clustered.confidence_interval, 0.6),
            "coverage shown: rate, Wilson one trial per item": _covers(
                plain.confidence_interval, 0.6
            ),
        }

    return simulate


def equivalence_at(generics: int, shift: float, margin: float) -> Callable[..., dict[str, float]]:
    """Two one-sided sign-flip tests (``annotate compare --equivalence-margin``) on
    clustered claims, A's logit moved by ``shift``: at the margin (the true difference
    equal to it) they must reject at most 5%; with no difference, often (power)."""

    def simulate(rng: np.random.Generator, n_resamples: int) -> dict[str, float]:
        a, b, g = _clustered_claims(rng, generics, shift)
        d, n = stats.cluster_sums(a, b, g)
        test = stats.equivalence_test(
            d, n, margin, n_resamples=n_resamples, rng=np.random.default_rng(rng.integers(2**31))
        )
        return {"TOST sign-flip, equivalence (primary)": test.pvalue}

    return simulate


POWER_FLOOR = 0.8  # a primary test must reject a known true difference this often
POWER_SHIFTS = {50: 1.2, 10: 4.0}  # A's logit shift per number of generics (power rows)

KINDS: dict[str, Callable[[np.random.Generator, int], dict[str, float]]] = {
    "clustered claims (50 generics x 4)": simulate_claims,
    "raters 1-5, 60 items": simulate_raters,
    "raters 1-5, 34 generics x 4": simulate_clustered_raters,
}
KINDS |= {f"clustered claims ({k} generics x 4)": claims_at(k) for k in (3, 4, 6, 10)}
KINDS |= {
    f"power: {k} generics x 4, difference {true_rate(s) - 0.5:+.3f}": claims_at(k, s)
    for k, s in POWER_SHIFTS.items()
}
KINDS |= {
    f"scores: {k} generics x 4, raters {lo}-{hi}": scores_at(k, (lo, hi))
    for k, lo, hi in ((3, 1, 1), (6, 1, 5), (34, 1, 5), (34, 1, 1), (100, 1, 1))
}
KINDS |= {
    f"equivalence: 50 generics x 4, difference {true_rate(1.2) - 0.5:+.3f} at the margin": (
        equivalence_at(50, 1.2, true_rate(1.2) - 0.5)
    ),
    "power: equivalence, 50 generics x 4, no difference, margin 0.2": equivalence_at(50, 0, 0.2),
}


def _row(kind: str, name: str, values: np.ndarray, sims: int) -> dict[str, Any]:
    """One test (rejection rate) or interval (coverage) over ``sims`` simulations.

    ``mc_se``: for a rejection row the SE at the nominal rate, ``sqrt(0.05 * 0.95 / sims)``,
    which the bound uses; ``own_se`` is each row's own Monte Carlo SE. Coverage counts the
    simulations that gave an interval (``withheld``: the share that did not); a kind whose
    intervals are all withheld keeps its rule and passes with coverage None.
    """
    row: dict[str, Any] = {"data": kind, "name": name, "sims": sims}
    if name.startswith("cover"):
        kept = values[~np.isnan(values)]
        cover = float(kept.mean()) if kept.size else None
        se = math.sqrt(cover * (1 - cover) / kept.size) if kept.size else None
        row |= {"coverage": cover, "mc_se": se, "own_se": se}
        row["withheld"] = 1 - kept.size / sims
        if not name.startswith("cover:"):
            return row | {"ok": None, "bound": "(shown)"}
        ok = cover is None or cover >= COVERAGE_FLOOR
        return row | {"ok": ok, "bound": f">= {COVERAGE_FLOOR}"}
    rate = float(np.mean(values <= ALPHA))
    nominal = math.sqrt(ALPHA * (1 - ALPHA) / sims)
    row |= {"rejection_rate": rate, "mc_se": nominal}
    row["own_se"] = math.sqrt(rate * (1 - rate) / sims)
    if "(primary)" not in name:
        return row | {"ok": None, "bound": "(not primary)"}
    if kind.startswith("power:"):
        return row | {"ok": rate >= POWER_FLOOR, "bound": f">= {POWER_FLOOR} (power)"}
    ok = rate <= ALPHA + 2 * nominal
    return row | {"ok": ok, "bound": f"<= {ALPHA} + 2 x {nominal:.4f} (SE at 0.05)"}


def run(
    sims: int,
    seed: int = 20261128,
    n_resamples: int = N_RESAMPLES,
    kinds: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Every kind (or those whose name starts with one of ``kinds``) ``sims`` times: one
    row per test (rejection rate) or interval (coverage). Seeds are per kind (its place in
    :data:`KINDS`: new kinds go last), so a subset gives the same rows as the whole run."""
    rows = []
    for index, (kind, simulate) in enumerate(KINDS.items()):
        if kinds and not any(kind.startswith(k) for k in kinds):
            continue
        rng = np.random.default_rng([seed, index])
        draws = [simulate(rng, n_resamples) for _ in range(sims)]
        for name in draws[0]:
            values = np.array([d[name] for d in draws], dtype=float)
            rows.append(_row(kind, name, values, sims))
    return rows


def _value(r: dict[str, Any]) -> str:
    value = r.get("rejection_rate", r.get("coverage", r.get("width_ratio")))
    if value is None:
        return "withheld (too few generics)"
    withheld = r.get("withheld") or 0
    return f"{value:.3f}" + (f" ({withheld:.0%} withheld)" if withheld else "")


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table: each row's value with its own Monte Carlo SE, and the
    bound it must keep (rejection rows: 0.05 plus two SEs at the nominal rate)."""
    lines = [
        "| data | test or interval | rejection at 0.05 / coverage | its MC SE | bound "
        "| within bound |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = {True: "yes", False: "NO", None: "–"}[r["ok"]]
        own = r.get("own_se", r["mc_se"])
        se = "–" if own is None else f"{own:.3f}"
        bound = r.get("bound", "–")
        lines.append(f"| {r['data']} | {r['name']} | {_value(r)} | {se} | {bound} | {ok} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sims", type=int, default=2000, help="simulations per data kind")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--resamples", type=int, default=N_RESAMPLES, help="per test/interval")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--kinds", nargs="+", metavar="PREFIX",
        help="only the data kinds whose name starts with one of these (e.g. power: scores:)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.sims < 1 or args.resamples < 99:
        parser.error("--sims must be at least 1 and --resamples at least 99")
    rows = run(args.sims, args.seed, args.resamples, args.kinds)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
