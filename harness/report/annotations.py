"""The annotation reports (scores, agreement, compare) as text, Markdown and an HTML page.

The reports are computed in ``annotations/scores.py``, ``agreement.py`` and
``comparison.py`` (one import: :mod:`logic_claims.annotations.reports`) as JSON-ready dicts; this
module only presents them. The layout and the prose are the templates
``templates/annotations.txt``, ``annotations.md`` and ``annotations.html`` (styled by
``annotations.css``); what needs a loop or a choice per cell is built here as table rows,
every number written by :mod:`~logic_claims.harness.report.format`.

Example (``render_markdown`` and ``render_html`` take the same dict)::

    from logic_claims.annotations.reports import scores_report
    print(render_text(scores_report(ratings, by=["system"])))
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from logic_claims.annotations.coefficients import COEFFICIENTS as REGISTRY
from logic_claims.annotations.coefficients import MANY_RATERS
from logic_claims.annotations.stats.clustered import POWER_TEXT
from logic_claims.harness.report import charts
from logic_claims.harness.report import format as fmt
from logic_claims.harness.report.render import render
from logic_claims.harness.report.table import Column, Table

Report = Mapping[str, Any]

TITLES = {
    "scores": "Explanation scores",
    "agreement": "Inter-rater agreement",
    "compare": "Comparison of systems",
}
COEFFICIENTS = tuple((name, REGISTRY[name].title) for name in MANY_RATERS)
KAPPA = REGISTRY["cohen_kappa"].title


def _kind(report: Report) -> str:
    kind = report.get("report")
    if kind not in TITLES:
        raise ValueError(f"not a report: {kind!r}")
    return kind


# -- tables ----------------------------------------------------------------------------------


def _dimension_cell(d: str) -> Callable[[Mapping[str, Any]], str]:
    """A group's rate and interval of dimension ``d`` (and its n, ties where they differ)."""

    def cell(row: Mapping[str, Any]) -> str:
        c = row["dimensions"][d]
        text = fmt.rate_interval(c["rate"], c["confidence_interval"])
        if c["n_items"] != row["n_items"]:
            text += f" n={c['n_items']}"
        if c["ties"]:
            text += f" ties={c['ties']}"
        return text

    return cell


def scores_table(report: Report) -> Table:
    """One row per group: its items, then each dimension's rate and interval (and n, ties)."""
    estimand = report.get("estimand", "rate")
    columns = [Column(b, lambda row, b=b: str(row["group"][b])) for b in report["by"]]
    columns.append(Column("items", lambda row: str(row["n_items"])))
    columns += [
        Column(f"{d} ({report['positive'][d]}): {estimand}", _dimension_cell(d))
        for d in report["dimensions"]
    ]
    return Table("", "", columns, report["rows"])


def prevalence(block: Mapping[str, Any], separator: str = " ") -> str:
    """Each label's share of the ratings: ``'0' 11.6%, '1' 88.4%``."""
    return ", ".join(f"{lab!r}{separator}{fmt.pct(p)}" for lab, p in block["prevalence"].items())


@dataclass(frozen=True)
class CoefficientRow:
    """One row of an agreement table: a coefficient's title, its result (``statistic``,
    ``confidence_interval``, ``pvalue``: what it has of them) and how it was computed."""

    title: str
    result: Mapping[str, Any]
    how: str = ""


def _ci(r: CoefficientRow) -> str:
    """The interval, or nothing for a row that has none (a mean of pairs)."""
    return (
        fmt.interval(r.result["confidence_interval"]) if "confidence_interval" in r.result else ""
    )


def _registry_rows(block: Mapping[str, Any]) -> list[CoefficientRow]:
    return [
        CoefficientRow(title, block[name], block[name]["method"]) for name, title in COEFFICIENTS
    ]


# Rows: :class:`CoefficientRow`. The text report's table (one test column, no method) ...
AGREEMENT_COLUMNS = [
    Column("statistic", lambda r: r.title),
    Column("value", lambda r: fmt.num(r.result["statistic"])),
    Column("95% CI", _ci),
    Column(
        "test", lambda r: "" if r.result.get("pvalue") is None else fmt.p_equals(r.result["pvalue"])
    ),
]
# ... and the HTML and Markdown reports' (p-value and how it was computed).
COEFFICIENT_COLUMNS = [
    *AGREEMENT_COLUMNS[:3],
    Column("p", lambda r: fmt.pvalue(r.result["pvalue"])),
    Column("how", lambda r: r.how),
]


def agreement_table(block: Mapping[str, Any]) -> Table:
    """The coefficients of one dimension for the text report: value, interval, test."""
    mean = {"statistic": block["cohen_kappa"]["mean"]}
    rows = [*_registry_rows(block), CoefficientRow(f"{KAPPA}, mean of pairs", mean)]
    return Table("", "", AGREEMENT_COLUMNS, rows)


def coefficient_table(block: Mapping[str, Any]) -> Table:
    """For HTML and Markdown: each coefficient and each pair's Cohen's kappa, with its p-value
    and how it was computed."""
    pairs = [
        CoefficientRow(
            f"{KAPPA} {p['raters'][0]} / {p['raters'][1]}", p, f"{p['n_items']} shared items"
        )
        for p in block["cohen_kappa"]["pairs"]
    ]
    return Table("", "", COEFFICIENT_COLUMNS, [*_registry_rows(block), *pairs])


def _p_holm(test: Mapping[str, Any]) -> str:
    return f"{fmt.pvalue(test['pvalue'])} (Holm {fmt.pvalue(test['pvalue_holm'])})"


