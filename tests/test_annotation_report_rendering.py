"""The three reports rendered: escaped, self-contained HTML with its plot; Markdown tables
nested under a heading; strict JSON and text for every report.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser

import pytest
from annotation_helpers import dumps, synthetic

from logic_claims.annotations import reports as R
from logic_claims.harness.report import format as fmt
from logic_claims.harness.report.annotations import render_html, render_markdown, render_text

# ----------------------------------------------------------------- rendering


class TagCounter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_names_and_embeds_a_png_plot():
    evil = '<script>alert("x")</script>'
    df = synthetic(n_claims=8, systems=("A", evil), seed=8)
    df["annotator"] = df["annotator"].replace({"ann": "<b>ann</b>"})
    reports = [
        R.scores_report(df, by=["system", "quantifier"]),
        R.agreement_report(df, n_boot=50),
        R.compare_report(df, ["A", evil], n_resamples=199),
    ]
    for report in reports:
        page = render_html(report)
        assert page.startswith("<!DOCTYPE html>")
        assert evil not in page and "<b>ann</b>" not in page
        parser = TagCounter()
        parser.feed(page)
        assert "script" not in parser.tags and "b" not in parser.tags
        match = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
        assert match, "the page embeds its plot"
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
        assert "http" not in page.replace("http-equiv", "")  # self-contained: no links
        joined = "".join(parser.text)
        if report["report"] != "agreement":
            assert evil in joined  # the name is shown, as text


def test_markdown_nests_under_a_heading_level_and_keeps_tables_whole():
    df = synthetic(n_claims=8, systems=("A", "B|C"), seed=8)
    for report in (
        R.scores_report(df, by=["system"]),
        R.agreement_report(df, n_boot=20),
        R.compare_report(df, ["A", "B|C"], n_resamples=99),
    ):
        md = render_markdown(report, level=2)
        assert md.startswith("## ") and "\n# " not in md and md.endswith("\n")
        tables = [line for line in md.splitlines() if line.startswith("|")]
        assert tables, "each report has a table"
        for line in tables:  # a name holding "|" is escaped, so every row has its columns
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) == len(re.split(r"(?<!\\)\|", tables[0])[1:-1])
        if report["report"] != "agreement":
            assert "B\\|C" in md


def test_every_report_is_strict_json_and_renders_as_text():
    df = synthetic(n_claims=8, seed=9, missing=0.2)
    for report in (
        R.scores_report(df, by=["quantifier"]),
        R.agreement_report(df, n_boot=20),
        R.compare_report(df, ["A", "B"], n_resamples=99),
    ):
        assert json.loads(dumps(report)) == report
        text = render_text(report)
        assert text.endswith("\n") and len(text.splitlines()) > 3
    with pytest.raises(ValueError, match="not a report"):
        render_text({"report": "nope"})


def test_a_statistic_that_rounds_to_zero_has_no_sign():
    """A kappa of -1e-17 (0/0 cancelling) read "-0.000" in the calibration tables."""
    assert [fmt.num(x) for x in (-0.0, -1e-17, -0.0004)] == ["0.000"] * 3
    assert (fmt.num(-0.0005), fmt.num(-0.04, 1), fmt.num(-0.05, 1)) == ("-0.001", "0.0", "-0.1")
    assert fmt.interval({"low": -2e-16, "high": 3e-16}) == "[0.000, 0.000]"
    assert fmt.num(float("nan")) == "nan" and fmt.num(None) == fmt.MISSING
