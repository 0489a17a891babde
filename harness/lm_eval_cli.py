"""``logic-claims lm-eval ARGS...``: lm-eval's own command line, with ``hf-fast`` known.

The plain ``lm_eval`` command does not know the ``hf-fast`` backend: it is registered
when :mod:`logic_claims.harness.fast_lm` is imported. This command imports it and then
hands ARGS, unchanged, to lm-eval's CLI (``lm_eval.__main__.cli_evaluate``): every
option, subcommand (``run``, ``ls``, ``validate``) and output file is lm-eval's.
Several processes: ``accelerate launch --multi_gpu --num_processes N -m
logic_claims.harness.cli lm-eval --model hf-fast ...`` (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import sys

from logic_claims.tasks import launch

COMMAND = "lm-eval"
DESCRIPTION = """\
lm-eval's own command line with this project's hf-fast backend registered; every
argument goes to lm-eval unchanged (`logic-claims lm-eval --help` is lm-eval's help).

examples:
  logic-claims lm-eval --model hf-fast --include_path tasks --tasks logic_claims_mc \\
      --model_args pretrained=$(logic-claims model path) --limit 20
  accelerate launch --multi_gpu --num_processes 2 -m logic_claims.harness.cli lm-eval \\
      --model hf-fast --include_path tasks --tasks logic_claims_mc \\
      --model_args pretrained=$(logic-claims model path) --output_path runs/lm-eval"""


def _limit(argv: list[str]) -> float | None:
    """lm-eval's ``--limit``/``-L`` in ``argv`` (None: absent or not a number, lm-eval's to say)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--limit", "-L")
    try:
        return float(parser.parse_known_args(argv)[0].limit)
    except (TypeError, ValueError, argparse.ArgumentError):
        return None


def run_lm_eval(argv: list[str]) -> int:
    """lm-eval's CLI on ``argv`` after registering ``hf-fast``; its exit status.

    Under ``accelerate launch``, a ``--limit`` below the number of processes is run by
    process 0 alone, as a plain process (lm-eval fails on a process without documents);
    the others end at once.
    """
    below = launch.limit_notice(_limit(argv))
    for message in filter(None, [launch.alone_notice(), below]):
        if launch.is_main():
            print(f"logic-claims {COMMAND}: notice: {message}", file=sys.stderr, flush=True)
    if below is not None:
        if not launch.is_main():
            return 0
        launch.leave_launch()
    from lm_eval.__main__ import cli_evaluate

    from logic_claims.harness import fast_lm  # noqa: F401 (registers hf-fast)

    saved = sys.argv
    sys.argv = [COMMAND, *argv]
    try:
        cli_evaluate()
    except SystemExit as exc:  # argparse's --help and usage errors
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    finally:
        sys.argv = saved
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """``lm-eval`` in ``logic-claims --help``; ``cli`` hands its arguments over unparsed."""
    parser = subparsers.add_parser(
        COMMAND,
        help="lm-eval's own command line, with the hf-fast backend registered",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help="lm-eval's arguments")
    parser.set_defaults(func=lambda args: run_lm_eval(args.args))
