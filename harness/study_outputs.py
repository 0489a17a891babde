"""``logic-claims legacy accuracy``: score the study's own model-output files as the study did.

The study ("Not All Cars Have Radios") wrote its prompt-tuned Llama-2-7B-chat outputs as
records of three tagged fields and a blank line::

    <QUERY>\\t\\t\\t All birds feed on grain.
    <MODEL OUTPUT>\\t\\t False, birds of prey do not feed on grain.
    <EXPECTED OUTPUT>\\t False, hawks do not feed on grain.

A field may run over several lines (continuation lines belong to the field before) and
may hold undecodable bytes. Its scorer (``peft/util/accuracy_evaluation.py`` upstream)
stripped every line, glued continuation lines to the field without a separator, cut the
model output at its first period and counted "true"/"false" (``scoring.read_verdict``);
the gold verdict came from counting the same words in the expected output. A claim
starting with "All" or "Not" was *universal*, any other *existential*. This module does
exactly that, and also checks the gold verdict against the claim's quantifier.

Which files are which published run (see the README of this folder): model4.txt is
PEFT(8) (8 virtual tokens) and model6.txt is PEFT(4) (4 virtual tokens), the two runs
whose explanations were judged by a human (``human_model4.csv``: 506 rows, ``human_model6.csv``:
844 rows, the exact record counts of model4.txt and model6.txt).
"""

from __future__ import annotations

import argparse
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logic_claims.harness.report.format import pct
from logic_claims.tasks.claims import DEFAULT_TRUTH, QUANTIFIERS, SUMMARY_GROUPS, quantifier_of
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.scoring import OUTCOMES, Outcome, read_verdict

TAGS = {"<QUERY>": "claim", "<MODEL OUTPUT>": "output", "<EXPECTED OUTPUT>": "expected"}
_TAG = re.compile(r"^(<QUERY>|<MODEL OUTPUT>|<EXPECTED OUTPUT>)")
GROUPS = SUMMARY_GROUPS


@dataclass(frozen=True)
class LegacyRecord:
    """One record of a study output file, fields as the study's parser joined them."""

    claim: str
    output: str
    expected: str
    line: int  # line of the <QUERY> tag, 1-based

    @property
    def group(self) -> str:
        # The study's rule: query[:3] in ("All", "Not") -> universal ("negative" exemplar).
        return "universal" if self.claim[:3] in ("All", "Not") else "existential"

    @property
    def quantifier(self) -> str | None:
        return quantifier_of(self.claim)


@dataclass(frozen=True)
class ScoredRecord:
    record: LegacyRecord
    verdict: str  # the model output's verdict: "true", "false" or "tie"
    gold: str  # the expected output's verdict
    quantifier_gold: str | None  # the verdict the quantifier implies, if it is known
    outcome: Outcome


def read_records(path: str | Path) -> list[LegacyRecord]:
    """Parse a study output file into records (bytes decoded with errors="replace")."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from exc
    # Universal newlines, like the study's ``for line in open(...)``; str.splitlines
    # would also split at form feeds and other separators the study kept in the text.
    text = raw.decode("utf-8", errors="replace")
    fields: list[dict[str, Any]] = []
    last: str | None = None
    for lineno, line in enumerate(io.StringIO(text, newline=None), start=1):
        stripped = line.strip()
        match = _TAG.match(stripped)
        if match:
            name = TAGS[match.group(1)]
            value = stripped[match.end() :].strip()
            if name == "claim":
                fields.append({"line": lineno, "claim": value})
            elif not fields:
                raise InputError(f"{match.group(1)} before any <QUERY>", path, lineno)
            elif name in fields[-1]:
                raise InputError(f"second {match.group(1)} in one record", path, lineno)
            else:
                fields[-1][name] = value
            last = name
        elif stripped and fields and last is not None:
            # The study: outputs[-1][-1] += line.strip(), no separator.
            fields[-1][last] += stripped
        elif stripped and not fields:
            raise InputError("text before the first <QUERY> record", path, lineno)
    if not fields:
        raise InputError("no <QUERY> records (not a study output file?)", path)
    records = []
    for record in fields:
        missing = [tag for tag, name in TAGS.items() if name not in record]
        if missing:
            raise InputError(f"record without {' and '.join(missing)}", path, record["line"])
        if not record["claim"]:
            raise InputError("empty <QUERY>", path, record["line"])
        records.append(
            LegacyRecord(record["claim"], record["output"], record["expected"], record["line"])
        )
    return records


def score_record(record: LegacyRecord) -> ScoredRecord:
    """The study's outcome: model verdict (first sentence) against the expected verdict."""
    verdict = read_verdict(record.output)
    gold = read_verdict(record.expected)
    quantifier = record.quantifier
    quantifier_gold = None if quantifier is None else str(DEFAULT_TRUTH[quantifier]).lower()
    if gold == "tie" and quantifier_gold is not None:
        # No verdict in the expected output (never happens in the published files):
        # fall back on the quantifier rather than count a tie as "correct".
        gold = quantifier_gold
    if verdict == "tie":
        outcome: Outcome = "tie"
    else:
        outcome = "correct" if verdict == gold else "wrong"
    return ScoredRecord(record, verdict, gold, quantifier_gold, outcome)


