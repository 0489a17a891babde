"""The compare report as Markdown and HTML: :func:`tables`, then one template per format.

``report.json`` (built by :func:`logic_claims.harness.compare.results.build_report`) holds the
numbers; this module only writes them, with the formatters of
:mod:`logic_claims.harness.report.format`. Each table is a
:class:`~logic_claims.harness.report.table.Table`: a title, a note, a list of columns
(header, cell) and its rows (the significance table's are typed
:class:`~logic_claims.harness.report.rows.Significance` rows); a new column is one
``Column`` line. ``templates/compare.md`` and ``compare.html`` lay them out.
The human judgments are written by :mod:`logic_claims.harness.report.annotations`, as
``annotate`` writes them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logic_claims.annotations.stats.clustered import POWER_NOTE
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
from logic_claims.harness.report.rows import (
    GenScores,
    McScores,
    Significance,
    SplitResult,
    SystemResult,
)
from logic_claims.harness.report.table import Column, Table
from logic_claims.tasks.claims import SUMMARY_GROUPS, WORDS
from logic_claims.tasks.scoring import OUTCOMES

SPLIT_TITLES = {"test": "main (test split)", "contrast": "contrast split"}
SHORT_SPLIT = {"test": "main", "contrast": "contrast"}
QUANTIFIER_TITLES = WORDS
CLAIM_GROUPS = SUMMARY_GROUPS


def _ctw(row: GenScores | None) -> str:
    """Correct / tie / wrong rates of one group: ``50.0% / 0.0% / 50.0%``."""
    if not row or not row.n:
        return MISSING
    return " / ".join(pct(row.rate(outcome)) for outcome in OUTCOMES)


def _counts(group: dict[str, int]) -> str:
    return " / ".join(str(group[outcome]) for outcome in OUTCOMES)


def system_results(report: dict[str, Any]) -> list[SystemResult]:
    """The systems of ``report.json``, as typed rows."""
    return [SystemResult.from_json(name, data) for name, data in report["systems"].items()]


def _system_name(report: dict[str, Any]) -> Callable[[SystemResult], str]:
    return lambda r: r.name + (" (baseline)" if r.name == report["baseline"] else "")


# Rows: :class:`SystemResult`.
SYSTEM_COLUMNS = [
    Column("kind", lambda r: r.config["kind"]),
    Column("model / rule", lambda r: str(r.config[_model_key(r.config)])),
    Column("adapter", lambda r: r.config["adapter"] or MISSING),
    Column("tasks", lambda r: ", ".join(r.config["tasks"]) or "rule: test, contrast"),
    Column("limit", lambda r: _limit(r.config["limit"])),
    Column("chat template", lambda r: "yes" if r.config["apply_chat_template"] else "no"),
]


def _model_key(config: dict[str, Any]) -> str:
    return "rule" if config["kind"] == "rule" else "model"


def _limit(limit: int | None) -> str:
    return str(limit if limit is not None else "all")


def _systems_table(report: dict[str, Any]) -> Table:
    columns = [Column("system", _system_name(report)), *SYSTEM_COLUMNS]
    return Table("Systems", "", columns, system_results(report))


@dataclass(frozen=True)
class SplitRow:
    """A row of a per-split table: one system's results on that split."""

    system: str
    part: SplitResult


def _gen(scores: dict[str, GenScores] | None, cell: Callable[[dict[str, GenScores]], str]) -> str:
    """A cell of a split's generated answers, or – when it ran none there."""
    return cell(scores) if scores else MISSING


def _mc(scores: dict[str, McScores] | None, cell: Callable[[McScores], str]) -> str:
    """A cell of a split's overall log-likelihood accuracy, or – when it ran none there."""
    return cell(scores["overall"]) if scores else MISSING


CORRECTNESS_COLUMNS = [
    Column("system", lambda r: r.system),
    Column("n", lambda r: _gen(r.part.gen, lambda g: str(g["overall"].n))),
    Column("universal c/t/w", lambda r: _gen(r.part.gen, lambda g: _ctw(g["universal"]))),
    Column("existential c/t/w", lambda r: _gen(r.part.gen, lambda g: _ctw(g["existential"]))),
    Column(
        "overall correct",
        lambda r: _gen(
            r.part.gen,
            lambda g: rate_interval(g["overall"].correct_rate, g["overall"].correct_ci),
        ),
    ),
    Column("LL acc", lambda r: _mc(r.part.mc, lambda m: rate_interval(m.acc, m.acc_ci))),
]


