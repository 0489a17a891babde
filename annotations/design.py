"""The people's sample of a store: which generics people judge, drawn at random and recorded.

Prediction-powered estimates (``stats.ppi_mean``) are valid only when the items people
judged are a random sample whose inclusion probabilities are known. ``annotate sample``
draws **generics** (the unit: every claim of a drawn generic, in every system, so
clusters and paired differences stay whole), optionally within strata, and the store
keeps the design: seed, unit, strata, each stratum's size, draw and inclusion
probability, and the generics drawn.

Strata (``strata_by``):

- ``None``: one stratum, a uniform sample of generics.
- ``"system"``: generics grouped by the systems that answered them (``model4+model6``).
- ``"judge:NAME"``: by the judge's verdicts on the generic's items: ``judge-no`` when
  it gave the negative label (``"0"``) on any dimension of any of them, ``judge-yes``
  otherwise, ``unjudged`` where it gave none. Rare labels then get sampled: the study's
  "not justified" is 2.9% of items.

Allocation is equal across strata (``k / H`` each, capped at a stratum's size, the rest to
the others), so a rare stratum is oversampled; the weights ``1 / pi`` (judged) and
``1 / (1 - pi)`` (not judged) undo it in the estimate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from logic_claims.tasks.errors import InputError

UNIT = "generic"


@dataclass(frozen=True)
class Stratum:
    """One stratum: its generics, how many were drawn, the inclusion probability."""

    generics: int
    sampled: int

    @property
    def probability(self) -> float:
        return self.sampled / self.generics


@dataclass(frozen=True)
class Design:
    """A recorded random sample of generics for people (see the module)."""

    seed: int
    strata_by: str | None
    strata: dict[str, Stratum]
    stratum_of: dict[str, str]  # every generic of the store -> its stratum
    sampled: frozenset[str]
    unit: str = UNIT
    assume_random: bool = field(default=False, compare=False)

    def weight(self, generic: str) -> float:
        """The design weight of an item of ``generic``: ``1/pi`` if drawn, ``1/(1-pi)`` if not."""
        p = self.strata[self.stratum_of[generic]].probability
        return 1 / p if generic in self.sampled else 1 / (1 - p)

    def to_json(self) -> str:
        return json.dumps(
            {
                "seed": self.seed,
                "unit": self.unit,
                "strata_by": self.strata_by,
                "strata": {k: asdict(v) for k, v in self.strata.items()},
                "stratum_of": self.stratum_of,
                "sampled": sorted(self.sampled),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Design:
        d = json.loads(text)
        return cls(
            seed=int(d["seed"]),
            strata_by=d["strata_by"],
            strata={k: Stratum(**v) for k, v in d["strata"].items()},
            stratum_of=dict(d["stratum_of"]),
            sampled=frozenset(d["sampled"]),
            unit=d["unit"],
        )

    def check_matches(self, generics: set[str], source: Any = None) -> None:
        """The store's generics must be the design's: one line naming the difference."""
        known = set(self.stratum_of)
        if generics != known:
            new, gone = sorted(generics - known), sorted(known - generics)
            what = f"{len(new)} generic(s) added since (e.g. {new[0]!r})" if new else ""
            what += ("; " if new and gone else "") + (
                f"{len(gone)} generic(s) gone (e.g. {gone[0]!r})" if gone else ""
            )
            raise InputError(
                f"the recorded sample does not match the store's items: {what}; "
                "draw a new one with `annotate sample`",
                source,
            )


def people_count(people: str | float, n_generics: int) -> int:
    """``--people``: a count of generics (``40``) or a fraction of them (``0.1``)."""
    try:
        value = float(people)
    except (TypeError, ValueError):
        raise InputError(f"--people must be a count or a fraction, got {people!r}") from None
    if 0 < value < 1:
        count = round(value * n_generics)
    elif value >= 1 and value.is_integer():
        count = int(value)
    else:
        raise InputError(
            f"--people must be a whole count >= 1 or a fraction in (0, 1), got {people}"
        )
    if not 2 <= count <= n_generics:
        raise InputError(
            f"--people {people} gives {count} of the store's {n_generics} generics; "
            "draw at least 2 and at most all of them"
        )
    return count


def _allocate(sizes: dict[str, int], total: int) -> dict[str, int]:
    """Equal allocation of ``total`` over strata, capped at each stratum's size."""
    take = dict.fromkeys(sizes, 0)
    left = total
    while left > 0:
        open_ = [s for s in sorted(sizes) if take[s] < sizes[s]]
        share, extra = divmod(left, len(open_))
        for i, s in enumerate(open_):
            add = min(sizes[s] - take[s], share + (1 if i < extra else 0))
            take[s] += add
            left -= add
    return take