def _counts(outcomes: Iterable[str]) -> dict[str, Any]:
    values = list(outcomes)
    n = len(values)
    counts: dict[str, Any] = {name: values.count(name) for name in OUTCOMES}
    counts["n"] = n
    for name in OUTCOMES:
        counts[f"{name}_rate"] = counts[name] / n if n else None
    return counts


def summarise(path: str | Path) -> dict[str, Any]:
    """Correct/tie/wrong per universal, existential and overall, per quantifier, gold check."""
    scored = [score_record(r) for r in read_records(path)]
    groups = {
        group: _counts(s.outcome for s in scored if group == "overall" or s.record.group == group)
        for group in GROUPS
    }
    quantifiers: dict[str, Any] = {}
    for quantifier in (*QUANTIFIERS, None):
        chosen = [s for s in scored if s.record.quantifier == quantifier]
        if chosen:
            quantifiers[quantifier or "unknown"] = _counts(s.outcome for s in chosen)
    known = [s for s in scored if s.quantifier_gold is not None]
    disagree = [s for s in known if s.gold != s.quantifier_gold]
    return {
        "file": str(path),
        "records": len(scored),
        "groups": groups,
        "quantifiers": quantifiers,
        "gold_check": {
            "checked": len(known),
            "agree": len(known) - len(disagree),
            "disagree": len(disagree),
            "no_quantifier": len(scored) - len(known),
            "disagreements": [
                {"line": s.record.line, "claim": s.record.claim, "expected": s.record.expected}
                for s in disagree[:10]
            ],
        },
    }


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"{summary['file']}: {summary['records']} records"]
    lines.append(f"  {'claims':<12}{'n':>6}{'correct':>14}{'tie':>14}{'wrong':>14}")
    rows = list(summary["groups"].items()) + [
        (f"  {q}", c) for q, c in summary["quantifiers"].items()
    ]
    for name, c in rows:
        cells = "".join(
            f"{c[o]:>6} ({pct(c[o + '_rate'] if c['n'] else None):>6})" for o in OUTCOMES
        )
        lines.append(f"  {name:<12}{c['n']:>6}{cells}")
    g = summary["gold_check"]
    if g["disagree"] or g["no_quantifier"]:
        lines.append(
            f"  gold check: the expected output's verdict disagrees with the quantifier in "
            f"{g['disagree']} of {g['checked']} records ({g['no_quantifier']} without a "
            "known quantifier); scored against the expected output, as the study did"
        )
    else:
        lines.append(
            f"  gold check: the expected output's verdict agrees with the quantifier in all "
            f"{g['checked']} records"
        )
    return "\n".join(lines)


def cmd_accuracy(args: argparse.Namespace) -> None:
    summaries = [summarise(path) for path in args.files]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return
    print("\n\n".join(format_summary(s) for s in summaries))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "legacy",
        help="read the original study's output files",
        description="Read the original study's files (../shared/data/seed-results).",
    )
    sub = parser.add_subparsers(dest="legacy_command", required=True, metavar="COMMAND")
    accuracy = sub.add_parser(
        "accuracy",
        help="score the study's model-output files (model*.txt) exactly as the study did",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Score the study's model-output files exactly as the study did: cut each model output
at its first period, count "true" and "false" (more true = true, more false = false,
equal = tie) and compare with the verdict of the expected output. Prints correct / tie /
wrong for universal claims (starting with "All" or "Not"), existential claims, overall,
and per quantifier, and checks that the expected verdicts agree with the quantifiers.

The study's published runs: model4.txt = PEFT(8) (8 virtual tokens),
model6.txt = PEFT(4) (4 virtual tokens); model1-3 were trained on universal claims only.

examples:
  cd ../shared/data/seed-results
  logic-claims legacy accuracy model4.txt model6.txt      # PEFT(8), PEFT(4)
  logic-claims legacy accuracy --json model*.txt""",
    )
    accuracy.add_argument("files", nargs="+", metavar="FILE", help="study output file(s)")
    accuracy.add_argument("--json", action="store_true", help="print JSON instead of tables")
    accuracy.set_defaults(func=cmd_accuracy)
