"""Assignment: who judges which item, and in which order.

``plan_assignments`` gives each item to a number of raters when a set is built; the
queries below read a rater's queue back from the store (its ``assignments`` and
``ratings`` tables): what is left to judge, and what comes next.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable, Sequence

from logic_claims.tasks.errors import InputError


def plan_assignments(
    item_ids: Sequence[str], annotators: Sequence[str], per_item: int, seed: int
) -> dict[str, list[str]]:
    """Give each item to ``per_item`` raters, balanced, each rater's list in its own order.

    Items are visited in a seeded random order and each goes to the ``per_item`` raters
    with the fewest items so far (ties broken at random), so loads differ by at most one
    and pairs of raters vary (good for agreement statistics). Each rater's list is then
    shuffled with a seed derived from ``seed`` and the rater's name, so raters see the
    items, and the systems behind them, in different orders.
    """
    if per_item < 1:
        raise InputError(f"--per-item must be at least 1, got {per_item}")
    if per_item > len(annotators):
        raise InputError(
            f"--per-item {per_item} needs at least {per_item} raters, got {len(annotators)}"
        )
    rng = random.Random(seed)
    order = sorted(set(item_ids))
    rng.shuffle(order)
    load = {a: 0 for a in annotators}
    plan: dict[str, list[str]] = {a: [] for a in annotators}
    for item_id in order:
        ranked = sorted(annotators, key=lambda a: (load[a], rng.random()))
        for annotator in ranked[:per_item]:
            plan[annotator].append(item_id)
            load[annotator] += 1
    for annotator, items in plan.items():
        items.sort()
        random.Random(f"{seed}:{annotator}").shuffle(items)
    return plan


def progress(conn: sqlite3.Connection, annotator: str, n_dimensions: int) -> tuple[int, int]:
    """(items fully judged, items assigned) for ``annotator``; an item is fully judged
    once it has a judgment on each of the set's ``n_dimensions`` dimensions."""
    total = conn.execute(
        "SELECT COUNT(*) FROM assignments WHERE annotator=?", (annotator,)
    ).fetchone()[0]
    done = conn.execute(
        "SELECT COUNT(*) FROM (SELECT a.item_id FROM assignments a JOIN ratings r"
        " ON r.item_id=a.item_id AND r.annotator=a.annotator WHERE a.annotator=?"
        " GROUP BY a.item_id HAVING COUNT(DISTINCT r.dimension) >= ?)",
        (annotator, n_dimensions),
    ).fetchone()[0]
    return done, total


def queue(conn: sqlite3.Connection, annotator: str, n_dimensions: int) -> list[str]:
    """Item ids assigned to ``annotator`` and not fully judged, in their order."""
    rows = conn.execute(
        "SELECT a.item_id FROM assignments a LEFT JOIN ratings r"
        " ON r.item_id=a.item_id AND r.annotator=a.annotator WHERE a.annotator=?"
        " GROUP BY a.item_id, a.position HAVING COUNT(DISTINCT r.dimension) < ?"
        " ORDER BY a.position",
        (annotator, n_dimensions),
    )
    return [r[0] for r in rows]


def next_in_queue(queue: Sequence[str], skipped: Iterable[str] = ()) -> str | None:
    """The next item to show: the first unfinished one not skipped; skipped ones come
    back (in order) when nothing else is left."""
    skipped = list(dict.fromkeys(skipped))
    for item_id in queue:
        if item_id not in skipped:
            return item_id
    for item_id in skipped:
        if item_id in queue:
            return item_id
    return None
