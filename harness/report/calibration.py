"""The calibration report of ``annotate calibrate`` (and its short form beside ``annotate
scores --raters``) as text and Markdown.

:func:`logic_claims.annotations.calibration.calibration_report` computes it; this module
writes it with the templates ``calibration.txt``, ``calibration.md`` and
``calibration_beside.txt``. Each table is a list of :class:`~.table.Column`; the
coefficients' columns come from the one registry,
:data:`logic_claims.annotations.coefficients.COEFFICIENTS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logic_claims.annotations.calibration import RaterPair
from logic_claims.annotations.coefficients import COEFFICIENTS, TWO_RATERS
from logic_claims.harness.report import format as fmt
from logic_claims.harness.report.render import render
from logic_claims.harness.report.table import Column

Report = Mapping[str, Any]
HEADERS = {"percent_agreement": "agreement"}  # the column's header where not the title


def _shares(prevalence: Mapping[str, float | None]) -> str:
    return ", ".join(f"{label}: {fmt.pct(share)}" for label, share in prevalence.items())


def _coefficient_cell(name: str) -> Any:
    """A comparison's coefficient ``name`` and its interval: ``0.412 [0.21, 0.63]``, or a
    rate as ``81.2% [62.0, 100.0]``."""

    def cell(c: RaterPair) -> str:
        res = c.coefficients[name]
        if COEFFICIENTS[name].rate:
            return fmt.rate_interval(res["statistic"], res["confidence_interval"])
        return f"{fmt.num(res['statistic'])} {fmt.interval(res['confidence_interval'])}"

    return cell


# Rows: one comparison of two raters (:class:`RaterPair`).
AGREEMENT_COLUMNS = [
    Column("items", lambda c: str(c.n_items)),
    *(Column(HEADERS.get(n, COEFFICIENTS[n].title), _coefficient_cell(n)) for n in TWO_RATERS),
]
COLUMNS = [
    Column("reference", lambda c: c.reference),
    Column("rater", lambda c: c.other),
    *AGREEMENT_COLUMNS,
    Column("reference's labels", lambda c: _shares(c.prevalence["reference"])),
    Column("rater's labels", lambda c: _shares(c.prevalence["other"])),
]
# Rows: (dimension, the judge's comparison with the human majority).
BESIDE_COLUMNS = [
    Column("dimension", lambda r: r[0]),
    *(Column(col.header, lambda r, col=col: col.cell(r[1])) for col in AGREEMENT_COLUMNS),
]


def _header(columns: list[Column]) -> list[str]:
    return [c.header for c in columns]


def _rows(columns: list[Column], items: list[Any]) -> list[list[str]]:
    return [[c.cell(item) for c in columns] for item in items]


def _confusion(c: RaterPair) -> dict[str, Any]:
    labels = c.confusion["labels"]
    return {
        "title": f"{c.reference} (rows) vs {c.other} (columns)",
        "header": ["", *labels],
        "rows": [
            [label, *map(str, counts)]
            for label, counts in zip(labels, c.confusion["counts"], strict=True)
        ],
    }


def _pairs(block: Mapping[str, Any]) -> list[RaterPair]:
    return [RaterPair.from_json(c) for c in block["comparisons"]]


def _intro(report: Report) -> str:
    info = report.get("judge_info") or {}
    judge = report["judge"]
    described = (
        f"{judge} is {info.get('model')}"
        + (f" + {info['peft']}" if info.get("peft") else "")
        + f" ({info.get('backend')}, {info.get('method')}, prompt {info.get('prompt_version')})"
        if info
        else f"{judge} (no judge settings recorded)"
    )
    level = round(100 * report["confidence_level"])
    return (
        f"Estimand: {report['estimand']}. {described}; reference raters: "
        f"{', '.join(report['reference_raters'])}. Intervals ({level}%): kappa asymptotic, "
        "agreement and AC1 Gwet's linearised, alpha percentile bootstrap over items. "
        "Confusion tables: the reference's labels in rows, the rater's in columns."
    )


def context(report: Report) -> dict[str, Any]:
    """What the calibration templates show: per dimension the comparison rows, the
    judge's confusion tables and the notes."""
    dims = [
        {
            "dimension": block["dimension"],
            "rows": _rows(COLUMNS, _pairs(block)),
            "confusions": [_confusion(c) for c in _pairs(block) if c.kind != "human-human"],
            "n_ties": block["n_ties"],
            "notes": block["notes"],
        }
        for block in report["dimensions"]
    ]
    return {"r": report, "intro": _intro(report), "dims": dims, "header": _header(COLUMNS)}


def render_report(report: Report, markdown: bool = False) -> str:
    """The calibration report as text, or Markdown."""
    return render(f"calibration.{'md' if markdown else 'txt'}", **context(report))


def render_beside_scores(ratings_path: str, calibrations: Mapping[str, Report]) -> str:
    """The short text of each judge's agreement with the human majority."""
    parts = []
    for judge, report in calibrations.items():
        if "no_calibration" in report:
            parts.append(f"calibration of {judge}: {report['no_calibration']}.\n")
            continue
        majority = [(b["dimension"], _pairs(b)[0]) for b in report["dimensions"]]
        parts.append(
            render(
                "calibration_beside.txt",
                judge=judge,
                ratings=ratings_path,
                reference=f"the majority of {', '.join(report['reference_raters'])}",
                estimand=report["estimand"],
                header=_header(BESIDE_COLUMNS),
                rows=_rows(BESIDE_COLUMNS, majority),
                notes=[note for block in report["dimensions"] for note in block["notes"]],
            )
        )
    return "".join(parts)
