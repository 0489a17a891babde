"""``logic-claims annotate ...``: collect judgments of explanations. Building a set and
judging it are here; moving judgments in and out of a store is in ``annotate_io_cli.py``,
the reports on them in ``annotate_report_cli.py``.

Each command is a parser (``add_NAME``) next to the function it runs (``cmd_NAME``).
Nothing here imports pandas, torch or the statistics at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from logic_claims.harness.annotate_common import DIMENSION_HELP, names, sub_parser
from logic_claims.harness.annotate_io_cli import add_io_commands
from logic_claims.harness.annotate_judge_cli import add_judge_commands
from logic_claims.harness.annotate_ppi_cli import add_sample, budget, budget_line
from logic_claims.harness.annotate_report_cli import add_report_commands
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """``annotate``: its help, then each command's parser (new ... import-legacy, reports)."""
    parser = subparsers.add_parser(
        "annotate",
        help="collect human judgments of explanations (factual, justified) and score them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Human judgments of the models' explanations.

  1. annotate new      build a blinded, shuffled set from lm-eval --log_samples files
  2. annotate serve    raters judge in a local web page (or: annotate tui, in a terminal)
  3. annotate scores / agreement / compare     rates, inter-rater agreement, tests

Every judgment is committed to one SQLite store the moment it is given. Teams that use
Label Studio: annotate export --format labelstudio, then annotate import the export.

example:
  logic-claims eval --model smollm2-135m-instruct --limit 20 --output runs/eval/base
  logic-claims annotate new --samples runs/eval/base/*/samples_logic_claims_all_*.jsonl \\
      --per-item 2 --annotators ann,bob,cem --store ratings.sqlite
  logic-claims annotate serve --store ratings.sqlite
  logic-claims annotate agreement ratings.sqlite --html agreement.html""",
    )
    sub = parser.add_subparsers(dest="annotate_command", required=True, metavar="COMMAND")
    for add in (add_new, add_status, add_tui, add_serve):
        add(sub)
    add_io_commands(sub)
    add_report_commands(sub)
    add_judge_commands(sub)
    add_sample(sub)


# -- annotate new ---------------------------------------------------------------------


def add_new(sub: Any) -> None:
    """The parser of ``annotate new``."""
    new = sub_parser(
        sub,
        "new",
        "create an annotation set from lm-eval --log_samples files",
        """\
Create an annotation store from the per-sample files of one or more systems.

Each item is a claim plus one system's answer (resps[0][0]); its id is a hash of the two
texts, so identical answers of two systems are judged once and count for both. Raters
never see which system answered. Each item goes to --per-item raters, loads balanced;
each rater gets the items in their own seeded random order. The store is written
atomically: on any error nothing is left behind.

The system name comes from lm-eval's results_<date>.json beside the samples file
(model, plus +adapter for a PEFT run); override it with one --system per --samples.

examples:
  logic-claims annotate new --store ratings.sqlite --per-item 2 --annotators ann,bob,cem \\
      --samples runs/base/m/samples_logic_claims_all_2024.jsonl --system base \\
      --samples runs/peft8/m/samples_logic_claims_all_2024.jsonl --system peft8
  logic-claims annotate new --store pilot.sqlite --per-item 3 --annotators a,b,c \\
      --samples runs/base/m/samples_*.jsonl --limit 50 \\
      --dimension factual --dimension justified --dimension fluency:bad/ok/good""",
    )
    new.add_argument(
        "--samples",
        action="append",
        required=True,
        metavar="SAMPLES.jsonl",
        help="an lm-eval samples_<task>_<date>.jsonl file (repeat for more files/systems)",
    )
    new.add_argument(
        "--system",
        action="append",
        metavar="NAME",
        help="system name of the --samples file at the same position (default: from "
        "lm-eval's results JSON beside it)",
    )
    new.add_argument("--per-item", type=int, required=True, metavar="K", help="raters per item")
    new.add_argument(
        "--annotators", required=True, metavar="A,B,C", help="comma-separated rater names"
    )
    new.add_argument("--store", required=True, help="the store to create (must not exist)")
    new.add_argument(
        "--seed", type=int, default=0, help="seed of assignment and orders (default: 0)"
    )
    new.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="at most N answers per system, claims all systems answered first (paired)",
    )
    new.add_argument("--dimension", action="append", metavar="SPEC", help=DIMENSION_HELP)
    new.set_defaults(func=cmd_new)


def cmd_new(args: argparse.Namespace) -> None:
    from logic_claims.annotations.assignment import plan_assignments
    from logic_claims.annotations.records import parse_dimensions
    from logic_claims.annotations.samples import default_system_name, read_samples
    from logic_claims.annotations.store import create_atomically

    annotators = names(args.annotators, "--annotators")
    dimensions = parse_dimensions(args.dimension)
    if args.system and len(args.system) != len(args.samples):
        raise InputError(
            f"--system given {len(args.system)} times for {len(args.samples)} --samples files: "
            "give one --system per --samples, in the same order, or none"
        )
    check_not_input(args.store, args.samples, "--store")
    per_system: dict[str, list[Any]] = {}
    sources: dict[str, list[str]] = {}
    for n, path in enumerate(args.samples):
        system = args.system[n] if args.system else default_system_name(path)
        per_system.setdefault(system, []).extend(read_samples(path))
        sources.setdefault(system, []).append(str(path))
    chosen = _choose(per_system, args.limit, args.seed)
    item_ids = sorted({s.item.item_id for samples in chosen.values() for s in samples})
    plan = plan_assignments(item_ids, annotators, args.per_item, args.seed)

    def build(store: Any) -> None:
        for system, samples in chosen.items():
            for sample in samples:
                where = f"{sample.task or 'samples'}:{sample.line}"
                store.add_item(sample.item, system, where)
        for annotator, items in plan.items():
            store.add_annotator(annotator)
            for position, item_id in enumerate(items):
                store.assign(item_id, annotator, position)

    info = {
        "seed": args.seed,
        "per_item": args.per_item,
        "limit": args.limit,
        "samples": sources,
    }
    create_atomically(args.store, build, dimensions, info)
    print(f"wrote {args.store}: {len(item_ids)} items to judge")
    for system, samples in chosen.items():
        print(f"  system {system}: {len(samples)} answers from {', '.join(sources[system])}")
    shared = sum(
        1 for n in Counter(s.item.item_id for v in chosen.values() for s in v).values() if n > 1
    )
    if shared:
        print(f"  {shared} items are identical answers of several systems (judged once)")
    for annotator, items in plan.items():
        print(f"  rater {annotator}: {len(items)} items")
    print(
        f"next: logic-claims annotate serve --store {args.store}   (or annotate tui "
        f"--store {args.store} --annotator {annotators[0]})"
    )


def _choose(per_system: dict[str, list[Any]], limit: int | None, seed: int) -> dict[str, list[Any]]:
    """Up to ``limit`` answers per system, preferring claims every system answered (so
    comparisons are paired), chosen with the seed."""
    import random

    # One answer per claim per system (a claim run under two tasks counts once).
    deduped: dict[str, list[Any]] = {}
    for system, samples in per_system.items():
        first: dict[str, Any] = {}
        for sample in samples:
            first.setdefault(sample.item.pair_id, sample)
        deduped[system] = list(first.values())
    if limit is None:
        return deduped
    rng = random.Random(seed)
    claim_sets = [{s.item.pair_id for s in samples} for samples in deduped.values()]
    common = sorted(set.intersection(*claim_sets))
    rest = sorted(set.union(*claim_sets) - set(common))
    rng.shuffle(common)
    rng.shuffle(rest)
    rank = {pair_id: n for n, pair_id in enumerate(common + rest)}
    return {
        system: sorted(samples, key=lambda s: rank[s.item.pair_id])[:limit]
        for system, samples in deduped.items()
    }


# -- status, tui, serve -----------------------------------------------------------------


def add_status(sub: Any) -> None:
    """The parser of ``annotate status``."""
    status = sub_parser(
        sub,
        "status",
        "items, systems and each rater's progress",
        "Show what a store holds and how far each rater is.\n\n"
        "example:\n  logic-claims annotate status --store ratings.sqlite",
    )
    status.add_argument("--store", required=True)
    status.add_argument("--json", action="store_true", help="print as JSON")
    status.set_defaults(func=cmd_status)


def cmd_status(args: argparse.Namespace) -> None:
    from logic_claims.annotations.store import Store

    with Store.open(args.store) as store:
        store.check()  # a damaged store says so here, not halfway through a session
        summary = store.summary()
        people_budget = budget(store)
    if people_budget is not None:
        summary["people_sample"] = people_budget
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    dims = ", ".join(f"{d['name']} ({'/'.join(d['labels'])})" for d in summary["dimensions"])
    print(f"{summary['store']}: {summary['items']} items, {summary['judgments']} judgments")
    print(f"dimensions: {dims}")
    for system, n in summary["systems"].items():
        print(f"  system {system}: {n} answers")
    for rater, p in summary["raters"].items():
        print(f"  rater {rater}: {p['done']}/{p['assigned']} items done")
    if people_budget is not None:
        print(budget_line(people_budget))


def add_tui(sub: Any) -> None:
    """The parser of ``annotate tui``."""
    tui = sub_parser(
        sub,
        "tui",
        "judge items in the terminal, one key per answer",
        """\
Judge your items in a terminal. One key per answer, committed at once:
  0 / n   no       1 / y   yes      (labels of other dimensions: 1..9)
  u       undo the last judgment (also across sessions)
  s       skip the item for now      q   quit (run again to resume)

example:
  logic-claims annotate tui --store ratings.sqlite --annotator ann""",
    )
    tui.add_argument("--store", required=True)
    tui.add_argument("--annotator", required=True, help="your rater name in this set")
    tui.set_defaults(func=cmd_tui)


def cmd_tui(args: argparse.Namespace) -> None:
    from logic_claims.annotations.tui import run_tui

    counts = run_tui(args.store, args.annotator)
    print(
        f"this session: {counts['judged']} judgments, {counts['undone']} undone, "
        f"{counts['skipped']} skips"
    )


def add_serve(sub: Any) -> None:
    """The parser of ``annotate serve``."""
    serve = sub_parser(
        sub,
        "serve",
        "a local web page for raters (127.0.0.1 by default)",
        """\
Serve a web page where raters judge their items one at a time: the claim, the answer
and the questions with their definitions, keyboard shortcuts (0/1 or n/y, u undo,
s skip), progress, and resume on reload (each rater's URL: /?annotator=NAME).

The page has no login: it binds to 127.0.0.1 unless --host says otherwise. To let a
colleague rate from their machine, prefer an SSH tunnel (ssh -L 8765:127.0.0.1:8765).

example:
  logic-claims annotate serve --store ratings.sqlite --port 8765""",
    )
    serve.add_argument("--store", required=True)
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind: a name, an IPv4 or IPv6 literal such as ::1 (default: %(default)s)",
    )
    serve.add_argument(
        "--port", type=port_arg, default=8765, help="port, 0 to 65535 (default: %(default)s)"
    )
    serve.set_defaults(func=cmd_serve)


T = TypeVar("T")


def listen(make: Callable[[], T], host: str, port: int) -> T:
    """``make()`` (a server bound to host and port), or one line saying why it cannot be."""
    try:
        return make()
    except (OSError, ValueError, OverflowError) as exc:  # in use, no such address, bad name
        from logic_claims.tasks.errors import clip

        reason = getattr(exc, "strerror", None) or clip(str(exc))
        raise InputError(f"cannot listen on {clip(host)} port {port} ({reason})") from exc


def cmd_serve(args: argparse.Namespace) -> None:
    import ipaddress
    import urllib.parse

    from logic_claims.annotations.store import Store
    from logic_claims.annotations.web import make_server

    server = listen(lambda: make_server(args.store, args.host, args.port), args.host, args.port)
    with Store.open(args.store) as store:
        raters = store.annotators()
    print(f"serving {args.store} at {server.url}  (Ctrl-C to stop)")
    if not ipaddress.ip_address(server.server_address[0]).is_loopback:
        print("warning: reachable from other machines; the page has no login", file=sys.stderr)
    for name in raters:
        print(f"  {name}: {server.url}?annotator={urllib.parse.quote(name)}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; every judgment is already saved")
    finally:
        server.server_close()


def port_arg(text: str) -> int:
    """A TCP port, 0..65535 (0: any free one)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {text[:20]!r}")
    return port
