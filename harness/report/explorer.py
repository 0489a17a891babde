"""The claims explorer: every claim with each system's answer, as one HTML section.

:func:`build` turns lm-eval samples (system -> task -> records, as ``compare`` caches them
and ``lm_eval --log_samples`` writes them) into an :class:`Explorer`: one :class:`Claim`
per (split, claim id) and, per system, its generated answers (answer text, verdict by the
study's rule, correct / tie / wrong: the sample's own metrics, so counts equal the
report's) and its log-likelihood answers (the margin log P(True) - log P(False) and
whether the true label scored higher). ``templates/explorer.html`` and ``explorer.js``
show it: filters, sorting, counts for the current filter, the view in the URL hash,
pages of 50 rows. :func:`page_assets` gives the inline script and style with the
Content-Security-Policy that allows exactly them (the page works from ``file://``, with
no network).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import markupsafe

from logic_claims.tasks.claims import CLAIM_TYPES, WORDS
from logic_claims.tasks.errors import InputError, clip

OUTCOMES = ("correct", "tie", "wrong")


@dataclass(frozen=True)
class Claim:
    """One row of the explorer: the claim as its lm-eval doc gives it."""

    id: str
    claim: str
    label: bool
    quantifier: str
    split: str
    construction: str
    family: str
    generic: str


@dataclass(frozen=True)
class GenAnswer:
    """A generated answer: its text, its verdict (true / false / tie) and its outcome."""

    row: int
    answer: str
    verdict: str
    outcome: str


@dataclass(frozen=True)
class MCAnswer:
    """A log-likelihood answer: log P(True) - log P(False) (None if not logged) and
    whether the true label scored higher."""

    row: int
    margin: float | None
    right: bool


@dataclass
class Explorer:
    """The explorer's rows: claims, and per system its answers (by row of ``claims``)."""

    systems: list[str]
    claims: list[Claim] = field(default_factory=list)
    gen: dict[str, list[GenAnswer]] = field(default_factory=dict)
    mc: dict[str, list[MCAnswer]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def data_json(self) -> markupsafe.Markup:
        """The rows as the JSON that ``explorer.js`` reads, safe inside ``<script>``."""
        columns = {name: [getattr(c, name) for c in self.claims] for name in Claim.__annotations__}
        payload = {
            "systems": self.systems,
            "claims": columns,
            "gen": {
                s: [[a.row, a.answer, a.verdict, a.outcome] for a in v] for s, v in self.gen.items()
            },
            "mc": {s: [[a.row, a.margin, a.right] for a in v] for s, v in self.mc.items()},
            "quantifiers": WORDS,
            "groups": CLAIM_TYPES,
        }
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return markupsafe.Markup(script_safe(text))


def script_safe(text: str) -> str:
    """JSON text that cannot end its ``<script>`` element or open a comment in it."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _verdict(outcome: str, label: bool) -> str:
    """What the answer said, from its outcome and the gold label (the study's rule)."""
    if outcome == "tie":
        return "tie"
    return "true" if (outcome == "correct") == label else "false"


def _answer_text(sample: Mapping[str, Any]) -> str:
    """The whole generated answer: ``resps[0][0]``, else ``filtered_resps[0]``."""
    for key in ("resps", "filtered_resps"):
        value = sample.get(key)
        while isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str):
            return value
    return ""


NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|-?inf", re.IGNORECASE)


def _loglikelihood(response: Any) -> float | None:
    """The log-likelihood of one choice as lm-eval logs it: ``[ll, is_greedy]`` (numbers,
    or the strings its JSONL writer makes of them), or ``"(ll, is_greedy)"``."""
    while isinstance(response, list | tuple) and response:
        response = response[0]
    if isinstance(response, bool):
        return None
    if isinstance(response, int | float):
        return float(response)
    if isinstance(response, str) and (match := NUMBER.match(response.strip(" (["))):
        return float(match[0])
    return None


def _margin(sample: Mapping[str, Any]) -> float | None:
    """log P(True) - log P(False): the choices are ["True", "False"] in this order."""
    responses = sample.get("filtered_resps") or sample.get("resps")
    if not isinstance(responses, list) or len(responses) != 2:
        return None
    true, false = (_loglikelihood(r) for r in responses)
    if true is None or false is None or not math.isfinite(true - false):
        return None
    return true - false


def claim_of(doc: Any, where: str | Path | None = None, line: int | None = None) -> Claim:
    """The explorer's row for one lm-eval doc; a doc of another task is an InputError
    naming the fields it has."""
    if not isinstance(doc, dict) or not isinstance(doc.get("claim"), str):
        fields = ", ".join(sorted(map(str, doc))) if isinstance(doc, dict) else type(doc).__name__
        raise InputError(
            "not a logic_claims sample: its doc has no 'claim' text "
            f"(the doc's fields: {clip(fields, 120) if fields else 'none'})",
            where,
            line,
        )
    label = doc.get("label")
    if not isinstance(label, bool):
        raise InputError(f"doc label must be true/false, got {clip(label)}", where, line)
    ident = doc.get("id")
    return Claim(
        id=str(ident) if ident is not None else doc["claim"].strip(),
        claim=doc["claim"].strip(),
        label=label,
        quantifier=str(doc.get("quantifier") or ""),
        split=str(doc.get("split") or "test"),
        construction=str(doc.get("construction") or "standard"),
        family=str(doc.get("family") or ""),
        generic=str(doc.get("generic") or ""),
    )


def build(
    samples: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]],
    origin: Mapping[tuple[str, str], str | Path] | None = None,
) -> Explorer:
    """The explorer of every system's samples by task (``compare``'s samples, or a
    ``view`` folder's). ``origin`` names the file of each (system, task), for errors.

    A claim answered twice by one system in one way (two tasks holding the same claim)
    keeps its first answer; a note says how many were left out.
    """
    explorer = Explorer(systems=list(samples))
    rows: dict[tuple[str, str], int] = {}
    repeated = 0
    for system, tasks in samples.items():
        gen: dict[int, GenAnswer] = {}
        mc: dict[int, MCAnswer] = {}
        for task, records in tasks.items():
            where = (origin or {}).get((system, task), task)
            for n, sample in enumerate(records, start=1):
                claim = claim_of(sample.get("doc"), where, n)
                key = (claim.split, claim.id)
                if key not in rows:
                    rows[key] = len(explorer.claims)
                    explorer.claims.append(claim)
                row = rows[key]
                if "correct" in sample:
                    outcome = next((o for o in OUTCOMES if sample.get(o)), "tie")
                    answer = GenAnswer(
                        row, _answer_text(sample).strip(), _verdict(outcome, claim.label), outcome
                    )
                    repeated += row in gen
                    gen.setdefault(row, answer)
                elif "acc" in sample:
                    repeated += row in mc
                    mc.setdefault(row, MCAnswer(row, _margin(sample), float(sample["acc"]) == 1.0))
        explorer.gen[system] = list(gen.values())
        explorer.mc[system] = list(mc.values())
    if repeated:
        explorer.notes.append(
            f"{repeated} answers to a claim a system had already answered the same way (by "
            "another task) are left out; the first answer is shown."
        )
    return explorer


