"""``logic-claims annotate scores|agreement|compare``: the reports on the judgments.

Nothing here imports pandas or the statistics at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from logic_claims.harness.annotate_common import (
    DIMENSION_HELP,
    RATINGS_HELP,
    names,
    store_files,
    sub_parser,
)
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.io import check_not_input

# -- reports ------------------------------------------------------------------------------


def _load(args: argparse.Namespace) -> tuple[Any, dict[str, list[str]]]:
    """The ratings DataFrame and each dimension's full label set (a store knows its own;
    CSV/JSONL files take --dimension, default factual and justified 0/1)."""
    from logic_claims.annotations.ratings import file_format, load_ratings
    from logic_claims.annotations.records import parse_dimensions
    from logic_claims.annotations.store import Store

    if getattr(args, "html", None):
        check_not_input(args.html, store_files(args.ratings), "--html")
    if file_format(args.ratings) == "store":
        if args.dimension:
            raise InputError("--dimension is for CSV/JSONL files; a store knows its dimensions")
        with Store.open(args.ratings) as store:
            dimensions = store.dimensions
    else:
        dimensions = parse_dimensions(args.dimension)
    ratings = load_ratings(args.ratings, dimensions)
    if ratings.empty:
        raise InputError("no judgments yet", args.ratings)
    present = set(ratings["dimension"])
    labels = {d.name: list(d.labels) for d in dimensions if d.name in present}
    return ratings, labels


def _only_raters(ratings: Any, raters: list[str], where: str) -> Any:
    """The judgments of ``raters`` only (``annotate scores --raters``)."""
    known = set(ratings["annotator"])
    unknown = [r for r in raters if r not in known]
    if unknown:
        raise InputError(
            f"--raters: no judgments by {', '.join(unknown)} (raters: {', '.join(sorted(known))})",
            where,
        )
    return ratings[ratings["annotator"].isin(raters)]


def _positive(args: argparse.Namespace, labels: dict[str, list[str]]) -> dict[str, str]:
    """--positive DIM=LABEL; the binary dimensions default to "1"."""
    out = {name: "1" for name, dim_labels in labels.items() if "1" in dim_labels}
    for pair in getattr(args, "positive", None) or []:
        name, sep, label = pair.partition("=")
        if not sep or name.strip() not in labels:
            raise InputError(
                f"--positive expects DIMENSION=LABEL with a dimension of the ratings "
                f"({', '.join(labels)}), got {pair!r}"
            )
        if label.strip() not in labels[name.strip()]:
            raise InputError(
                f"--positive {pair}: {label.strip()!r} is not a label of {name.strip()} "
                f"({'/'.join(labels[name.strip()])})"
            )
        out[name.strip()] = label.strip()
    missing = [name for name in labels if name not in out]
    if missing:
        raise InputError(
            f"say which label counts as positive for {', '.join(missing)}: "
            f"--positive {missing[0]}=LABEL"
        )
    return out


def _emit(args: argparse.Namespace, report: dict[str, Any]) -> None:
    from logic_claims.harness.report.annotations import render_html, render_text
    from logic_claims.tasks.io import write_text

    if getattr(args, "html", None):
        write_text(args.html, render_html(report))
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render_text(report))
    if getattr(args, "html", None):
        print(f"wrote {args.html}", file=sys.stderr)


def cmd_scores(args: argparse.Namespace) -> None:
    from logic_claims.annotations import reports

    ratings, labels = _load(args)
    by = names(args.by, "--by") if args.by else []
    unknown = [c for c in by if c not in ratings.columns]
    if unknown:
        raise InputError(
            f"--by: unknown column(s) {', '.join(unknown)} (use system, quantifier, "
            "claim_type, annotator, ...)"
        )
    beside: dict[str, Any] = {}
    if args.raters:  # a judge among them: its calibration is printed beside its scores
        from logic_claims.annotations.calibration import judges_calibrations

        chosen = names(args.raters, "--raters")
        ratings = _only_raters(ratings, chosen, args.ratings)
        beside = judges_calibrations(args.ratings, chosen)
    report = reports.scores_report(
        ratings, by=by, positive=_positive(args, labels), combine=args.combine, labels=labels
    )
    if beside:
        report["judge_calibration"] = beside
    _emit(args, report)
    if beside and not args.json:
        from logic_claims.harness.report.calibration import render_beside_scores

        print(render_beside_scores(args.ratings, beside))


def cmd_agreement(args: argparse.Namespace) -> None:
    from logic_claims.annotations import reports

    ratings, labels = _load(args)
    _emit(args, reports.agreement_report(ratings, labels=labels))


def cmd_compare_judgments(args: argparse.Namespace) -> None:
    from logic_claims.annotations import reports

    ratings, labels = _load(args)
    systems = names(args.systems, "--systems")
    if len(systems) < 2:
        raise InputError("--systems: name at least two systems to compare")
    known = set(ratings["system"])
    unknown = [s for s in systems if s not in known]
    if unknown:
        raise InputError(
            f"--systems: no judgments of {', '.join(unknown)} (have: {', '.join(sorted(known))})",
            args.ratings,
        )
    if args.baseline and args.baseline not in systems:
        raise InputError(f"--baseline {args.baseline} is not one of --systems")
    report = reports.compare_report(
        ratings,
        systems=systems,
        baseline=args.baseline,
        positive=_positive(args, labels),
        labels=labels,
        mcnemar=args.mcnemar,
        primary_test=args.primary_test,
    )
    _emit(args, report)


def _report_args(parser: argparse.ArgumentParser, positive: bool = True) -> None:
    parser.add_argument("ratings", metavar="RATINGS", help=RATINGS_HELP)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--html", metavar="OUT.html", help="also write an HTML page")
    parser.add_argument(
        "--dimension", action="append", metavar="SPEC", help=DIMENSION_HELP + " (CSV/JSONL only)"
    )
    if positive:
        parser.add_argument(
            "--positive",
            action="append",
            metavar="DIM=LABEL",
            help="the label whose rate is reported, per dimension (default: 1 for 0/1 "
            "dimensions; needed for other nominal dimensions)",
        )


def _add_scores(sub: Any) -> None:
    """The ``annotate scores`` parser."""
    scores = sub_parser(
        sub,
        "scores",
        "factual / justified rates per group, with Wilson 95%% intervals",
        """\