def _split_rows(report: dict[str, Any], split: str, *kinds: str) -> list[SplitRow]:
    """The systems that ran any of ``kinds`` (``gen``, ``mc``) on ``split``, with their
    results there."""
    rows = []
    for system in system_results(report):
        part = system.splits.get(split)
        if part and any(getattr(part, kind) for kind in kinds):
            rows.append(SplitRow(system.name, part))
    return rows


def _correctness_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: n, universal/existential c/t/w, overall correct and LL accuracy."""
    note = (
        "Generated answers scored by the study's rule (first sentence, count "
        '"true"/"false"): correct / tie / wrong. Brackets: '
        f"{_level(report)} cluster-bootstrap interval (generics resampled). "
        'LL acc: log-likelihood accuracy (" True" vs " False", the *_mc tasks).'
    )
    return [
        Table(
            f"Correctness, {title}",
            note,
            CORRECTNESS_COLUMNS,
            _split_rows(report, split, "gen", "mc"),
        )
        for split, title in SPLIT_TITLES.items()
    ]


def _quantifier_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: correct / tie / wrong of every quantifier (splits with answers only)."""
    columns = [Column("system", lambda r: r.system)]
    columns += [
        Column(word, lambda r, q=q: _ctw(r.part.gen[q])) for q, word in QUANTIFIER_TITLES.items()
    ]
    out = []
    for split, title in SPLIT_TITLES.items():
        rows = _split_rows(report, split, "gen")
        if rows:
            out.append(Table(f"Per quantifier (correct / tie / wrong), {title}", "", columns, rows))
    return out


def _mc_tables(report: dict[str, Any]) -> list[Table]:
    """Per split: log-likelihood accuracy per quantifier and per group (with intervals)."""
    columns = [Column("system", lambda r: r.system)]
    columns += [
        Column(word, lambda r, q=q: pct(r.part.mc[q].acc)) for q, word in QUANTIFIER_TITLES.items()
    ]
    columns += [
        Column(g, lambda r, g=g: rate_interval(r.part.mc[g].acc, r.part.mc[g].acc_ci))
        for g in CLAIM_GROUPS
    ]
    out = []
    for split, title in SPLIT_TITLES.items():
        rows = _split_rows(report, split, "mc")
        if rows:
            out.append(Table(f"Log-likelihood accuracy, {title}", "", columns, rows))
    return out


def _family_cell(per: dict[str, Any], family: str) -> str:
    cell = per.get(family, {})
    score = cell.get("gen") or cell.get("mc")
    return rate_interval(score["rate"], score["ci"]) if score else MISSING


def _family_table(report: dict[str, Any]) -> list[Table]:
    """Per contrast family: each system's correct rate (gen, else LL accuracy), clustered
    by generic (``harness/compare/families.py``)."""
    scores = report.get("families") or {}
    names = sorted({f for per in scores.values() for f in per})
    columns = [Column("system", lambda r: r[0])]
    columns += [Column(f, lambda r, f=f: _family_cell(r[1], f)) for f in names]
    note = (
        "Estimand: share of a family's contrast claims (with their paired standard claims) "
        "answered correctly; generate tasks' correct rate where run, else log-likelihood "
        f"accuracy; {_level(report)} bootstrap intervals resampling generics (clusters)."
    )
    rows = list(scores.items())
    return [Table("Contrast split per construction family", note, columns, rows)] if rows else []


PRIMARY_NAMES = {"sign-flip": "sign-flip p", "clustered-mcnemar": "clustered McNemar p"}


def _level(report: dict[str, Any]) -> str:
    """The run's confidence level as the notes write it: ``95%``."""
    return f"{100 * report['bootstrap']['confidence_level']:.0f}%"


def _sensitivity_cell(t: Significance) -> str:
    """The sensitivity test's p-value, or – when there is none."""
    tests = [x for x in t.tests if x["role"] == "sensitivity"]
    return pvalue(tests[0]["pvalue"]) if tests else MISSING


def significance_columns(primary_test: str) -> list[Column]:
    """The columns of the significance table (rows: :class:`Significance`)."""
    return [
        Column("split", lambda t: SHORT_SPLIT[t.split]),
        Column("metric", lambda t: "correct" if t.metric == "correct" else "LL acc"),
        Column("system", lambda t: t.system),
        Column("claims / generics", lambda t: f"{t.n} / {t.n_generics}"),
        Column(
            "difference (pts)",
            lambda t: f"{points(t.difference)} {interval(t.confidence_interval, points)}",
        ),
        Column(PRIMARY_NAMES[primary_test], lambda t: pvalue(t.pvalue)),
        Column("Holm p", lambda t: pvalue(t.pvalue_holm)),
        Column("DE", lambda t: num(t.design_effect, 2)),
        Column("MDD (pts)", lambda t: pct_value(t.min_detectable_difference)),
        Column("discordant", lambda t: f"{t.system_only} / {t.baseline_only}"),
        Column("sensitivity: McNemar p", _sensitivity_cell),
    ]


