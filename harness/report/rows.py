"""Typed result rows: what an analysis returns, ``report.json`` holds and a table shows.

An analysis builds these rows; the report's JSON is :meth:`to_json` of the same objects
(field order is key order), and the renderers read them back with :meth:`from_json`, so a
number has one name from the analysis to the template, and a new column is one
:class:`~logic_claims.harness.report.table.Column` over a field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Significance:
    """One system against the baseline on one split and metric: the clustered paired
    difference in per-claim correctness (0/1 per claim) and its tests."""

    split: str  # "test" or "contrast"
    metric: str  # "correct" (generated answers) or "acc" (log-likelihood)
    system: str
    baseline: str
    n: int  # claims both answered
    n_generics: int  # their generics (clusters)
    system_only: int | None  # discordant claims: right for the system only
    baseline_only: int | None  # right for the baseline only
    system_rate: float
    baseline_rate: float
    difference: float  # system - baseline
    confidence_interval: dict[str, Any]
    interval_method: str
    primary_test: str
    statistic: float | None
    pvalue: float | None
    design_effect: float | None
    discordance: float
    min_detectable_difference: float | None
    tests: list[dict[str, Any]]  # {name, role: primary | sensitivity, statistic, pvalue}
    pvalue_holm: float | None = None  # across every row of the report

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Significance:
        return cls(**data)
