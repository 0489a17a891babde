"""Comparisons: do two systems differ in the rate of the positive label, per dimension?

One estimand, shared with ``annotate scores``: the **mean rater share**, the share of an
item's raters who gave the positive label, averaged over items (claims when paired). Each
pair of systems is compared paired (on the claims both answered) or unpaired, and the report
says which and why. The statistics are those of :mod:`logic_claims.annotations.stats`: the
primary test, a permutation test of the difference in mean rater share, with a bootstrap
interval, Holm-corrected across all comparisons; McNemar's (mid-p by default, exact on
request; paired) or Fisher's (unpaired) test on per-item majority labels is a sensitivity
analysis of another estimand (the majority rate) and labelled so.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import stats
from logic_claims.annotations.frame import (
    UNIT,
    Labels,
    Positive,
    check_positive,
    dimensions_of,
    interval,
    item_metadata,
    jsonable,
    positive_for,
    prepare,
)
from logic_claims.tasks.claims import generic_of
from logic_claims.tasks.errors import InputError

ESTIMAND = "mean rater share"
WHY_PAIRED = (
    "Both systems were judged on the same claims, so each claim is a pair and the tests compare "
    "the two answers to one claim: the primary paired permutation test swaps the systems' "
    "scores within a claim (it uses every rater's judgment); the sensitivity McNemar test uses "
    "the per-claim majority labels and only the claims where the two systems differ."
)
WHY_CLUSTERED = (
    "Both systems were judged on the same claims, so each claim is a pair; claims of one "
    "generic (All, Not all, Some, No ...) are not independent, so the primary test works on "
    "whole generics (the sign of each generic's summed difference, or Durkalski's clustered "
    "McNemar) and the interval resamples generics; the sensitivity McNemar test uses the "
    "per-claim majority labels and only the claims where the two systems differ."
)
PRIMARY_TESTS = ("sign-flip", "clustered-mcnemar", "permutation")
WHY_UNPAIRED = (
    "The systems were judged on different claims, so their items are independent samples: the "
    "primary permutation test reshuffles items between the systems; the sensitivity Fisher "
    "test compares the two systems' counts of majority labels."
)


def _pair_key(meta: pd.DataFrame) -> str | None:
    """The column that pairs two systems' answers to one claim: ``pair_id``, else ``claim``."""
    for column in ("pair_id", "claim"):
        if column in meta.columns and meta[column].notna().any():
            return column
    return None


def _unit_scores(
    df: pd.DataFrame, meta: pd.DataFrame, dimension: str, positive: str, key: str | None
) -> pd.Series:
    """Share of positive ratings per unit: per item, or per (system, key) when pairing.

    Two items of one system with the same claim (a claim asked twice) are pooled into one unit,
    so each claim is one pair.
    """
    sub = df[df["dimension"] == dimension]
    if key is None:
        unit = sub["item_id"]
    else:
        lookup = meta[key].reindex(pd.MultiIndex.from_frame(sub[UNIT]))
        unit = pd.Series(lookup.to_numpy(), index=sub.index, dtype=object)
        unit = unit.where(unit.notna(), "item:" + sub["item_id"])
    frame = pd.DataFrame(
        {
            "system": sub["system"].to_numpy(),
            "unit": unit.to_numpy(),
            "pos": (sub["value"] == positive).to_numpy(),
        }
    )
    return frame.groupby(["system", "unit"])["pos"].mean()


PRIMARY_NAMES = {
    "sign-flip": "sign-flip test of the difference in mean rater share, claims of one "
    "generic as a cluster (paired); permutation test (unpaired)",
    "clustered-mcnemar": "clustered McNemar test (Durkalski 2003) of the difference in mean "
    "rater share, claims of one generic as a cluster (paired); permutation test (unpaired)",
    "permutation": "permutation test of the difference in mean rater share",
}


def _generics(meta: pd.DataFrame, key: str | None) -> dict[Any, str]:
    """Pair key value -> the generic of its claim (the cluster of the paired tests)."""
    if key is None or "claim" not in meta.columns:
        return {}
    known = meta[meta[key].notna() & meta["claim"].notna()]
    return {unit: generic_of(claim) for unit, claim in zip(known[key], known["claim"], strict=True)}


def _systems(systems: Sequence[str], baseline: str | None) -> list[str]:
    """The systems to compare, the baseline first when it was not among them."""
    systems = [str(s).strip() for s in systems if str(s).strip()]
    if len(set(systems)) < 2:
        raise InputError("compare needs at least two different systems (--systems A,B)")
    if baseline is not None and baseline not in systems:
        systems = [baseline, *systems]
    return systems


