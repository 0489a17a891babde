"""``logic-claims train``: the short form of the adapter trainer, run in this process.

It trains with plain Accelerate on this process's device (a GPU if there is one, in
fp32), the same code as ``accelerate launch ... -m logic_claims.adapters.train``,
which is the form for DeepSpeed, mixed precision or several GPUs.
"""

from __future__ import annotations

import argparse

from logic_claims.adapters.options import DESCRIPTION, EPILOG, add_arguments


def run(args: argparse.Namespace) -> None:
    from logic_claims.adapters.train import run_from_args

    run_from_args(args)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a PEFT adapter that lm-eval loads with peft=",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
