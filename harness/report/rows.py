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


@dataclass
class GenScores:
    """One claim group's generated answers scored by the study's rule: n, each outcome's
    count and rate (the outcomes of :data:`logic_claims.tasks.scoring.OUTCOMES`) and the
    correct rate's interval."""

    n: int
    correct: int
    correct_rate: float | None
    tie: int
    tie_rate: float | None
    wrong: int
    wrong_rate: float | None
    correct_ci: dict[str, float] | None

    def rate(self, outcome: str) -> float | None:
        """The rate of ``outcome`` (``correct``, ``tie`` or ``wrong``)."""
        return getattr(self, f"{outcome}_rate")


@dataclass
class McScores:
    """One claim group's log-likelihood answers: n, accuracy and its interval."""

    n: int
    acc: float | None
    acc_ci: dict[str, float] | None


@dataclass
class SplitResult:
    """A system's results on one split, per claim group (quantifiers, universal,
    existential, overall); None for a kind of task it did not run there."""

    gen: dict[str, GenScores] | None
    mc: dict[str, McScores] | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SplitResult:
        gen, mc = data["gen"], data["mc"]
        return cls(
            gen=None if gen is None else {g: GenScores(**row) for g, row in gen.items()},
            mc=None if mc is None else {g: McScores(**row) for g, row in mc.items()},
        )


@dataclass
class SystemResult:
    """One system of a compare run: its settings (``System.describe()``) and its results per
    split. ``report.json`` keys it by ``name``: ``{"config": ..., "splits": ...}``."""

    name: str
    config: dict[str, Any]
    splits: dict[str, SplitResult]

    def to_json(self) -> dict[str, Any]:
        splits = {split: part.to_json() for split, part in self.splits.items()}
        return {"config": self.config, "splits": splits}

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> SystemResult:
        splits = {split: SplitResult.from_json(part) for split, part in data["splits"].items()}
        return cls(name, data["config"], splits)