def _check_rated(systems: Sequence[str], df: pd.DataFrame) -> None:
    present = sorted(set(df["system"]))
    for s in systems:
        if s not in present:
            raise InputError(f"system {s!r} has no ratings; systems present: {', '.join(present)}")


def _pairs(systems: Sequence[str], baseline: str | None) -> list[tuple[str, str]]:
    """Each other system against ``baseline``, else every pair in the order given."""
    if baseline is not None:
        return [(s, baseline) for s in systems if s != baseline]
    return list(itertools.combinations(dict.fromkeys(systems), 2))


@dataclass(frozen=True)
class Pairing:
    """Two systems to compare, and how: ``paired`` on ``key`` (the claims they share)."""

    a: str
    b: str
    key: str | None
    paired: bool
    shared: frozenset = frozenset()


def _pairing(
    a: str, b: str, keys_of: Mapping[str, set], key: str | None, paired: bool | str
) -> Pairing:
    """Whether ``a`` and ``b`` are compared paired: forced, or whenever two or more claims
    were judged for both (the shared claims are pairs, whatever share of the claims they are:
    treating them as independent samples would be wrong; the rest are left out and counted)."""
    shared = keys_of[a] & keys_of[b] if key is not None else set()
    use_paired = len(shared) >= 2 if paired == "auto" else bool(paired)
    if use_paired and not shared:
        raise InputError(
            f"systems {a!r} and {b!r} share no claim"
            + (f" ({key})" if key else " (no claim or pair_id column)")
            + ", so they cannot be compared paired"
        )
    return Pairing(a, b, key, use_paired, frozenset(shared))


def _run_tests(
    sa: pd.Series, sb: pd.Series, pairing: Pairing, **settings: Any
) -> tuple[stats.ComparisonResult, str, str] | None:
    """The comparison of two systems' unit scores, its design and the reason for its tests.

    None when the pairing leaves no claim rated for both.
    """
    a, b, key = pairing.a, pairing.b, pairing.key
    mcnemar = settings.pop("mcnemar", "midp")
    primary = settings.pop("primary_test", "permutation")
    generics: Mapping[Any, str] = settings.pop("generics", {})
    margin = settings.pop("equivalence_margin", None)
    if not pairing.paired:
        res = stats.unpaired_comparison(sa.to_numpy(), sb.to_numpy(), **settings)
        design = f"unpaired: {len(sa)} items of {a}, {len(sb)} items of {b}"
        if key is not None and pairing.shared:
            design += f" ({len(pairing.shared)} shared {key} value: too few to pair)"
        return res, design, WHY_UNPAIRED
    common = sa.index.intersection(sb.index)
    if len(common) == 0:
        return None
    x, y = sa[common].to_numpy(), sb[common].to_numpy()
    design = (
        f"paired on {key}: {len(common)} claims judged for both; "
        f"{len(sa) - len(common)} of {a}'s and {len(sb) - len(common)} of {b}'s "
        "have no partner and are left out"
    )
    if primary == "permutation":
        res = stats.paired_comparison(x, y, mcnemar=mcnemar, **settings)
        if margin is not None:  # each claim its own cluster
            res = _with_equivalence(res, x - y, np.ones(x.size), margin, **settings)
        return res, design, WHY_PAIRED
    clusters = [generics.get(unit, f"claim {unit}") for unit in common]
    res = _clustered(x, y, clusters, primary, mcnemar, equivalence_margin=margin, **settings)
    design += f"; {res.n_clusters} generics"
    return res, design, WHY_CLUSTERED


def _clustered(
    x: Any, y: Any, clusters: list[str], primary: str, mcnemar: str, **settings: Any
) -> stats.ComparisonResult:
    """The paired comparison with claims of one generic as a cluster, as a ComparisonResult
    (its sensitivity test: McNemar on the per-claim majority labels)."""
    res = stats.clustered_paired_comparison(
        x, y, clusters, primary=primary, mcnemar=mcnemar, **settings
    )
    return stats.ComparisonResult(
        statistic=res.statistic,
        pvalue=res.pvalue,
        confidence_interval=res.confidence_interval,
        rate_a=res.rate_a,
        rate_b=res.rate_b,
        n_a=res.n_units,
        n_b=res.n_units,
        paired=True,
        test=res.test,
        interval_method=res.interval_method,
        exact_test=stats.MCNEMAR_TESTS[mcnemar](stats.majority_labels(x), stats.majority_labels(y)),
        n_clusters=res.n_clusters,
        design_effect=res.design_effect,
        min_detectable_difference=res.min_detectable_difference,
        min_attainable_p=res.min_attainable_p,
        primary_statistic=res.primary.statistic,
        equivalence=res.equivalence,
        withheld=res.withheld,
    )


