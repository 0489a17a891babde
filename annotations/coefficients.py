"""The agreement coefficients, once: name, function, title and definition of each.

``annotate agreement`` (:mod:`logic_claims.annotations.agreement`), ``annotate calibrate``
(:mod:`logic_claims.annotations.calibration`) and the reports
(:mod:`logic_claims.harness.report.annotations`, :mod:`logic_claims.harness.report.calibration`)
read this table; a new coefficient is one entry in :data:`COEFFICIENTS`.

A coefficient's function takes :class:`Inputs`: a counts table (items x categories) for the
coefficients of many raters, and the two aligned label sequences for Cohen's kappa, which
is defined on a pair of raters only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logic_claims.annotations import stats
from logic_claims.annotations.resampling import N_BOOT


@dataclass(frozen=True)
class Inputs:
    """What a coefficient is computed from, and how."""

    table: Any
    categories: Sequence[str]
    pair: tuple[Sequence[str], Sequence[str]] | None = None
    n_boot: int = N_BOOT
    seed: int | None = 0
    confidence_level: float = 0.95


@dataclass(frozen=True)
class Coefficient:
    """One agreement coefficient: its key in the reports' JSON, the function computing it,
    its title in tables and its definition (the agreement report's ``definitions``).
    ``rate``: the statistic is a share (written as a percentage), not a coefficient."""

    name: str
    compute: Callable[[Inputs], stats.AgreementResult]
    title: str
    definition: str
    rate: bool = False


def _cohen(x: Inputs) -> stats.AgreementResult:
    if x.pair is None:
        raise ValueError("Cohen's kappa is defined on a pair of raters' aligned labels")
    a, b = x.pair
    return stats.cohen_kappa(
        list(a), list(b), categories=list(x.categories), confidence_level=x.confidence_level
    )


_ALL = (
    Coefficient(
        "percent_agreement",
        lambda x: stats.percent_agreement(x.table, confidence_level=x.confidence_level),
        "percent agreement",
        "share of agreeing rater pairs per item, averaged over items rated twice or "
        "more; linearised interval (Gwet 2014, ch. 5)",
        rate=True,
    ),
    Coefficient(
        "krippendorff_alpha",
        lambda x: stats.krippendorff_alpha(
            x.table, n_boot=x.n_boot, confidence_level=x.confidence_level, seed=x.seed
        ),
        "Krippendorff's alpha",
        "nominal alpha, krippendorff package; percentile bootstrap over items",
    ),
    Coefficient(
        "fleiss_kappa",
        lambda x: stats.fleiss_kappa(x.table, confidence_level=x.confidence_level),
        "Fleiss' kappa",
        "Fleiss (1971); items with fewer raters handled as in Gwet (2014, ch. 2); "
        "linearised t interval",
    ),
    Coefficient(
        "gwet_ac1",
        lambda x: stats.gwet_ac1(x.table, confidence_level=x.confidence_level),
        "Gwet's AC1",
        "Gwet (2008) AC1; missing ratings as in Gwet (2014); t interval",
    ),
    Coefficient(
        "cohen_kappa",
        _cohen,
        "Cohen's kappa",
        "per pair of raters over the items both rated; statsmodels cohens_kappa, asymptotic SE",
    ),
)
COEFFICIENTS: dict[str, Coefficient] = {c.name: c for c in _ALL}

# Which coefficients each report computes, in its order.
MANY_RATERS = ("percent_agreement", "krippendorff_alpha", "fleiss_kappa", "gwet_ac1")
"""``annotate agreement``, per dimension over every rater (Cohen's kappa per pair beside)."""
TWO_RATERS = ("percent_agreement", "cohen_kappa", "gwet_ac1", "krippendorff_alpha")
"""``annotate calibrate``, per pair of raters (the judge and the majority, a person, ...)."""

DEFINITIONS = {name: c.definition for name, c in COEFFICIENTS.items()}


def compute(names: Sequence[str], inputs: Inputs) -> dict[str, stats.AgreementResult]:
    """The coefficients ``names`` of ``inputs``, in that order."""
    return {name: COEFFICIENTS[name].compute(inputs) for name in names}