def draw(
    stratum_of: Mapping[str, str], people: str | float, seed: int, strata_by: str | None = None
) -> Design:
    """Draw ``people`` generics (count or fraction) from ``stratum_of``'s, per stratum
    without replacement; the same seed gives the same sample."""
    if not stratum_of:
        raise InputError("the store has no items to sample")
    count = people_count(people, len(stratum_of))
    members: dict[str, list[str]] = {}
    for generic in sorted(stratum_of):
        members.setdefault(stratum_of[generic], []).append(generic)
    take = _allocate({s: len(g) for s, g in members.items()}, count)
    short = [s for s in sorted(members) if take[s] < min(2, len(members[s]))]
    if short:
        raise InputError(
            f"--people {people} draws {count} generics over {len(members)} strata: stratum "
            f"{short[0]!r} would get {take[short[0]]}; draw at least 2 per stratum"
        )
    sampled: set[str] = set()
    for index, name in enumerate(sorted(members)):
        rng = np.random.default_rng([seed, index])
        chosen = rng.choice(len(members[name]), take[name], replace=False)
        sampled.update(members[name][i] for i in chosen)
    strata = {s: Stratum(len(g), take[s]) for s, g in sorted(members.items())}
    return Design(seed, strata_by, strata, dict(stratum_of), frozenset(sampled))


def judge_strata(generic_of_item: Mapping[str, str], verdicts: Mapping[str, list[str]]) -> dict:
    """``judge:NAME`` strata: per generic ``judge-no`` / ``judge-yes`` / ``unjudged`` from the
    judge's values on its items (``verdicts``: item id -> values over dimensions)."""
    rank = {"judge-yes": 0, "unjudged": 1, "judge-no": 2}
    out: dict[str, str] = {}
    for item, generic in generic_of_item.items():
        values = verdicts.get(item, [])
        mine = "judge-no" if "0" in values else ("judge-yes" if values else "unjudged")
        out[generic] = max(out.get(generic, "judge-yes"), mine, key=rank.__getitem__)
    return out


# -- the design in the store (schema version 3: ``people_samples``) ------------------------


def item_generics(store: Any) -> dict[str, str]:
    """Every item of the store -> its generic (from its claim)."""
    from logic_claims.tasks.claims import generic_of

    rows = store.conn.execute("SELECT item_id, claim FROM items ORDER BY item_id")
    return {item: generic_of(claim) for item, claim in rows}


def store_strata(store: Any, strata_by: str | None) -> dict[str, str]:
    """Each generic's stratum for ``--strata`` (None, ``system`` or ``judge:NAME``)."""
    generics = item_generics(store)
    if strata_by is None:
        return dict.fromkeys(generics.values(), "all")
    if strata_by == "system":
        systems: dict[str, set[str]] = {}
        for item, system in store.conn.execute("SELECT item_id, system FROM item_systems"):
            systems.setdefault(generics[item], set()).add(system)
        return {g: "+".join(sorted(s)) for g, s in systems.items()}
    kind, _, judge = strata_by.partition(":")
    if kind != "judge" or not judge:
        raise InputError(f"--strata must be system or judge:NAME, got {strata_by!r}")
    check_judge(store, judge)
    verdicts: dict[str, list[str]] = {}
    query = "SELECT item_id, value FROM ratings WHERE annotator=?"
    for item, value in store.conn.execute(query, (judge,)):
        verdicts.setdefault(item, []).append(value)
    return judge_strata(generics, verdicts)


def check_judge(store: Any, name: str) -> None:
    """``name`` must be a model rater of the store (a person's name is refused)."""
    kind = store.rater_kind(name)
    if kind is None:
        judges = [a for a in store.annotators() if store.rater_kind(a) == "model"]
        shown = ", ".join(judges) if judges else "none yet: run `annotate judge`"
        raise InputError(f"--judge {name!r} is not a rater of this set (judges: {shown})")
    if kind != "model":
        raise InputError(
            f"--judge {name!r} is a person; PPI needs a model judge (`annotate judge`) "
            "beside people's sample"
        )


def save_design(store: Any, design: Design) -> None:
    """Record ``design`` as the store's current people's sample (inside a transaction)."""
    from logic_claims.annotations.store_file import now

    store.conn.execute(
        "INSERT INTO people_samples (drawn_at, seed, unit, strata_by, design) "
        "VALUES (?, ?, ?, ?, ?)",
        (now(), design.seed, design.unit, design.strata_by, design.to_json()),
    )


def load_design(store: Any) -> Design | None:
    """The store's current people's sample, or None if none was drawn."""
    row = store.conn.execute(
        "SELECT design FROM people_samples ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return None if row is None else Design.from_json(row[0])


NO_DESIGN = (
    "has no recorded random sample for people, so PPI cannot trust that the judged items "
    "are one: draw one with `annotate sample --store S --people N --seed S`, or pass "
    "--assume-random to accept these judgments as a uniform random sample of generics "
    "(the report says so)"
)