def _with_equivalence(
    res: stats.ComparisonResult, d: Any, n: Any, margin: float, **settings: Any
) -> stats.ComparisonResult:
    """``res`` with the two one-sided sign-flip tests against ``margin`` on sums ``d``."""
    rng = np.random.default_rng(settings.get("seed"))
    test = stats.equivalence_test(d, n, margin, n_resamples=settings["n_resamples"], rng=rng)
    return dataclasses.replace(res, equivalence=test)


def _equivalence_dict(res: stats.ComparisonResult) -> list[dict[str, Any]]:
    """The equivalence test as a test row (role ``equivalence``), when a margin was given."""
    eq = res.equivalence
    if eq is None:
        return []
    margin = eq.details["margin"]
    return [
        {
            "name": f"{eq.test}, margin +-{margin:g}",
            "role": "equivalence",
            "statistic": eq.statistic,
            "pvalue": eq.pvalue,
            "min_attainable_p": eq.details["min_attainable_p"],
            "margin": margin,
            "details": eq.details,
        }
    ]


def _entry(
    res: stats.ComparisonResult, design: str, why: str, a: str, b: str, pos: str
) -> dict[str, Any]:
    """A finished comparison as the report writes it: rates, difference, the two tests."""
    exact = res.exact_test
    unit = "claims" if res.paired else "items"
    clustered = {
        "n_generics": res.n_clusters,
        "design_effect": res.design_effect,
        "min_detectable_difference": res.min_detectable_difference,
    }
    primary = {
        "name": res.test,
        "role": "primary",
        "statistic": res.primary_statistic,
        "pvalue": res.pvalue,
        "min_attainable_p": res.min_attainable_p,
    }
    return {
        **(clustered if res.n_clusters is not None else {}),
        "paired": res.paired,
        "design": design,
        "why": why,
        "n_a": res.n_a,
        "n_b": res.n_b,
        "rate_a": res.rate_a,
        "rate_b": res.rate_b,
        "difference": {
            "estimate": res.statistic,
            "confidence_interval": interval(res.confidence_interval),
            "measure": (
                f"{ESTIMAND} of {pos!r}, {a} minus {b}: the share of raters giving it, "
                f"averaged over {unit}"
            ),
            "method": res.interval_method,
        },
        "min_attainable_p": res.min_attainable_p,
        "withheld": dict(res.withheld),
        "tests": [
            primary,
            {
                "name": exact.test
                + " on per-item majority labels (another estimand: the majority rate)",
                "role": "sensitivity",
                "statistic": exact.statistic,
                "pvalue": exact.pvalue,
                "details": exact.details,
            },
            *_equivalence_dict(res),
        ],
    }


def _compare_dimension(
    df: pd.DataFrame, meta: pd.DataFrame, dim: str, pos: str, pairing: Pairing, **settings: Any
) -> dict[str, Any]:
    """One dimension of one pair of systems: the comparison, or why it was skipped."""
    a, b = pairing.a, pairing.b
    scores = _unit_scores(df, meta, dim, pos, pairing.key if pairing.paired else None)
    per_system = {s: g.droplevel(0) for s, g in scores.groupby(level=0)}
    entry: dict[str, Any] = {"dimension": dim, "system_a": a, "system_b": b}
    if a not in per_system or b not in per_system:
        lacking = a if a not in per_system else b
        return {**entry, "skipped": f"{lacking} has no {dim} ratings"}
    outcome = _run_tests(per_system[a], per_system[b], pairing, **settings)
    if outcome is None:
        return {**entry, "skipped": f"no claim has {dim} ratings for both systems"}
    return {**entry, **_entry(*outcome, a, b, pos)}


def _holm(comparisons: list[dict[str, Any]]) -> int:
    """Add ``pvalue_holm`` to each test, per role across comparisons; the number corrected.

    The primary tests' Holm p-values are the report's answer; the sensitivity tests get
    their own correction, for reading beside them."""
    done = [c for c in comparisons if "tests" in c]
    for role_index in (0, 1):
        adjusted = stats.holm([c["tests"][role_index]["pvalue"] for c in done])
        for c, p in zip(done, adjusted, strict=True):
            c["tests"][role_index]["pvalue_holm"] = p
    return len(done)


