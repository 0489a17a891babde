"""Result objects shared by every statistic: read like ``scipy.stats`` results.

Each carries ``statistic``, ``pvalue`` (``nan`` where no test is meaningful) and, where
there is one, ``confidence_interval`` as a ``ConfidenceInterval(low, high)`` namedtuple.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class ConfidenceInterval(NamedTuple):
    """``(low, high)``, as ``scipy.stats`` results' ``confidence_interval``."""

    low: float
    high: float


NAN_INTERVAL = ConfidenceInterval(math.nan, math.nan)


def interval_json(ci: ConfidenceInterval, withheld: str | None = None) -> dict[str, Any]:
    """``{"low", "high"}`` for a report (None where undefined), with ``"withheld"``: the
    reason, when there is no interval by rule (too few generics)."""
    low, high = (float(v) if math.isfinite(v) else None for v in ci)
    return {"low": low, "high": high} | ({"withheld": withheld} if withheld else {})


@dataclass(frozen=True)
class ProportionResult:
    """A rate ``k / n`` with its confidence interval."""

    statistic: float
    k: float
    n: int
    confidence_interval: ConfidenceInterval
    method: str = "wilson"
    pvalue: float = math.nan


@dataclass(frozen=True)
class AgreementResult:
    """An agreement coefficient: ``statistic = (pa - pe) / (1 - pe)``.

    ``pvalue`` tests ``H0: coefficient = 0`` (nan where not computed); ``n_items`` counts the
    items with at least one rating (items with a single rating still inform chance agreement for
    AC1 and Fleiss, as in Gwet 2014); ``n_pairable`` counts items with two or more ratings.
    """

    statistic: float
    confidence_interval: ConfidenceInterval
    pvalue: float
    standard_error: float
    observed_agreement: float
    chance_agreement: float
    n_items: int
    n_pairable: int
    method: str
    n_raters: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test."""

    statistic: float
    pvalue: float
    test: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComparisonResult:
    """Difference in rate between two systems, ``statistic = rate_a - rate_b``.

    ``pvalue`` is the permutation test's, the primary test of the estimand (the mean over
    units of the share of raters giving the positive label); ``exact_test`` is a sensitivity
    analysis on per-item majority labels (McNemar mid-p or exact when paired, Fisher's exact
    test when not): it tests the majority rate, another estimand.
    """

    statistic: float
    pvalue: float
    confidence_interval: ConfidenceInterval
    rate_a: float
    rate_b: float
    n_a: int
    n_b: int
    paired: bool
    test: str
    interval_method: str
    exact_test: TestResult
    n_clusters: int | None = None  # set when claims of one generic were clustered
    design_effect: float = math.nan
    min_detectable_difference: float = math.nan
    min_attainable_p: float = math.nan  # the smallest p the primary test can give here
    primary_statistic: float = math.nan  # the primary test's own statistic
    equivalence: TestResult | None = None  # two one-sided tests, when a margin was declared
    withheld: dict[str, str] = field(default_factory=dict)  # field -> why it is nan


@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap confidence interval and how it was obtained.

    ``method`` names the interval actually used (``"BCa bootstrap (2000 resamples)"``,
    ``"percentile bootstrap (...)"`` or ``"degenerate (all resamples equal)"``);
    ``withheld``: why there is no interval (``confidence_interval`` is then ``NAN_INTERVAL``).
    """

    confidence_interval: ConfidenceInterval
    method: str
    withheld: str | None = None


@dataclass(frozen=True)
class ClusteredComparison:
    """A paired difference over units in clusters, ``statistic = mean(a - b)`` over units.

    ``pvalue`` and ``test`` are the primary test's (also in ``primary``);
    ``sensitivity`` holds tests that ignore the clustering, to be reported as such.
    ``design_effect``: clustered variance / variance under independence;
    ``min_detectable_difference``: at 80% power, two-sided 0.05 (nan: none up to the
    observed ``discordance``, the mean absolute per-unit difference).
    ``min_attainable_p``: the smallest p-value the primary test can give with these
    generics; ``equivalence``: the two one-sided tests against a declared margin, if any;
    ``withheld``: field name -> why it is undefined (nan) here, for the reports' ``–``.
    """

    statistic: float
    pvalue: float
    confidence_interval: ConfidenceInterval
    test: str
    interval_method: str
    rate_a: float
    rate_b: float
    n_units: int
    n_clusters: int
    design_effect: float
    discordance: float
    min_detectable_difference: float
    primary: TestResult
    sensitivity: tuple[TestResult, ...] = ()
    min_attainable_p: float = math.nan
    equivalence: TestResult | None = None
    withheld: dict[str, str] = field(default_factory=dict)
