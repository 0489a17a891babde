"""``logic-claims annotate import|export|import-legacy``: judgments into and out of a store.

Each command is a parser (``add_NAME``) next to the function it runs (``cmd_NAME``).
Nothing here imports pandas at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from logic_claims.harness.annotate_common import store_files, sub_parser
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input


def add_io_commands(sub: Any) -> None:
    """Add ``import``, ``export`` and ``import-legacy`` to the ``annotate`` commands."""
    for add in (add_import, add_export, add_import_legacy):
        add(sub)


def add_import(sub: Any) -> None:
    """The parser of ``annotate import``."""
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


def _rater_map(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        key, sep, name = pair.partition("=")
        if not sep or not key.strip() or not name.strip():
            raise InputError(f"--rater-map expects ID=NAME, got {pair!r}")
        out[key.strip()] = name.strip()
    return out


def cmd_import(args: argparse.Namespace) -> None:
    from logic_claims.annotations.ratings import file_format, read_judgments
    from logic_claims.annotations.store import Store
    from logic_claims.annotations.store_io import import_judgments

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


def add_export(sub: Any) -> None:
    """The parser of ``annotate export``."""
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
               labeling config to paste into the Label Studio project; with
               --with-judgments the tasks carry the judgments (people's, and judges' as
               predictions with their settings) and import back
csv and jsonl name each rater's kind (rater_kind: person or model) and a judge's
settings (judge); an import restores them. People's files never write as a model judge.
--out - writes csv or jsonl to standard output. --out may not be the store itself.

examples:
  logic-claims annotate export --store ratings.sqlite --out ratings.csv
  logic-claims annotate export --store ratings.sqlite --out tasks.json --format labelstudio""",
    )
    exp.add_argument("--store", required=True)
    exp.add_argument("--out", required=True, help="the file to write (- : standard output)")
    exp.add_argument("--format", choices=("csv", "jsonl", "labelstudio"))
    exp.add_argument(
        "--with-judgments",
        action="store_true",
        help="labelstudio: put the stored judgments in the tasks (people's as annotations, "
        "each judge's as predictions with its settings) to archive or move a set; not for a "
        "project people will judge (Label Studio shows them predictions)",
    )
    exp.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> None:
    from logic_claims.annotations.ratings import format_of_suffix
    from logic_claims.annotations.store import Store
    from logic_claims.annotations.store_io import export_csv, export_jsonl

    out = Path(args.out)
    fmt = args.format or format_of_suffix(out)
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
            n = export_tasks(store, out, config, with_judgments=args.with_judgments)
            what = "with the stored judgments" if args.with_judgments else "blinded"
            print(f"wrote {out} ({n} Label Studio tasks, {what}) and {config} (labeling config)")


def _labelstudio_config(out: Path, store: str) -> Path:
    """The labeling config written beside the tasks (OUT.xml), checked like --out."""
    config = out.with_suffix(".xml")
    if config == out:
        raise InputError("--format labelstudio: end --out in .json (OUT.xml is the config)", out)
    check_not_input(config, store_files(store), "--out (its .xml labeling config)")
    return config


def add_import_legacy(sub: Any) -> None:
    """The parser of ``annotate import-legacy``."""
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


def cmd_import_legacy(args: argparse.Namespace) -> None:
    from logic_claims.annotations.study_judgments import import_study_judgments

    path, store_path = Path(args.file), Path(args.store)
    check_not_input(store_path, [path], "--store")
    n_rows, result = import_study_judgments(path, args.system, args.annotator, store_path)
    print(
        f"imported {n_rows} judged answers of system {args.system} by {args.annotator} "
        f"into {store_path}: {result.describe()}"
    )
