"""The prediction-powered columns (``annotate scores|compare --judge``) as column specs.

The estimates are computed in ``annotations/ppi_scores.py`` as JSON-ready dicts; here
each table is its rows and a list of :class:`~logic_claims.harness.report.table.Column`
(header and cell once each), every number written by ``harness/report/format.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logic_claims.harness.report import format as fmt
from logic_claims.harness.report.table import Column, Table

Row = Mapping[str, Any]


def _ci(values: list[float] | None, how: Any = fmt.pct_value) -> str:
    if not values or values[0] is None:
        return f"[{fmt.MISSING}]"
    return fmt.interval({"low": values[0], "high": values[1]}, how)


def _rate(estimate: str, interval: str) -> Any:
    return lambda r: f"{fmt.pct(r[estimate])} {_ci(r[interval])}"


def _counts(r: Row) -> str:
    text = f"{r['n_labeled']} + {r['n_unlabeled']}"
    missing = [f"{r[k]} {what}" for k, what in (("judge_missing", "not rated by the judge"),
               ("people_missing", "sampled, not yet judged")) if r.get(k)]  # fmt: skip
    return text + (f" ({'; '.join(missing)})" if missing else "")


PPI_COLUMNS = [
    Column("dimension", lambda r: r["dimension"]),
    Column("people alone", _rate("people_estimate", "people_interval")),
    Column("PPI", _rate("estimate", "confidence_interval")),
    Column("lambda", lambda r: fmt.num(r["lambda"], 2)),
    Column("effective n", lambda r: f"{r['effective_n']:.0f} (people: {r['n_labeled']})"),
    Column("items people + judge only", _counts),
]


def ppi_scores_table(report: Row, level: str = "95%") -> Table:
    """People alone and PPI per group and dimension (one row per group and dimension)."""
    by = report["by"]
    rows = [
        {"group": row["group"], "dimension": dim, **cell}
        for row in report["rows"]
        for dim, cell in row["dimensions"].items()
    ]
    columns = [Column(b, lambda r, b=b: str(r["group"][b])) for b in by] + PPI_COLUMNS
    method = rows[0]["method"] if rows else ""
    note = (
        f"Judge {report['judge']}; estimand: {report['estimand']}; {level} intervals. "
        f"People alone: people's random sample only. PPI: {method}. Effective n: the items "
        "people alone would need for the PPI interval. " + report["note"]
    ).strip()
    return Table("Prediction-powered scores (people's sample + judge)", note, columns, rows)


DIFF_COLUMNS = [
    Column("dimension", lambda r: r["dimension"]),
    Column("systems", lambda r: f"{r['a']} - {r['b']}"),
    Column(
        "people alone (pts)",
        lambda r: f"{fmt.points(r['people_estimate'])} {_ci(r['people_interval'], fmt.points)}",
    ),
    Column(
        "PPI (pts)",
        lambda r: f"{fmt.points(r['estimate'])} {_ci(r['confidence_interval'], fmt.points)}",
    ),
    Column("lambda", lambda r: fmt.num(r["lambda"], 2)),
    Column("p (Holm)", lambda r: f"{fmt.pvalue(r['pvalue'])} ({fmt.pvalue(r['pvalue_holm'])})"),
    Column("claims", lambda r: f"{r['n_labeled']} + {r['n_unlabeled']}"),
]


def ppi_differences_table(rows: list[Row]) -> Table:
    note = (
        "Paired difference in mean rater share per claim, by PPI on the per-claim "
        "difference (people's and the judge's), claims of one generic a cluster; t test "
        "of 0, Holm-adjusted across these rows. Claims: people-judged + judge only."
    )
    return Table("Prediction-powered differences between systems", note, DIFF_COLUMNS, rows)
