"""``logic-claims annotate ...``: collect judgments of explanations (the reports on them
are in ``annotate_report_cli.py``).

Nothing here imports pandas, torch or the statistics at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from logic_claims.harness.annotate_common import (
    DIMENSION_HELP,
    names,
    store_files,
    sub_parser,
)
from logic_claims.harness.annotate_report_cli import add_report_commands
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input

# -- annotate new ---------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> None:
    from logic_claims.annotations.samples import default_system_name, read_samples
    from logic_claims.annotations.store import (
        create_atomically,
        parse_dimensions,
        plan_assignments,
    )

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


def cmd_status(args: argparse.Namespace) -> None:
    from logic_claims.annotations.store import Store

    with Store.open(args.store) as store:
        store.check()  # a damaged store says so here, not halfway through a session
        summary = store.summary()
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


def cmd_tui(args: argparse.Namespace) -> None:
    from logic_claims.annotations.tui import run_tui

    counts = run_tui(args.store, args.annotator)
    print(
        f"this session: {counts['judged']} judgments, {counts['undone']} undone, "
        f"{counts['skipped']} skips"
    )


def cmd_serve(args: argparse.Namespace) -> None:
    import ipaddress
    import urllib.parse

    from logic_claims.annotations.store import Store
    from logic_claims.annotations.web import make_server

    try:
        server = make_server(args.store, args.host, args.port)
    except (OSError, ValueError, OverflowError) as exc:  # in use, no such address, bad name
        from logic_claims.tasks.errors import clip

        reason = getattr(exc, "strerror", None) or clip(str(exc))
        where = f"{clip(args.host)} port {args.port}"
        raise InputError(f"cannot listen on {where} ({reason})") from exc
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


def _port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free one)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {text[:20]!r}")
    return port


# -- import / export ----------------------------------------------------------------------


def _rater_map(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, name = pair.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise InputError(f"--rater-map expects ID=NAME, got {pair!r}")
        out[key.strip()] = name.strip()
    return out


def cmd_import(args: argparse.Namespace) -> None:
    from logic_claims.annotations.ratings import file_format, import_judgments, read_judgments
    from logic_claims.annotations.store import Store

    path = Path(args.file)
    check_not_input(args.store, [path], "--store")
    fmt = args.format or file_format(path)
    with Store.open(args.store) as store:
        store.check()  # never add judgments to a damaged file
        if fmt == "labelstudio":
            from logic_claims.annotations.labelstudio import read_completions

            judgments = read_completions(path, store.dims_by_name, _rater_map(args.rater_map))
        elif fmt in ("csv", "jsonl"):
            judgments = read_judgments(path, store.dimensions, fmt)
        else:
            raise InputError("import reads CSV, JSONL or Label Studio JSON, not a store", path)
        if not judgments:
            raise InputError("no judgments in the file", path)
        result = import_judgments(
            store,
            judgments,
            path,
            on_conflict=args.on_conflict,
            add_annotators=args.add_annotators,
        )
    print(f"imported {path} into {args.store}: {result.describe()}")


def cmd_export(args: argparse.Namespace) -> None:
    from logic_claims.annotations.ratings import export_csv, export_jsonl
    from logic_claims.annotations.store import Store

    out = Path(args.out)
    fmt = args.format or {".csv": "csv", ".jsonl": "jsonl", ".json": "labelstudio"}.get(
        out.suffix.lower()
    )
    if fmt is None:
        raise InputError("give --format csv|jsonl|labelstudio (or end --out in .csv/.jsonl/.json)")
    to_stdout = args.out == "-"
    if to_stdout and fmt == "labelstudio":
        raise InputError("--format labelstudio writes two files (OUT.json, OUT.xml): give a path")
    # What was written goes to stderr when the export itself is on standard output.
    report = sys.stderr if to_stdout else sys.stdout
    if to_stdout:
        out = Path("standard output")
    else:
        check_not_input(out, store_files(args.store))
    with Store.open(args.store) as store:
        if fmt == "csv":
            n = export_csv(store, args.out)
            what = "rows (item, system, rater; empty cell = not rated)"
            print(f"wrote {out}: {n} {what}", file=report)
        elif fmt == "jsonl":
            n = export_jsonl(store, args.out)
            print(f"wrote {out}: {n} judgments (one per line and system)", file=report)
        else:
            from logic_claims.annotations.labelstudio import export_tasks

            config = _labelstudio_config(out, args.store)
            n = export_tasks(store, out, config)
            print(f"wrote {out} ({n} Label Studio tasks, blinded) and {config} (labeling config)")


def _labelstudio_config(out: Path, store: str) -> Path:
    """The labeling config written beside the tasks (OUT.xml), checked like --out."""
    config = out.with_suffix(".xml")
    if config == out:
        raise InputError("--format labelstudio: end --out in .json (OUT.xml is the config)", out)
    check_not_input(config, store_files(store), "--out (its .xml labeling config)")
    return config


def cmd_import_legacy(args: argparse.Namespace) -> None:
    from logic_claims.annotations.ratings import ImportResult
    from logic_claims.annotations.store import (
        DEFAULT_DIMENSIONS,
        Rating,
        Store,
        create_atomically,
    )
    from logic_claims.annotations.study_judgments import read_legacy

    path = Path(args.file)
    check_not_input(args.store, [path], "--store")
    rows = read_legacy(path, args.system)
    result = ImportResult()

    def apply(store: Store) -> None:
        for name in ("factual", "justified"):
            if name not in store.dims_by_name:
                raise InputError(f"store has no {name!r} dimension", store.path)
        if args.annotator not in store.annotators():
            store.add_annotator(args.annotator)
            result.annotators_added.append(args.annotator)
        for row in rows:
            source = f"{path.name}:{row.line}"
            store.add_item(row.item, args.system, source)
            store.assign(row.item.item_id, args.annotator)
            for dim, value in (("factual", row.factual), ("justified", row.justified)):
                rating = Rating(row.item.item_id, args.annotator, dim, value)
                try:
                    (res,) = store.rate_many([(rating, source, None)])
                except InputError as exc:
                    raise InputError(exc.problem, path, row.line) from exc
                setattr(result, res.status, getattr(result, res.status) + 1)

    store_path = Path(args.store)
    if store_path.exists():
        with Store.open(store_path) as store:
            store.check()
            with store.transaction():
                apply(store)
    else:
        create_atomically(store_path, apply, DEFAULT_DIMENSIONS, {"legacy": True})
    print(
        f"imported {len(rows)} judged answers of system {args.system} by {args.annotator} "
        f"into {store_path}: {result.describe()}"
    )


# -- argparse ------------------------------------------------------------------------------


def add_commands(subparsers: argparse._SubParsersAction) -> None:
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
        "--port", type=_port, default=8765, help="port, 0 to 65535 (default: %(default)s)"
    )
    serve.set_defaults(func=cmd_serve)

    imp = sub_parser(
        sub,
        "import",
        "add judgments from a CSV, JSONL or Label Studio export to a store",
        """\
