"""The compare report as Markdown and HTML: :func:`tables`, then one template per format.

``report.json`` (built by :func:`logic_claims.harness.compare.results.build_report`) holds the
numbers; this module only writes them, with the formatters of
:mod:`logic_claims.harness.report.format`. Each table is a :class:`Table` (title, note,
header, rows of strings); ``templates/compare.md`` and ``compare.html`` lay them out.
The human judgments are written by :mod:`logic_claims.harness.report.annotations`, as
``annotate`` writes them.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, NamedTuple

from logic_claims.harness.report import annotations, charts
from logic_claims.harness.report.format import (
    MISSING,
    interval,
    num,
    pct,
    pct_value,
    points,
    pvalue,
    rate_interval,
)
from logic_claims.harness.report.render import render
from logic_claims.tasks.claims import SUMMARY_GROUPS, WORDS

SPLIT_TITLES = {"test": "main (test split)", "contrast": "contrast split"}
SHORT_SPLIT = {"test": "main", "contrast": "contrast"}
QUANTIFIER_TITLES = WORDS
CLAIM_GROUPS = SUMMARY_GROUPS


class Table(NamedTuple):
    """One section of the report: a title, a note (may be empty), a header and rows."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str]]


def _ctw(row: dict[str, Any] | None) -> str:
    """Correct / tie / wrong rates of one group: ``50.0% / 0.0% / 50.0%``."""
    if not row or not row["n"]:
        return MISSING
    return f"{pct(row['correct_rate'])} / {pct(row['tie_rate'])} / {pct(row['wrong_rate'])}"


def _counts(group: dict[str, int]) -> str:
    return f"{group['correct']} / {group['tie']} / {group['wrong']}"


def _systems_table(report: dict[str, Any]) -> Table:
    rows = []
    for name, s in report["systems"].items():
        c = s["config"]
        rows.append(
            [
                name + (" (baseline)" if name == report["baseline"] else ""),
                c["kind"],
                str(c["rule"] if c["kind"] == "rule" else c["model"]),
                c["adapter"] or MISSING,
                ", ".join(c["tasks"]) or "rule: test, contrast",
                str(c["limit"] if c["limit"] is not None else "all"),
                "yes" if c["apply_chat_template"] else "no",
            ]
        )
    header = ["system", "kind", "model / rule", "adapter", "tasks", "limit", "chat template"]
    return Table("Systems", "", header, rows)


def _correctness_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: n, universal/existential c/t/w, overall correct and LL accuracy."""
    level = report["bootstrap"]["confidence_level"]
    note = (
        "Generated answers scored by the study's rule (first sentence, count "
        '"true"/"false"): correct / tie / wrong. Brackets: '
        f"{100 * level:.0f}% cluster-bootstrap interval (generics resampled). "
        'LL acc: log-likelihood accuracy (" True" vs " False", the *_mc tasks).'
    )
    header = ["system", "n", "universal c/t/w", "existential c/t/w", "overall correct", "LL acc"]
    out = []
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in report["systems"].items():
            part = s["splits"].get(split, {})
            gen, mc = part.get("gen"), part.get("mc")
            if not gen and not mc:
                continue
            rows.append(
                [
                    name,
                    str(gen["overall"]["n"]) if gen else MISSING,
                    _ctw(gen["universal"]) if gen else MISSING,
                    _ctw(gen["existential"]) if gen else MISSING,
                    rate_interval(gen["overall"]["correct_rate"], gen["overall"]["correct_ci"])
                    if gen
                    else MISSING,
                    rate_interval(mc["overall"]["acc"], mc["overall"]["acc_ci"]) if mc else MISSING,
                ]
            )
        out.append(Table(f"Correctness, {title}", note, header, rows))
    return out


def _quantifier_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: correct / tie / wrong of every quantifier (splits with answers only)."""
    out = []
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in report["systems"].items():
            gen = s["splits"].get(split, {}).get("gen")
            if gen:
                rows.append([name] + [_ctw(gen[q]) for q in QUANTIFIER_TITLES])
        if rows:
            header = ["system", *QUANTIFIER_TITLES.values()]
            out.append(Table(f"Per quantifier (correct / tie / wrong), {title}", "", header, rows))
    return out


