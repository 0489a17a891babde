"""The claim vocabulary: the one quantifier table and the claim record type.

Every part of the project that needs a quantifier's name, word, type (universal or
existential) or the truth it gives a claim by itself reads it from :data:`TABLE`.

=========  =========  ===========  =============  ==========
name       word       class        default truth  source CSV
=========  =========  ===========  =============  ==========
all        All        universal    false          negative
not_all    Not all    universal    true           negative
some       Some       existential  true           positive
no         No         existential  false          positive
=========  =========  ===========  =============  ==========

The default truth is the claim's truth on the test split, where a generic with an
exception makes "All K P." false and "Not all K P." true, and a generic with an
instance makes "Some K P." true and "No K P." false. The contrast split is built so
that this rule scores exactly one half.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

QuantifierName = Literal["all", "not_all", "some", "no"]
ClaimType = Literal["universal", "existential"]


@dataclass(frozen=True)
class Quantifier:
    """One row of the quantifier table."""

    name: QuantifierName
    word: str  # as a claim starts: "Not all birds fly."
    claim_type: ClaimType
    default_truth: bool  # the truth of the claim when only its quantifier is known
    source: str  # the CSV whose rows give this quantifier's claims


TABLE: tuple[Quantifier, ...] = (
    Quantifier("all", "All", "universal", False, "negative"),
    Quantifier("not_all", "Not all", "universal", True, "negative"),
    Quantifier("some", "Some", "existential", True, "positive"),
    Quantifier("no", "No", "existential", False, "positive"),
)

# The longest claim any command reads (a data dir's records; a user's own claims): a
# generic sentence is tens of characters, the study's longest a few hundred. One 10 MB
# "claim" would stall tokenisation and generation with no progress, so it is refused.
MAX_CLAIM_CHARS = 4000

BY_NAME: dict[str, Quantifier] = {q.name: q for q in TABLE}
QUANTIFIERS: tuple[str, ...] = tuple(q.name for q in TABLE)
WORDS: dict[str, str] = {q.name: q.word for q in TABLE}
DEFAULT_TRUTH: dict[str, bool] = {q.name: q.default_truth for q in TABLE}
CLAIM_TYPES: dict[str, tuple[str, ...]] = {
    c: tuple(q.name for q in TABLE if q.claim_type == c) for c in ("universal", "existential")
}
# The study's summary rows: each claim type, then all claims.
SUMMARY_GROUPS: tuple[str, ...] = (*CLAIM_TYPES, "overall")
# Report order: each claim type's quantifiers, then the type.
ORDER: tuple[str, ...] = tuple(x for c, qs in CLAIM_TYPES.items() for x in (*qs, c))

# Longest first, so "Not all" is read before "No".
_BY_WORDS = sorted(((q.word.lower().split(), q.name) for q in TABLE), key=lambda p: -len(p[0]))


def quantifier_of(claim: str) -> str | None:
    """all / not_all / some / no from the claim's first words ("Not all ..." -> not_all);
    None if it starts with none of them."""
    words = str(claim).strip().lower().replace(",", " ").split()
    for prefix, name in _BY_WORDS:
        if words[: len(prefix)] == prefix:
            return name
    return None


def generic_of(claim: str) -> str:
    """The generic a claim was built from, as its words after the quantifier, lower case
    ("Not all birds fly." -> "birds fly."): claims of one generic share it, so it is their
    cluster in the statistics. A claim with no quantifier is its own generic."""
    words = str(claim).strip().lower().replace(",", " ").split()
    for prefix, _ in _BY_WORDS:
        if words[: len(prefix)] == prefix:
            return " ".join(words[len(prefix) :])
    return " ".join(words)


def claim_type_of(quantifier: str | None) -> str | None:
    """The study's grouping: universal (all, not all) or existential (some, no)."""
    q = BY_NAME.get(quantifier) if quantifier is not None else None
    return q.claim_type if q else None


class Claim(TypedDict):
    """One claim record, a line of ``{train,validation,test,contrast}.jsonl`` (and
    ``contrast_{train,validation}.jsonl``) and an lm-eval doc (see ``tasks/data.py`` and
    ``tasks/contrast.py`` for how each field is built)."""

    id: str  # "lc-" + 16 hex digits of the claim's hash
    split: str  # train / validation / test / contrast / contrast_train / contrast_validation
    generic: str  # "Birds feed on grain."
    quantifier: QuantifierName
    claim: str  # "All birds feed on grain."
    label: bool  # the claim's truth
    target: str  # the gold answer the trainer learns: "False, birds of prey ..."
    exemplar: str  # the exception or instance that decides the label
    source: str  # negative / positive
    construction: str  # standard, or the contrast family that built it
    family: NotRequired[str]  # contrast records: the family (a standard partner's too)