def _check_choices(
    paired: bool | str, primary_test: str, mcnemar: str, margin: float | None = None
) -> None:
    """The compare options, each one of its choices (an InputError naming them otherwise)."""
    if margin is not None and not (isinstance(margin, (int, float)) and 0 < margin < 1):
        raise InputError(
            f"equivalence_margin must be a fraction between 0 and 1 (0.05 = 5 points), "
            f"not {margin!r}"
        )
    if paired not in ("auto", True, False):
        raise InputError(f"paired must be 'auto', True or False, not {paired!r}")
    if primary_test not in PRIMARY_TESTS:
        raise InputError(
            f"primary_test must be one of {', '.join(PRIMARY_TESTS)}, not {primary_test!r}"
        )
    if mcnemar not in stats.MCNEMAR_TESTS:
        raise InputError(
            f"mcnemar must be one of {', '.join(stats.MCNEMAR_TESTS)}, not {mcnemar!r}"
        )


def compare_report(
    ratings: pd.DataFrame,
    systems: Sequence[str],
    baseline: str | None = None,
    *,
    positive: Positive = "1",
    paired: bool | str = "auto",
    labels: Labels = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
    mcnemar: str = "midp",
    primary_test: str = "sign-flip",
    equivalence_margin: float | None = None,
) -> dict[str, Any]:
    """Do two or more systems differ in the mean rater share of the positive label?

    Pairs: ``baseline`` vs each other system (difference = other - baseline), else every pair
    in the order given (difference = first - second). ``paired="auto"`` pairs two systems on
    ``pair_id`` (or ``claim``) when two or more claims were judged for both;
    ``True``/``False`` force it. Holm's correction runs over all comparisons (dimensions x
    pairs) for the primary tests, and separately for the sensitivity tests.
    ``mcnemar``: ``"midp"`` (Fagerland et al. 2013) or ``"exact"``. ``primary_test``
    (paired comparisons): ``"sign-flip"`` or ``"clustered-mcnemar"`` with the claims of one
    generic (read off the claim, :func:`tasks.claims.generic_of`) as a cluster, with design
    effect and minimum detectable difference; ``"permutation"`` treats claims as independent.
    Unpaired comparisons use the unpaired permutation test whatever ``primary_test`` says.
    ``equivalence_margin`` (a fraction, default none: not tested): paired comparisons add
    two one-sided sign-flip tests of ``|difference| >= margin`` on the per-generic (or,
    with ``"permutation"``, per-claim) differences, beside the primary test.
    """
    systems = _systems(systems, baseline)
    df = prepare(ratings)
    _check_rated(systems, df)
    _check_choices(paired, primary_test, mcnemar, equivalence_margin)
    meta = item_metadata(df)
    dims = dimensions_of(df)
    check_positive(df, dims, positive, labels)
    key = _pair_key(meta)
    keys_of: dict[str, set] = {}
    if key is not None:
        for s in systems:
            keys_of[s] = set(meta.loc[(meta["system"] == s) & meta[key].notna(), key])
    settings = {"n_resamples": n_resamples, "confidence_level": confidence_level, "seed": seed}
    choices = {"mcnemar": mcnemar, "primary_test": primary_test, "generics": _generics(meta, key)}
    choices["equivalence_margin"] = equivalence_margin
    comparisons = [
        _compare_dimension(
            df, meta, dim, positive_for(positive, dim), pairing, **settings, **choices
        )
        for pairing in (_pairing(a, b, keys_of, key, paired) for a, b in _pairs(systems, baseline))
        for dim in dims
    ]
    n_done = _holm(comparisons)
    return jsonable(
        {
            "report": "compare",
            "systems": systems,
            "baseline": baseline,
            "dimensions": dims,
            "positive": {d: positive_for(positive, d) for d in dims},
            "pair_key": key,
            "estimand": ESTIMAND,
            "primary_test": PRIMARY_NAMES[primary_test],
            "correction": (
                f"Holm (statsmodels multipletests method='holm') across all {n_done} "
                "comparisons (dimensions x system pairs) for the primary tests; the "
                "sensitivity tests are corrected separately"
            ),
            "settings": {
                **settings,
                "paired": paired,
                "mcnemar": mcnemar,
                "primary_test": primary_test,
                "equivalence_margin": equivalence_margin,
            },
            "comparisons": comparisons,
        }
    )