def _mc_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: log-likelihood accuracy per quantifier and per group (with intervals)."""
    out = []
    for split, title in SPLIT_TITLES.items():
        rows = []
        for name, s in report["systems"].items():
            mc = s["splits"].get(split, {}).get("mc")
            if mc:
                rows.append(
                    [name]
                    + [pct(mc[q]["acc"]) for q in QUANTIFIER_TITLES]
                    + [rate_interval(mc[g]["acc"], mc[g]["acc_ci"]) for g in CLAIM_GROUPS]
                )
        if rows:
            header = ["system", *QUANTIFIER_TITLES.values(), *CLAIM_GROUPS]
            out.append(Table(f"Log-likelihood accuracy, {title}", "", header, rows))
    return out


def _family_table(report: dict[str, Any]) -> list[Table]:
    """Per contrast family: each system's correct rate (gen, else LL accuracy), clustered
    by generic (``harness/compare/families.py``)."""
    scores = report.get("families") or {}
    names = sorted({f for per in scores.values() for f in per})
    rows = []
    for system, per in scores.items():
        cells = []
        for family in names:
            cell = per.get(family, {})
            score = cell.get("gen") or cell.get("mc")
            cells.append(rate_interval(score["rate"], score["ci"]) if score else MISSING)
        rows.append([system, *cells])
    note = (
        "Estimand: share of a family's contrast claims (with their paired standard claims) "
        "answered correctly; generate tasks' correct rate where run, else log-likelihood "
        "accuracy; 95% bootstrap intervals resampling generics (clusters)."
    )
    return (
        [Table("Contrast split per construction family", note, ["system", *names], rows)]
        if rows
        else []
    )


PRIMARY_NAMES = {"sign-flip": "sign-flip p", "clustered-mcnemar": "clustered McNemar p"}


def _sensitivity_cell(t: dict[str, Any]) -> str:
    """The sensitivity test's p-value, or – when there is none."""
    tests = [x for x in t.get("tests", []) if x["role"] == "sensitivity"]
    return pvalue(tests[0]["pvalue"]) if tests else MISSING


def significance_table(report: dict[str, Any]) -> Table:
    """Per system vs the baseline: the clustered paired difference and its tests."""
    how = report["statistics"]
    rows = []
    for t in report["significance"]:
        rows.append(
            [
                SHORT_SPLIT[t["split"]],
                "correct" if t["metric"] == "correct" else "LL acc",
                t["system"],
                f"{t['n']} / {t['n_generics']}",
                f"{points(t['difference'])} {interval(t['confidence_interval'], points)}",
                pvalue(t["pvalue"]),
                pvalue(t["pvalue_holm"]),
                num(t["design_effect"], 2),
                pct_value(t["min_detectable_difference"]),
                f"{t['system_only']} / {t['baseline_only']}",
                _sensitivity_cell(t),
            ]
        )
    note = (
        f"Estimand: {how['estimand']}. Difference in points with a "
        f"{100 * report['bootstrap']['confidence_level']:.0f}% cluster-bootstrap interval "
        f"(generics resampled). Primary test ({how['primary_test']}, declared in the config): "
        f"{PRIMARY_NAMES[how['primary_test']]}, Holm-corrected across every row. DE: design "
        "effect (clustered variance / variance were claims independent). MDD: minimum "
        "detectable difference in points at 80% power, two-sided 0.05 (–: no discordant "
        "claim, or not even a difference as large as the discordance). Sensitivity: "
        f"{how['sensitivity']}, on the discordant claims (system only / baseline only); "
        "not corrected, not the test of record."
    )
    header = ["split", "metric", "system", "claims / generics", "difference (pts)"]
    header += [PRIMARY_NAMES[how["primary_test"]], "Holm p", "DE", "MDD (pts)"]
    header += ["discordant", "sensitivity: McNemar p"]
    title = (
        "Paired difference in per-claim correctness, system - baseline "
        f"({report['baseline']}), clustered by generic"
    )
    return Table(title, note, header, rows or [[MISSING] * len(header)])