def link(**view: str | None) -> str:
    """The URL hash of an explorer view, e.g. ``link(split="test", q="universal",
    system="peft8")`` -> ``#split=test&q=universal&system=peft8`` (keys as explorer.js
    reads them; None values are left out)."""
    return "#" + urllib.parse.urlencode({k: v for k, v in view.items() if v is not None})


# -- the page's script and style --------------------------------------------------------


def _template_text(name: str) -> str:
    return (resources.files("logic_claims.harness.report") / "templates" / name).read_text(
        encoding="utf-8"
    )


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@dataclass(frozen=True)
class PageAssets:
    """The explorer's script and a page's style, inlined, and the CSP allowing only them."""

    script: markupsafe.Markup
    style: markupsafe.Markup
    csp: str


def page_assets(page_css: str) -> PageAssets:
    """``explorer.js``, and the page's style (``templates/<page_css>``) + ``explorer.css``,
    for inlining, and the Content-Security-Policy (a ``<meta>`` for ``file://``) that lets
    exactly these run: nothing injected into the page could execute, nothing is fetched."""
    script = _template_text("explorer.js")
    style = _template_text(page_css) + _template_text("explorer.css")
    for text in (script, style):
        if "</" in text.lower():  # would end its element early
            raise ValueError("an inline script or style holds '</'")
    csp = (
        f"default-src 'none'; script-src {_hash(script)}; style-src {_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    return PageAssets(markupsafe.Markup(script), markupsafe.Markup(style), csp)
