"""``logic-claims``: one command line for data, evaluation, training, annotation and reports."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from logic_claims.harness import (
    annotate_cli,
    ask_cli,
    compare,
    data_cli,
    evaluate,
    interpret_cli,
    lm_eval_cli,
    study_outputs,
    train_cli,
    view_cli,
)
from logic_claims.tasks import launch
from logic_claims.tasks.errors import InputError

# Each module adds its own subcommands through ``add_commands(subparsers)``; none of
# them imports torch at module level, so ``--help`` stays fast.
COMMAND_MODULES = (
    data_cli, evaluate, lm_eval_cli, study_outputs, compare, annotate_cli, train_cli,
    view_cli, ask_cli, interpret_cli,
)  # fmt: skip

DESCRIPTION = """\
logic-claims: how well language models reason about generics under quantifiers
("All birds fly." is false, "Not all birds fly." is true) and explain their answers.

The usual path:
  logic-claims data build --out data/logic_claims     # claims and splits from the CSVs
  logic-claims eval --model smollm2-135m-instruct --limit 20
  lm_eval --model hf --model_args pretrained=$(logic-claims model path) \\
          --tasks logic_claims --include_path "$(logic-claims tasks path)"
                                                        # the same, through lm-eval

Exit status: 0 done, 2 bad input (one line: FILE:LINE: problem), 130 interrupted,
141 the reader of the output went away (`... | head -1`; nothing more is printed).
"""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): ``PROG: error: problem``.

    Subcommand parsers are made by ``add_parser``, which uses the parent's class, so
    every subcommand gets it.
    """

    def error(self, message: str) -> NoReturn:
        if len(message) > 300:
            message = f"{message[:280]}... ({len(message)} chars)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="logic-claims",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.add_commands(subparsers)
    return parser


# Exit status when standard output was closed early (``logic-claims ... | head -1``):
# 128 + SIGPIPE, what a shell reports for any Unix tool the pipe's reader left behind.
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input is one line on stderr and exit 2, never a traceback."""
    try:
        try:
            return _run(argv)
        finally:
            # Output still buffered (--help included) is written here, inside the try.
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader of our output is gone: say nothing more, and point stdout at
        # /dev/null so the interpreter's own flush at exit cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _run(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for n, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            # Bytes that are not UTF-8 arrive as lone surrogates (PEP 383); SQLite and
            # every file writer would fail on them later.
            print(f"logic-claims: error: argument {n} is not valid UTF-8", file=sys.stderr)
            return 2
    if argv[:1] == [lm_eval_cli.COMMAND]:  # lm-eval parses its own arguments
        return lm_eval_cli.run_lm_eval(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except InputError as exc:
        if launch.is_main():  # under `accelerate launch` every process refuses alike
            print(f"logic-claims: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("logic-claims: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