def _legacy_table(report: dict[str, Any]) -> Table:
    rows = []
    for run in report["legacy"]:
        g, check = run["groups"], run["gold_check"]
        rows.append(
            [
                run["name"],
                Path(run["file"]).name,
                str(run["records"]),
                _counts(g["universal"]),
                _counts(g["existential"]),
                rate_interval(g["overall"]["correct_rate"], g["overall"].get("correct_ci")),
                f"{check['agree']}/{check['checked']} agree",
            ]
        )
    note = (
        "Counts of correct / tie / wrong, scored from the study's output files "
        "exactly as the study did (`logic-claims legacy accuracy`); its test claims "
        "are not ours, so set these beside, not against, the rows above. Brackets: "
        "cluster-bootstrap interval of the correct rate, claims grouped by the generic "
        "read off each claim. Gold check: expected verdict vs the quantifier."
    )
    header = ["run", "file", "n", "universal c/t/w", "existential c/t/w", "overall correct"]
    header += ["gold check"]
    return Table("The study's published runs (Llama-2-7B-chat, prompt tuning)", note, header, rows)


def _annotation_table(ann: dict[str, Any]) -> Table:
    rows = []
    for row in ann["overall"]["rows"]:
        dims = row["dimensions"]
        cells = [
            rate_interval(dims[d]["rate"], dims[d]["confidence_interval"])
            + f" (n={dims[d]['n_items']})"
            if d in dims
            else MISSING
            for d in ("factual", "justified")
        ]
        rows.append([str(row["group"].get("system")), *cells])
    note = (
        f"From {ann['file']} via logic_claims.annotations.reports (Wilson intervals); "
        "per quantifier and tests below."
    )
    estimand = ann["overall"].get("estimand", "rate")
    header = ["system", f"factual: {estimand}", f"justified: {estimand}"]
    return Table("Human judgments: factuality and justification", note, header, rows)


def tables(report: dict[str, Any]) -> list[Table]:
    """Every table of the report, in order (the CLI prints the three after the systems table)."""
    out = [_systems_table(report), *_correctness_tables(report), *_quantifier_tables(report)]
    out += [*_mc_tables(report), *_family_table(report), significance_table(report)]
    if report["legacy"]:
        out.append(_legacy_table(report))
    if report["annotations"].get("status") == "ok":
        out.append(_annotation_table(report["annotations"]))
    return out


def _annotation_sections(report: dict[str, Any], write: Any) -> dict[str, str]:
    """The human-judgment scores and tests, written by ``write`` ("" where there are none)."""
    ann = report["annotations"]
    if ann.get("status") != "ok":
        return {"scores": "", "compare": ""}
    tests = ann.get("compare")
    return {"scores": write(ann["scores"]), "compare": write(tests) if tests else ""}


def chart_png(report: dict[str, Any]) -> bytes:
    """``chart.png``: correct rate per system for universal, existential and all claims."""
    return charts.comparison_chart_png(report, SPLIT_TITLES, CLAIM_GROUPS)


def render_markdown(report: dict[str, Any]) -> str:
    """``report.md``: the tables, the human judgments, notes and the chart's link."""
    sections = _annotation_sections(report, lambda r: annotations.render_markdown(r, level=3))
    return render("compare.md", report=report, tables=tables(report), annotation_md=sections)


def render_html(report: dict[str, Any], png: bytes) -> str:
    """``report.html``: one self-contained page, the chart inlined as a data URI."""
    chart = base64.b64encode(png).decode("ascii")
    text = _annotation_sections(report, annotations.render_text)
    return render(
        "compare.html", report=report, tables=tables(report), chart=chart, annotation_text=text
    )
