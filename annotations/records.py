"""The records every part of the annotation tools shares: what a set asks (Dimension),
what raters judge (Item), a judgment in the store (Rating) and as read from a file
(Judgment), and the ids that tie them together.

Nothing here touches a file: the store (``store.py``), the importers (``ratings.py``,
``labelstudio.py``, ``study_judgments.py``), the TUI and the web page all build on it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from logic_claims.tasks.claims import quantifier_of
from logic_claims.tasks.errors import InputError

# What to do with a judgment that differs from the stored one (see Store.rate).
OnConflict = Literal["error", "keep", "replace"]


BINARY_CAPTIONS = {"0": "no", "1": "yes"}  # the default dimensions' 0/1, in words


@dataclass(frozen=True)
class Dimension:
    """One question raters answer about an item, with its allowed labels (nominal)."""

    name: str
    labels: tuple[str, ...] = ("0", "1")
    question: str = ""
    definition: str = ""

    def key_map(self) -> dict[str, str]:
        """Keyboard key -> label. Single-character labels are their own key ("0"/"1");
        otherwise labels are numbered 1..9. Binary 0/1 also takes n/y."""
        if all(len(label) == 1 for label in self.labels) and len(set(self.labels)) == len(
            self.labels
        ):
            keys = {label: label for label in self.labels}
            if set(self.labels) == {"0", "1"}:
                keys.update({"n": "0", "y": "1"})
            return keys
        return {str(i): label for i, label in enumerate(self.labels, start=1)}

    def caption(self, label: str) -> str:
        """What a rater reads for a label: "no"/"yes" for the binary 0/1, else the label."""
        if set(self.labels) == {"0", "1"}:
            return BINARY_CAPTIONS[label]
        return label

    def key_of(self, label: str) -> str:
        return next(k for k, v in self.key_map().items() if v == label)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Dimension:
        return cls(
            name=obj["name"],
            labels=tuple(obj["labels"]),
            question=obj.get("question", ""),
            definition=obj.get("definition", ""),
        )


FACTUAL = Dimension(
    "factual",
    ("0", "1"),
    question="Is the explanation factual?",
    definition="The facts stated are verifiably true.",
)
JUSTIFIED = Dimension(
    "justified",
    ("0", "1"),
    question="Does the explanation justify the answer?",
    definition="The explanation validly leads to the answer.",
)
DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (FACTUAL, JUSTIFIED)
_DEFAULTS_BY_NAME = {d.name: d for d in DEFAULT_DIMENSIONS}


def parse_dimension(spec: str) -> Dimension:
    """``NAME[:LABEL/LABEL/...[:DEFINITION]]`` -> Dimension.

    ``factual`` and ``justified`` alone get their study definitions and 0/1 labels;
    any other name without labels is binary 0/1.
    """
    name, _, rest = spec.partition(":")
    name = name.strip()
    labels_text, _, definition = rest.partition(":")
    if not name or not name.replace("_", "").isalnum():
        raise InputError(f"dimension name must be letters, digits or _ (got {spec!r})")
    base = _DEFAULTS_BY_NAME.get(name, Dimension(name))
    labels = base.labels
    if labels_text.strip():
        labels = tuple(label.strip() for label in labels_text.split("/"))
        if any(not label for label in labels) or len(set(labels)) != len(labels):
            raise InputError(f"dimension {name}: labels must be distinct and non-empty")
        if len(labels) < 2:
            raise InputError(f"dimension {name}: needs at least two labels")
        if len(labels) > 9 and not all(len(label) == 1 for label in labels):
            raise InputError(f"dimension {name}: at most 9 multi-character labels (one key each)")
    definition = definition.strip() or base.definition
    question = base.question or f"{name.replace('_', ' ').capitalize()}?"
    return Dimension(name, labels, question, definition)


def parse_dimensions(specs: Sequence[str] | None) -> tuple[Dimension, ...]:
    """``--dimension`` specs -> the set's dimensions (none given: factual, justified)."""
    if not specs:
        return DEFAULT_DIMENSIONS
    dims = tuple(parse_dimension(s) for s in specs)
    names = [d.name for d in dims]
    if len(set(names)) != len(names):
        raise InputError(f"dimension given twice: {', '.join(names)}")
    return dims


def content_hash(*parts: str) -> str:
    """A short stable id of texts (JSON-encoded so ("a,b","c") != ("a","b,c"))."""
    blob = json.dumps([p.strip() for p in parts], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def item_id_of(claim: str, answer: str) -> str:
    """The id of an item: the same claim and answer are one item, whoever answered."""
    return content_hash(claim, answer)


def pair_id_of(claim: str) -> str:
    """Key shared by every system's answer to the same claim (paired comparisons)."""
    return content_hash(claim)


@dataclass
class Item:
    """A claim and one answer to it (from one or more systems)."""

    claim: str
    answer: str
    quantifier: str | None = None
    label: bool | None = None
    target: str | None = None
    doc_id: str | None = None
    item_id: str = field(default="")
    pair_id: str = field(default="")

    def __post_init__(self) -> None:
        self.item_id = self.item_id or item_id_of(self.claim, self.answer)
        self.pair_id = self.pair_id or pair_id_of(self.claim)
        if self.quantifier is None:
            self.quantifier = quantifier_of(self.claim)


@dataclass(frozen=True)
class Rating:
    """One judgment as the store holds it: a rater's label of an item on a dimension."""

    item_id: str
    annotator: str
    dimension: str
    value: str


@dataclass(frozen=True)
class RateResult:
    """What a rate() call did: "new", "same" (already there), "replaced", or "kept"
    (a conflict resolved in favour of the stored value)."""

    status: str
    previous: str | None = None


class ConflictError(InputError):
    """A judgment that differs from the one already stored for (item, annotator, dimension)."""


# Label Studio tasks are blinded: a completion names the item, never the system, so its
# judgments apply to whichever system(s) gave that answer.
ANY_SYSTEM = "*"


@dataclass
class Judgment:
    """One judgment read from a file, with where it came from."""

    item_id: str
    system: str
    annotator: str
    dimension: str
    value: str
    line: int
    time: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # Who the rater is, as the file says: a person (any file of people) or a model judge,
    # with the judge's settings (only an export of a store with judges carries them).
    rater_kind: str = "person"
    judge: dict[str, Any] | None = None
