"""``logic-claims``: one command line for data, evaluation, training, annotation and reports."""

from __future__ import annotations

import argparse
import importlib
import sys

from logic_claims.harness.errors import InputError

# Each module adds its own subcommands through ``add_commands(subparsers)``; none of
# them imports torch at module level, so ``--help`` stays fast.
COMMAND_MODULES = (
    "logic_claims.harness.data_cli",
    "logic_claims.harness.models",
    "logic_claims.harness.evaluate",
    "logic_claims.harness.legacy",
    "logic_claims.harness.compare",
    "logic_claims.annotations.cli",
    "logic_claims.adapters.cli",
)

DESCRIPTION = """\
logic-claims: how well language models reason about generics under quantifiers
("All birds fly." is false, "Not all birds fly." is true) and explain their answers.

The usual path:
  logic-claims data build --out data/logic_claims     # claims and splits from the CSVs
  logic-claims eval --model smollm2-135m-instruct --limit 20
  lm_eval --model hf --model_args pretrained=$(logic-claims model path) \\
          --tasks logic_claims --include_path tasks    # the same, through lm-eval
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logic-claims",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except InputError as exc:
        print(f"logic-claims: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("logic-claims: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
