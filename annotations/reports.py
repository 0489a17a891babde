"""Three reports over human judgments: scores, agreement, comparisons between systems.

Input: a pandas DataFrame with one row per judgment (``item_id``, ``system``, ``annotator``,
``dimension``, ``value`` and optional item metadata; the contract is in
:mod:`~logic_claims.annotations.frame`), as ``ratings.load_ratings`` returns it.

- :func:`scores_report` (``scores.py``) - rate of the positive label per group, Wilson
  intervals.
- :func:`agreement_report` (``agreement.py``) - per dimension: percent agreement,
  Krippendorff's alpha (bootstrap interval), Fleiss' kappa, pairwise Cohen's kappa, Gwet's
  AC1, label prevalence.
- :func:`compare_report` (``comparison.py``) - per dimension and pair of systems: difference
  in rate with an interval, permutation test, McNemar (paired) or Fisher (unpaired), Holm
  correction.

Each returns a plain dict (``json.dumps``-able: no numpy types, NaN as ``None``). Turning
one into text or an HTML page is the report layer's job:
``logic_claims.harness.report.annotations.render_text`` / ``render_html``.
"""

from __future__ import annotations

from logic_claims.annotations.agreement import (
    EXTREME_PREVALENCE,
    agreement_report,
    prevalence_note,
)
from logic_claims.annotations.comparison import WHY_PAIRED, WHY_UNPAIRED, compare_report
from logic_claims.annotations.frame import (
    BINARY_LABELS,
    DEFAULT_DIMENSIONS,
    REQUIRED_COLUMNS,
    UNIT,
    Labels,
    dimensions_of,
    item_metadata,
    item_scores,
    labels_of,
    prepare,
)
from logic_claims.annotations.scores import COMBINE_NOTES, scores_report

__all__ = [
    "BINARY_LABELS",
    "COMBINE_NOTES",
    "DEFAULT_DIMENSIONS",
    "EXTREME_PREVALENCE",
    "REQUIRED_COLUMNS",
    "UNIT",
    "WHY_PAIRED",
    "WHY_UNPAIRED",
    "Labels",
    "agreement_report",
    "compare_report",
    "dimensions_of",
    "item_metadata",
    "item_scores",
    "labels_of",
    "prepare",
    "prevalence_note",
    "scores_report",
]