Rates of each dimension per group (--by columns of the ratings), with Wilson 95%
intervals. How raters are combined is stated in the output.

examples:
  logic-claims annotate scores ratings.sqlite --by system,quantifier
  logic-claims annotate scores ratings.csv --by system,claim_type --json""",
    )
    _report_args(scores)
    scores.add_argument(
        "--by",
        metavar="COLS",
        help="comma-separated grouping columns: system, quantifier, claim_type, annotator",
    )
    scores.add_argument(
        "--combine",
        choices=("mean", "majority"),
        default="mean",
        help="how one item's raters are combined: the share of raters giving the label "
        "(mean rater share; default, the estimand `annotate compare` tests) or the per-item "
        "majority label (a tie counts half)",
    )
    scores.add_argument(
        "--raters",
        metavar="A,B",
        help="only these raters' judgments; a judge's (annotate judge) come with its "
        "agreement with people",
    )
    scores.set_defaults(func=cmd_scores)


def add_report_commands(sub: Any) -> None:
    """Add scores, agreement and compare to the ``annotate`` group."""
    _add_scores(sub)
    agreement = sub_parser(
        sub,
        "agreement",
        "inter-rater agreement per dimension (alpha, kappas, AC1, prevalence)",
        """\
Per dimension: items and raters, percent agreement, Krippendorff's alpha (nominal) with
a bootstrap 95% interval, Fleiss' kappa, pairwise Cohen's kappa, Gwet's AC1 and the
prevalence of each label. Text, JSON, and an HTML page with a plot.

example:
  logic-claims annotate agreement ratings.sqlite --html agreement.html""",
    )
    _report_args(agreement, positive=False)
    agreement.set_defaults(func=cmd_agreement)

    compare = sub_parser(
        sub,
        "compare",
        "are system A's explanations better than B's? paired tests, Holm-corrected",
        """\
Compare systems on each dimension in one estimand, the mean rater share (the share of an
item's raters giving the label, averaged over claims), as `annotate scores` reports it.
Primary test, paired on claims judged for both systems: a sign-flip test with the claims
of one generic as a cluster (cluster bootstrap interval, design effect, minimum detectable
difference); unpaired: a permutation test. Holm-corrected across comparisons.
Sensitivity analysis: McNemar (mid-p; --mcnemar exact) or Fisher on per-item majority
labels, labelled so. The report says which test was used and why.

example:
  logic-claims annotate compare ratings.sqlite --systems base,peft8 --baseline base""",
    )
    _report_args(compare)
    compare.add_argument("--systems", required=True, metavar="A,B[,C]", help="systems to compare")
    compare.add_argument("--baseline", help="compare each system with this one only")
    compare.add_argument(
        "--primary-test",
        choices=("sign-flip", "clustered-mcnemar", "permutation"),
        default="sign-flip",
        help="the test of record, declared before the data are seen (paired comparisons): "
        "sign-flip (default) or clustered-mcnemar, claims of one generic as a cluster; "
        "permutation treats claims as independent",
    )
    compare.add_argument(
        "--mcnemar",
        choices=("midp", "exact"),
        default="midp",
        help="the sensitivity McNemar test on majority labels: mid-p (default; Fagerland "
        "et al. 2013) or exact (conservative)",
    )
    compare.set_defaults(func=cmd_compare_judgments)