Add judgments to an existing store, all or nothing: an unknown item or rater, a value
outside a dimension's labels, or a conflict (a rater's judgment that differs from the
stored one) stops the import with file:line, and the store is left unchanged.

Formats (by suffix or --format): .csv wide (item_id,system,annotator,factual,...),
.jsonl (one judgment per line), .json Label Studio export of tasks made by
`annotate export --format labelstudio` (raters from completed_by; map user ids to
names with --rater-map 3=ann).

examples:
  logic-claims annotate import extra.csv --store ratings.sqlite
  logic-claims annotate import project-1-at-2024.json --store ratings.sqlite \\
      --rater-map 1=ann --rater-map 2=bob""",
    )
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--store", required=True)
    imp.add_argument("--format", choices=("csv", "jsonl", "labelstudio"))
    imp.add_argument(
        "--on-conflict",
        choices=("error", "keep", "replace"),
        default="error",
        help="a judgment that differs from the stored one: error (default, nothing "
        "imported), keep the stored one, or replace it (logged)",
    )
    imp.add_argument(
        "--add-annotators", action="store_true", help="add raters the store does not know"
    )
    imp.add_argument(
        "--rater-map",
        action="append",
        metavar="ID=NAME",
        help="Label Studio user id or email -> rater name (repeatable)",
    )
    imp.set_defaults(func=cmd_import)

    exp = sub_parser(
        sub,
        "export",
        "write a store's judgments as CSV / JSONL, or its items as Label Studio tasks",
        """\
Export a store.
  csv          wide: item_id,system,annotator,<dimensions>,quantifier,claim_type,label,
               pair_id,claim,answer; one row per item, system and rater (empty = not rated)
  jsonl        one judgment per line and system, with time and item metadata
  labelstudio  OUT.json tasks (data: item_id, claim, answer; blinded) and OUT.xml, the
               labeling config to paste into the Label Studio project
--out - writes csv or jsonl to standard output. --out may not be the store itself.

examples:
  logic-claims annotate export --store ratings.sqlite --out ratings.csv
  logic-claims annotate export --store ratings.sqlite --out tasks.json --format labelstudio""",
    )
    exp.add_argument("--store", required=True)
    exp.add_argument("--out", required=True, help="the file to write (- : standard output)")
    exp.add_argument("--format", choices=("csv", "jsonl", "labelstudio"))
    exp.set_defaults(func=cmd_export)

    legacy = sub_parser(
        sub,
        "import-legacy",
        "read one of the study's human-evaluation CSVs into a store",
        """\
Read the study's human_model4.csv / human_model6.csv (no header, no quoting:
index,claim,output,factual,justified, with commas inside claim and output) into a store
(created if missing). The claim is the sentence starting All/Not all/Some/No up to its
'.', the quantifier comes from its first words, and the gold label from the
quantifier (All: false, Not all: true, Some: true, No: false).

example (the study's explanation numbers per universal/existential claims):
  logic-claims annotate import-legacy ../shared/data/seed-results/human_model4.csv \\
      --system peft-model4 --annotator study --store study.sqlite
  logic-claims annotate import-legacy ../shared/data/seed-results/human_model6.csv \\
      --system peft-model6 --annotator study --store study.sqlite
  logic-claims annotate scores study.sqlite --by system,claim_type""",
    )
    legacy.add_argument("file", metavar="FILE")
    legacy.add_argument("--system", required=True, help="name of the system that answered")
    legacy.add_argument("--annotator", required=True, help="name of the person who judged")
    legacy.add_argument("--store", required=True, help="store to add to (created if missing)")
    legacy.set_defaults(func=cmd_import_legacy)
    add_report_commands(sub)