def significance_table(report: dict[str, Any]) -> Table:
    """Per system vs the baseline: the clustered paired difference and its tests."""
    how = report["statistics"]
    note = (
        f"Estimand: {how['estimand']}. Difference in points with a "
        f"{_level(report)} cluster-bootstrap interval "
        f"(generics resampled). Primary test ({how['primary_test']}, declared in the config): "
        f"{PRIMARY_NAMES[how['primary_test']]}, Holm-corrected across every row. DE: design "
        "effect (clustered variance / variance were claims independent). MDD: minimum "
        f"detectable difference in points at {POWER_NOTE} (–: no discordant "
        "claim, or not even a difference as large as the discordance). Sensitivity: "
        f"{how['sensitivity']}, on the discordant claims (system only / baseline only); "
        "not corrected, not the test of record."
    )
    title = (
        "Paired difference in per-claim correctness, system - baseline "
        f"({report['baseline']}), clustered by generic"
    )
    columns = significance_columns(how["primary_test"])
    rows = [Significance.from_json(row) for row in report["significance"]]
    return Table(title, note, columns, rows, placeholder=True)


LEGACY_COLUMNS = [
    Column("run", lambda run: run["name"]),
    Column("file", lambda run: Path(run["file"]).name),
    Column("n", lambda run: str(run["records"])),
    Column("universal c/t/w", lambda run: _counts(run["groups"]["universal"])),
    Column("existential c/t/w", lambda run: _counts(run["groups"]["existential"])),
    Column(
        "overall correct",
        lambda run: rate_interval(
            run["groups"]["overall"]["correct_rate"], run["groups"]["overall"].get("correct_ci")
        ),
    ),
    Column(
        "gold check",
        lambda run: f"{run['gold_check']['agree']}/{run['gold_check']['checked']} agree",
    ),
]


def _legacy_table(report: dict[str, Any]) -> Table:
    note = (
        "Counts of correct / tie / wrong, scored from the study's output files "
        "exactly as the study did (`logic-claims legacy accuracy`); its test claims "
        "are not ours, so set these beside, not against, the rows above. Brackets: "
        "cluster-bootstrap interval of the correct rate, claims grouped by the generic "
        "read off each claim. Gold check: expected verdict vs the quantifier."
    )
    title = "The study's published runs (Llama-2-7B-chat, prompt tuning)"
    return Table(title, note, LEGACY_COLUMNS, report["legacy"])


def _judged(dimension: str) -> Callable[[dict[str, Any]], str]:
    def cell(row: dict[str, Any]) -> str:
        dims = row["dimensions"]
        if dimension not in dims:
            return MISSING
        d = dims[dimension]
        return rate_interval(d["rate"], d["confidence_interval"]) + f" (n={d['n_items']})"

    return cell


def _annotation_table(ann: dict[str, Any]) -> Table:
    note = (
        f"From {ann['file']} via logic_claims.annotations.reports (Wilson intervals); "
        "per quantifier and tests below."
    )
    estimand = ann["overall"].get("estimand", "rate")
    columns = [Column("system", lambda row: str(row["group"].get("system")))]
    columns += [Column(f"{d}: {estimand}", _judged(d)) for d in ("factual", "justified")]
    title = "Human judgments: factuality and justification"
    return Table(title, note, columns, ann["overall"]["rows"])


def tables(report: dict[str, Any]) -> list[Table]:
    """Every table of the report, in order."""
    out = [_systems_table(report), *_correctness_tables(report), *_quantifier_tables(report)]
    out += [*_mc_tables(report), *_family_table(report), significance_table(report)]
    if report["legacy"]:
        out.append(_legacy_table(report))
    if report["annotations"].get("status") == "ok":
        out.append(_annotation_table(report["annotations"]))
    return out


def summary_tables(report: dict[str, Any]) -> list[Table]:
    """What ``compare`` prints after its run: correctness per split and the first table
    per quantifier (correct / tie / wrong, else log-likelihood accuracy)."""
    return [*_correctness_tables(report), *[*_quantifier_tables(report), *_mc_tables(report)][:1]]


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
