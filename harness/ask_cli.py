"""``logic-claims ask``: the command line of :mod:`logic_claims.harness.ask`.

Claims from the arguments, ``--claims FILE``, or standard input: a pipe is read as one
batch; a terminal is an interactive prompt (line editing and history by readline, the
model loaded once, Ctrl-D to leave). Everything is checked before the model loads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from logic_claims.harness.ask import Answer, Question
from logic_claims.harness.evaluate import add_model_options
from logic_claims.harness.report.format import MISSING
from logic_claims.tasks.errors import InputError

PROMPT = "claim> "
HISTORY_LENGTH = 1000
CLAIM_WIDTH = 48  # the table's claim column; longer claims are cut with "..."


def _label(value: bool | None) -> str:
    return MISSING if value is None else ("true" if value else "false")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_table(answers: Sequence[Answer]) -> str:
    """One row per claim; the answer (first sentence) last, so it is never cut."""
    width = min(CLAIM_WIDTH, max([len("claim"), *(len(a.claim) for a in answers)]))
    header = ("#", "quantifier", "claim", "verdict", "margin", "label", "result", "answer")
    rows = [
        (
            str(n),
            a.quantifier or "none",
            _cut(a.claim, width),
            a.verdict,
            f"{a.margin:+.2f}",
            _label(a.label),
            a.outcome or MISSING,
            a.answer,
        )
        for n, a in enumerate(answers, start=1)
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in (header, *rows)
    ]
    lines.insert(1, "-" * min(shutil.get_terminal_size().columns, len(lines[0]) + 20))
    return "\n".join(lines)


def format_answer(answer: Answer) -> str:
    """An answer of the interactive prompt: what was read, then the model's answer."""
    known = "" if answer.outcome is None else f", {answer.outcome}"
    return (
        f"  quantifier {answer.quantifier or 'none'}, verdict {answer.verdict}{known}, "
        f'margin {answer.margin:+.2f} (log-likelihood of " True" minus " False")\n'
        f"  answer: {answer.answer}"
    )


def summary(answers: Sequence[Answer]) -> str | None:
    """``correct 3, tie 1, wrong 2 of 6 claims with a known label`` (None: no labels)."""
    from logic_claims.tasks.scoring import OUTCOMES

    known = [a.outcome for a in answers if a.outcome is not None]
    if not known:
        return None
    counts = ", ".join(f"{name} {known.count(name)}" for name in OUTCOMES)
    return f"{counts} of {len(known)} claims with a known label"


def default_system(args: argparse.Namespace) -> str:
    """``--system``, else the adapter's directory name, else the model's name."""
    if args.system:
        return args.system
    name = args.peft or args.model
    return Path(str(name).rstrip("/")).name or str(name)


def _questions(args: argparse.Namespace) -> list[Question] | None:
    """The claims of the arguments and --claims; from a pipe, standard input's lines;
    None: standard input is a terminal (the interactive prompt)."""
    from logic_claims.harness.ask import check_claim, questions_from_lines, read_questions
    from logic_claims.tasks.io import split_lines

    questions = [Question(check_claim(c, f"claim {n}")) for n, c in enumerate(args.claim, 1)]
    if args.claims:
        questions += read_questions(args.claims)
    if questions:
        return questions
    if sys.stdin.isatty():
        return None
    data = sys.stdin.buffer.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte offset {exc.start})", "<stdin>") from exc
    questions = questions_from_lines(split_lines(text), "<stdin>")
    if not questions:
        raise InputError("no claims on standard input (one a line), nor as arguments")
    return questions


def _check_out(args: argparse.Namespace) -> None:
    from logic_claims.tasks.io import check_not_input

    if args.out is None:
        return
    check_not_input(args.out, [args.claims] if args.claims else [])
    if Path(args.out).is_dir():
        raise InputError("is a directory; --out takes a file (samples.jsonl)", args.out)


def _load(args: argparse.Namespace) -> Any:
    from logic_claims.harness.evaluate import build_lm, parse_kv

    lm, _ = build_lm(
        args.model,
        peft=args.peft,
        backend=args.backend,
        device=args.device,
        model_args=parse_kv(args.model_args) or None,
    )
    return lm


def _write_out(args: argparse.Namespace, answers: Sequence[Answer]) -> None:
    from logic_claims.harness.ask import sample_records
    from logic_claims.tasks.io import write_jsonl

    if args.out is None or not answers:
        return
    write_jsonl(args.out, sample_records(answers, default_system(args)))
    print(
        f"{len(answers)} answers written to {args.out} (lm-eval samples; "
        f"`logic-claims annotate new --samples {args.out} ...` takes them to raters)",
        file=sys.stderr,
    )


