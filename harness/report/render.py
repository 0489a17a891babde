"""Templates and tables: every report page is a jinja2 template in ``templates/``.

``render(name, **context)`` renders one template. Markdown and text templates get the
table helpers as filters (``rows | md_table(header)``); HTML templates autoescape, and
``html_table`` escapes each cell itself.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from typing import Any

import jinja2
import markupsafe

from logic_claims.harness.report import format as fmt

# Markdown's inline syntax in a table cell, backslash-escaped (so is the backslash). A
# bracket alone is plain text ("[77.9, 82.2]" stays as written); a link or image needs
# "](", whose parenthesis is escaped.
MD_SPECIAL = re.compile(r"([\\`*_|]|(?<=\])\()")


def md_table(rows: Sequence[Sequence[Any]], header: Sequence[Any]) -> str:
    """A GitHub-flavoured Markdown table. Cells are text: HTML (``<script>``) and
    Markdown syntax (``|``, ``*``, ``_``, backticks, the ``](`` of links) in them are
    escaped, newlines become spaces."""

    def cell(text: Any) -> str:
        escaped = html.escape(str(text), quote=False).replace("\n", " ")
        return MD_SPECIAL.sub(r"\\\1", escaped)

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(rows: Sequence[Sequence[Any]], header: Sequence[Any]) -> str:
    """A plain-text table with columns padded to their widest cell."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[Any]) -> str:
        return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def html_table(rows: Sequence[Sequence[Any]], header: Sequence[Any]) -> markupsafe.Markup:
    """An HTML table (``templates/table.html``), every cell escaped."""
    html = environment().get_template("table.html").render(rows=rows, header=header)
    return markupsafe.Markup(html.rstrip("\n"))


@functools.cache
def environment() -> jinja2.Environment:
    """The templates of ``harness/report/templates``; HTML ones autoescape."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("logic_claims.harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(md_table=md_table, text_table=text_table, html_table=html_table)
    env.filters.update(
        pct=fmt.pct, pct_value=fmt.pct_value, points=fmt.points, num=fmt.num,
        pvalue=fmt.pvalue, p_equals=fmt.p_equals, interval=fmt.interval,
    )  # fmt: skip
    env.globals["MISSING"] = fmt.MISSING
    env.globals["fmt"] = fmt  # a formatter as an argument: ci | interval(fmt.points)
    return env


def render(name: str, **context: Any) -> str:
    """Render ``templates/<name>`` with ``context``."""
    return environment().get_template(name).render(**context)