def clustering(c: Mapping[str, Any]) -> str:
    """Design effect and minimum detectable difference of a clustered comparison ("" if none)."""
    if c.get("n_generics") is None:
        return ""
    return (
        f"design effect {fmt.num(c['design_effect'], 2)}, minimum detectable difference "
        f"{fmt.pct_value(c['min_detectable_difference'])} pts ({POWER_TEXT})"
    )


def _tested(
    cell: Callable[[Mapping[str, Any]], str],
    skipped: Callable[[Mapping[str, Any]], str] = lambda c: "",
) -> Callable[[Mapping[str, Any]], str]:
    """A cell of a comparison that was run, or ``skipped(c)`` for one that was not."""
    return lambda c: skipped(c) if "skipped" in c else cell(c)


def _difference(c: Mapping[str, Any]) -> str:
    d = c["difference"]
    return f"{fmt.points(d['estimate'])} pts {fmt.interval(d['confidence_interval'], fmt.points)}"


# Rows: the compare report's ``comparisons``.
COMPARE_COLUMNS = [
    Column("dimension", lambda c: c["dimension"]),
    Column("systems", lambda c: f"{c['system_a']} vs {c['system_b']}"),
    Column(
        "mean rater share",
        _tested(lambda c: f"{fmt.pct(c['rate_a'])} vs {fmt.pct(c['rate_b'])}", lambda c: "skipped"),
    ),
    Column("difference (pts)", _tested(_difference, lambda c: c["skipped"])),
    Column("primary: permutation p", _tested(lambda c: _p_holm(c["tests"][0]))),
    Column("sensitivity: majority-label test p", _tested(lambda c: _p_holm(c["tests"][1]))),
    Column("design", _tested(lambda c: "; ".join(filter(None, [c["design"], clustering(c)])))),
]


def compare_table(report: Report) -> Table:
    """One row per comparison: rates, difference with interval, both tests' p (Holm)."""
    return Table("", "", COMPARE_COLUMNS, report["comparisons"])


# -- plots -----------------------------------------------------------------------------------


def _scores_plot(report: Report) -> tuple[bytes | None, str]:
    labels, values, cis = [], [], []
    for row in report["rows"]:
        group = " / ".join(str(v) for v in row["group"].values()) or "all items"
        for d in report["dimensions"]:
            cell = row["dimensions"][d]
            labels.append(f"{group} · {d}")
            values.append(cell["rate"])
            cis.append(cell["confidence_interval"])
    png = charts.interval_plot_png(labels, values, cis, "rate (Wilson 95% CI)", (-0.01, 1.01))
    return png, "Rate of the positive label per group, with Wilson 95% intervals."


def _agreement_plot(report: Report) -> tuple[bytes | None, str]:
    labels, values, cis = [], [], []
    for block in report["dimensions"]:
        for name, title in COEFFICIENTS:
            labels.append(f"{block['dimension']} · {title}")
            values.append(block[name]["statistic"])
            cis.append(block[name]["confidence_interval"])
    lows = [ci["low"] for ci in cis if ci and ci.get("low") is not None]
    lows += [v for v in values if v is not None]
    xlim = (min([-0.2, *lows]) - 0.05, 1.02)
    png = charts.interval_plot_png(labels, values, cis, "coefficient (95% CI)", xlim, 0.0)
    return png, "Agreement coefficients per dimension with 95% intervals (alpha: bootstrap)."


def _compare_plot(report: Report) -> tuple[bytes | None, str]:
    labels, values, cis = [], [], []
    for c in report["comparisons"]:
        if "difference" in c:
            labels.append(f"{c['dimension']} · {c['system_a']} − {c['system_b']}")
            values.append(c["difference"]["estimate"])
            cis.append(c["difference"]["confidence_interval"])
    png = charts.interval_plot_png(labels, values, cis, "difference in rate (95% CI)", None, 0.0)
    return png, (
        "Difference in rate between systems with bootstrap 95% intervals; dashed line: no "
        "difference."
    )


PLOTS = {"scores": _scores_plot, "agreement": _agreement_plot, "compare": _compare_plot}


def figure(report: Report) -> dict[str, str | None]:
    """The report's plot as base64 PNG (None when nothing can be drawn) and its caption."""
    png, caption = PLOTS[_kind(report)](report)
    return {"png": base64.b64encode(png).decode("ascii") if png else None, "caption": caption}


# -- pages -----------------------------------------------------------------------------------


def _context(report: Report) -> dict[str, Any]:
    kind = _kind(report)
    context: dict[str, Any] = {"report": report, "kind": kind, "title": TITLES[kind]}
    if kind == "scores":
        context["table"] = scores_table(report)
    elif kind == "compare":
        context["table"] = compare_table(report)
        context["whys"] = list(dict.fromkeys(c["why"] for c in report["comparisons"] if "why" in c))
    context.update(prevalence=prevalence, clustering=clustering)
    context.update(agreement_table=agreement_table, coefficient_table=coefficient_table)
    return context


def render_text(report: Report) -> str:
    """Plain-text rendering of any of the three reports."""
    return render("annotations.txt", **_context(report)).rstrip() + "\n"


def render_markdown(report: Report, level: int = 1) -> str:
    """GitHub-flavoured Markdown, headings from ``level`` down (2 to nest it in a page)."""
    return render("annotations.md", heading="#" * level, **_context(report)).rstrip() + "\n"


def render_html(report: Report) -> str:
    """A self-contained HTML page: tables, notes and an embedded PNG plot (no external files).

    All text from the report (system and rater names, labels, notes) is escaped.
    """
    return render("annotations.html", figure=figure(report), **_context(report))
