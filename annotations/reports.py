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
  in mean rater share with an interval, the primary permutation test with Holm correction,
  McNemar mid-p (paired) or Fisher (unpaired) on majority labels as sensitivity analyses.

Each returns a plain dict (``json.dumps``-able: no numpy types, NaN as ``None``). Turning
one into text or an HTML page is the report layer's job:
``logic_claims.harness.report.annotations.render_text`` / ``render_html``.
"""

from __future__ import annotations

from logic_claims.annotations.agreement import agreement_report
from logic_claims.annotations.comparison import compare_report
from logic_claims.annotations.scores import scores_report

__all__ = ["agreement_report", "compare_report", "scores_report"]