def _show(args: argparse.Namespace, answers: Sequence[Answer]) -> None:
    if args.json:
        print(json.dumps([a.to_dict() for a in answers], indent=2, ensure_ascii=False))
        return
    print(format_table(answers))
    line = summary(answers)
    if line:
        print(line)


def cmd_ask(args: argparse.Namespace) -> None:
    from logic_claims.harness import quiet
    from logic_claims.harness.ask import ask
    from logic_claims.harness.evaluate import check_adapter, check_model, parse_kv

    quiet.set_verbose(args.verbose)
    questions = _questions(args)
    _check_out(args)
    check_model(args.model, parse_kv(args.model_args))
    check_adapter(args.peft)
    if questions is None:
        interactive(args)
        return
    label = f"ask {default_system(args)}: {len(questions)} claims"
    with quiet.quiet_run(label) as attach:
        answers = ask(attach(_load(args)), questions)
    _show(args, answers)
    _write_out(args, answers)


def _history_file() -> Path:
    from logic_claims.tasks.sources import cache_dir

    return cache_dir() / "ask_history"


def interactive(args: argparse.Namespace) -> None:
    """Claims typed at a prompt, answered one by one by a model loaded once; Ctrl-D ends
    (writing ``--out``), Ctrl-C drops the line being typed or the answer being made."""
    import readline

    from logic_claims.harness import quiet
    from logic_claims.harness.ask import ask, check_claim

    history = _history_file()
    with contextlib.suppress(OSError):  # no history yet
        readline.read_history_file(history)
    readline.set_history_length(HISTORY_LENGTH)
    print(f"loading {default_system(args)} ...", file=sys.stderr)
    answers: list[Answer] = []
    with quiet.quiet_libraries(f"ask {default_system(args)} (interactive)"):
        lm = _load(args)
        print("one claim a line; Ctrl-D to leave", file=sys.stderr)
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print(file=sys.stderr)
                break
            except KeyboardInterrupt:
                print(file=sys.stderr)
                continue
            if not line.strip():
                continue
            try:
                question = Question(check_claim(line))
            except InputError as exc:
                print(f"logic-claims: error: {exc}", file=sys.stderr)
                continue
            try:
                (answer,) = ask(lm, [question])
            except KeyboardInterrupt:  # stop this answer, not the session
                print("interrupted; the claim is dropped", file=sys.stderr)
                continue
            answers.append(answer)
            print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json
                  else format_answer(answer), flush=True)  # fmt: skip
    with contextlib.suppress(OSError):  # a read-only home: history is a convenience
        history.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(history)
    _write_out(args, answers)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "ask",
        help="ask a model (and adapter) about your own claims, scored as the tasks score them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Ask a model about your own claims, with the logic_claims tasks' prompt and scoring:
per claim the generated answer cut at its first sentence (the full text in --json and
--out), its verdict (true/false/tie, the study's rule), the log-likelihood margin of
" True" over " False" (positive: the model leans true), and correct/tie/wrong when the
claim's truth is known (a CSV's text_label, a JSONL record's label).

Claims: as arguments; --claims FILE (the study's demo CSV text_input,text_label, JSONL
claim records, or plain text, one claim a line); else standard input, one claim a line:
from a pipe as one batch, on a terminal as an interactive prompt (history, Ctrl-D to
leave, Ctrl-C stops one answer) with the model loaded once; --json there prints one
JSON object a line.

examples:
  logic-claims ask "Some penguins fly." "All birds feed on grain."
  logic-claims ask --peft runs/adapters/pt --claims demo_pattern_breaking.csv
  printf 'No fish swim.\\nNot all cars have radios.\\n' | logic-claims ask --json
  logic-claims ask --claims mine.txt --out runs/ask/samples.jsonl
  logic-claims annotate new --samples runs/ask/samples.jsonl --per-item 2 --annotators ann,bob \\
      --store runs/ask/judge.sqlite""",
    )
    parser.add_argument("claim", nargs="*", metavar="CLAIM", help="claims to ask")
    parser.add_argument(
        "--claims",
        metavar="FILE",
        help="a file of claims: .csv (text_input,text_label), .jsonl (claim records), "
        "or text (one claim a line)",
    )
    parser.add_argument(
        "--out",
        metavar="SAMPLES.jsonl",
        help="write the answers as lm-eval samples (for `annotate new --samples`)",
    )
    parser.add_argument(
        "--system",
        help="the name the answers get in --out (default: the adapter's, else the model's)",
    )
    parser.add_argument("--json", action="store_true", help="a JSON list, one object a claim")
    parser.add_argument(
        "--verbose", action="store_true", help="show lm-eval's and transformers' messages"
    )
    add_model_options(parser)
    parser.set_defaults(func=cmd_ask)
