"""``logic-claims annotate sample`` and what ``scores|compare --judge`` share: the random
sample of generics people judge, recorded in the store, for prediction-powered scores.

Nothing here imports pandas or the statistics at module level, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
from typing import Any

from logic_claims.harness.annotate_common import names, sub_parser
from logic_claims.tasks.errors import InputError

SAMPLE_DESCRIPTION = """\
Draw which generics people judge, at random, and record the design in the store.

Prediction-powered scores (`annotate scores --judge NAME`) combine people's judgments of a
random sample with a model judge's of every item: unbiased whatever the judge, narrower
than people alone when the judge is informative. The unit is the generic: every claim of a
drawn generic, in every system, so clusters and paired differences stay whole. People
(--annotators, default the set's people) are assigned only the sampled items (their
unjudged items outside it are withdrawn, nothing they judged is lost); the store keeps the
seed, unit, strata and each stratum's inclusion probability. A later draw replaces it.

--strata judge:NAME stratifies by the judge's verdicts (generics where it said "no"
anywhere, the rest) with equal allocation, so rare labels get sampled; the design's
weights undo the oversampling in the estimate. Run it after `annotate judge`.

examples:
  logic-claims annotate sample --store study.sqlite --people 60 --seed 1
  logic-claims annotate sample --store study.sqlite --people 0.1 --seed 1 \\
      --strata judge:judge-smollm2-135m-instruct-loglik --annotators ann,bob --per-item 2
  logic-claims annotate status --store study.sqlite       # people's budget used"""


def add_sample(sub: Any) -> None:
    """The parser of ``annotate sample``."""
    p = sub_parser(sub, "sample", "draw the random sample of generics people judge (PPI)",
                   SAMPLE_DESCRIPTION)  # fmt: skip
    p.add_argument("--store", required=True)
    p.add_argument(
        "--people", required=True, metavar="N|FRACTION",
        help="generics people judge: a count (60) or a fraction of the store's (0.1)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, required=True, help="seed of the draw (recorded)")
    p.add_argument(
        "--strata", metavar="system|judge:NAME",
        help="draw within strata: the systems that answered a generic, or a judge's verdicts",
    )  # fmt: skip
    p.add_argument(
        "--annotators", metavar="A,B", help="the people who judge the sample (default: the "
        "set's people; new names are added)",
    )  # fmt: skip
    p.add_argument("--per-item", type=int, default=1, metavar="K", help="people per item")
    p.set_defaults(func=cmd_sample)


def _withdraw_outside(store: Any, person: str, inside: set[str]) -> int:
    """Remove ``person``'s assignments outside the sample that they have not judged."""
    rows = store.conn.execute(
        "SELECT a.item_id FROM assignments a WHERE a.annotator=? AND NOT EXISTS "
        "(SELECT 1 FROM ratings r WHERE r.item_id=a.item_id AND r.annotator=a.annotator)",
        (person,),
    ).fetchall()
    gone = [r[0] for r in rows if r[0] not in inside]
    store.conn.executemany(
        "DELETE FROM assignments WHERE item_id=? AND annotator=?", [(i, person) for i in gone]
    )
    return len(gone)


def cmd_sample(args: argparse.Namespace) -> None:
    from logic_claims.annotations import design as ppi_design
    from logic_claims.annotations.assignment import plan_assignments
    from logic_claims.annotations.store import Store

    with Store.open(args.store) as store:
        store.check()
        people = names(args.annotators, "--annotators") if args.annotators else store.people()
        if not people:
            raise InputError("this set has no people yet: name them with --annotators A,B")
        for person in people:
            if store.rater_kind(person) == "model":
                raise InputError(f"--annotators: {person!r} is a model judge, not a person")
        strata = ppi_design.store_strata(store, args.strata)
        drawn = ppi_design.draw(strata, args.people, args.seed, args.strata)
        generics = ppi_design.item_generics(store)
        inside = {i for i, g in generics.items() if g in drawn.sampled}
        plan = plan_assignments(sorted(inside), people, args.per_item, args.seed)
        with store.transaction():
            withdrawn = 0
            for person in people:
                store.add_annotator(person)
                withdrawn += _withdraw_outside(store, person, inside)
            for person, items in plan.items():
                for item in items:
                    store.assign(item, person)
            ppi_design.save_design(store, drawn)
    print(
        f"{args.store}: people judge {len(drawn.sampled)} of {len(strata)} generics "
        f"({len(inside)} of {len(generics)} items), seed {args.seed}"
    )
    for name, s in drawn.strata.items():
        print(f"  stratum {name}: {s.sampled} of {s.generics} generics (p = {s.probability:.3g})")
    print(f"  {', '.join(people)}: {args.per_item} per item; {withdrawn} unjudged items "
          "outside the sample withdrawn")  # fmt: skip


def budget(store: Any) -> dict[str, Any] | None:
    """People's budget for ``annotate status``: the sample and how much of it is judged."""
    from logic_claims.annotations import design as ppi_design

    drawn = ppi_design.load_design(store)
    if drawn is None:
        return None
    generics = ppi_design.item_generics(store)
    inside = {i for i, g in generics.items() if g in drawn.sampled}
    people = set(store.people())
    judged = {
        item
        for item, rater in store.conn.execute("SELECT DISTINCT item_id, annotator FROM ratings")
        if rater in people and item in inside
    }
    return {
        "seed": drawn.seed,
        "unit": drawn.unit,
        "strata_by": drawn.strata_by,
        "generics": len(drawn.sampled),
        "items": len(inside),
        "items_judged": len(judged),
        "strata": {k: {"generics": v.generics, "sampled": v.sampled, "probability": v.probability}
                   for k, v in drawn.strata.items()},
    }  # fmt: skip


def budget_line(b: dict[str, Any]) -> str:
    share = b["items_judged"] / b["items"] if b["items"] else 0.0
    strata = f", strata {b['strata_by']}" if b["strata_by"] else ""
    return (
        f"people's sample: {b['generics']} generics, {b['items']} items (seed {b['seed']}"
        f"{strata}); judged by people: {b['items_judged']} of {b['items']} ({share:.0%})"
    )


def ppi_design_for(store_path: str, judge: str, assume_random: bool) -> tuple[Any, list[str]]:
    """The design PPI uses for ``--judge``: the store's recorded sample, or None with
    ``--assume-random``; refusals (one line) for a file that is not a store, a judge that
    is a person or no rater, a store without a sample."""
    from logic_claims.annotations import design as ppi_design
    from logic_claims.annotations.ratings import file_format
    from logic_claims.annotations.store import Store

    if file_format(store_path) != "store":
        raise InputError("--judge needs an annotation store (the sample and the judge live there)")
    with Store.open(store_path) as store:
        ppi_design.check_judge(store, judge)
        drawn = ppi_design.load_design(store)
        people = store.people()
    if drawn is None and not assume_random:
        raise InputError(ppi_design.NO_DESIGN, store_path)
    return (None if assume_random and drawn is None else drawn), people


def add_judge_options(parser: argparse.ArgumentParser) -> None:
    """``--judge NAME`` and ``--assume-random`` of ``annotate scores|compare``."""
    parser.add_argument(
        "--judge", metavar="NAME",
        help="a model judge of the store: add prediction-powered (PPI) estimates from "
        "people's random sample (`annotate sample`) and the judge's ratings of every item",
    )  # fmt: skip
    parser.add_argument(
        "--assume-random", action="store_true",
        help="with --judge on a store without a recorded sample: treat the items people "
        "judged as a uniform random sample of generics (the report says so)",
    )  # fmt: skip
