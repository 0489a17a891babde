"""Contrast claims: claims whose truth the quantifier alone does not give.

On ``test``, "All K P." is always false and "Some K P." always true, so a rule that
reads only the quantifier scores 1.0. Contrast claims go against that rule. They come
in *families*, one per construction, each declared once in :data:`FAMILIES` (name,
the quantifiers whose usual truth it flips, its builder, an example):

=====================  =============  ================================================
family                 flips          example (label)
=====================  =============  ================================================
negated_exception      no, some       "No penguins fly." (true), "Some penguins fly."
                                      (false), from the exception "Penguins do not fly."
tautology              all, not_all   "All owls that hunt at night hunt at night." (true)
contradiction          no, some       "No birds that do not fly fly." (true)
taxonomic              all, not_all   "All milksnakes are snakes." (true): the exception's
                                      kind names the generic's kind (by its head noun,
                                      or as "snakes that ...")
instance_entailment    all, not_all   "All birds that feed on corn feed on grain." (true),
                                      from the instance "Birds feed on corn."
=====================  =============  ================================================

Every quantifier is flipped by two or three families, so a family left out of training
still has its quantifiers' flips taught by another family.

A family is built for a split from that split's generics only (``build_contrast``),
and each of its claims is paired with a standard claim of the same split and
quantifier (the standard claims dealt out so that none is used twice), so labels are
balanced per quantifier within each family and the quantifier-only rule scores exactly
0.5 on each family. Records carry ``construction`` (the family, or ``standard``) and
``family`` (the family the record belongs to, its partner's for a standard claim).
What a builder cannot parse cleanly is left out and counted, by reason.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from logic_claims.tasks.claims import BY_NAME, QUANTIFIERS
from logic_claims.tasks.prompt import format_target
from logic_claims.tasks.sources import Row
from logic_claims.tasks.text import lower_first, sentence, stable_hash

# "K do not P." -> (K, positive auxiliary, P). Only plural subjects, whose claims
# "No K P." / "Some K P." / "All K that P P." read grammatically.
_NEGATION = re.compile(
    r"^(?P<k>[^,;:()]+?) (?P<neg>do not|don't|are not|aren't|cannot|can not|can't|"
    r"will not|won't) (?P<p>[^,;:()]+)$"
)
_POSITIVE_AUX = {
    "do not": "", "don't": "", "are not": "are", "aren't": "are",
    "cannot": "can", "can not": "can", "can't": "can", "will not": "will", "won't": "will",
}  # fmt: skip
# The negation as a relative clause writes it: "birds that do not fly".
_NEGATED_AUX = {"": "do not", "are": "are not", "can": "cannot", "will": "will not"}
# Subjects that would not read as a plain noun phrase after "No"/"Some"/"All".
_BAD_SUBJECT_START = {
    "a", "an", "the", "some", "most", "many", "few", "all", "no", "not", "these", "those",
    "this", "that", "their", "its", "his", "her", "our", "certain", "several", "only", "i",
    "it", "they", "we", "you", "there", "if", "when", "even", "in", "on", "at", "because",
}  # fmt: skip
_CLAUSE_WORDS = {"that", "which", "who", "whom", "whose", "where", "when", "while", "if",
                 "because", "such", "unless", "although", "than", "not", "no"}  # fmt: skip
# A predicate with a conjunction ("are not nocturnal and hunt ...") negates ambiguously.
_CONJUNCTIONS = {"and", "or", "but", "nor"}
_MAX_SIMPLE_WORDS = 6  # a noun phrase short enough to take a relative clause of its own
_MAX_INSTANCE_WORDS = 8  # an instance's verb phrase ("feed on corn")


@dataclass(frozen=True)
class Exception_:
    """An exemplar parsed as "K <aux> not P": no K P, and K are a kind of the generic."""

    kind: str
    aux: str
    predicate: str
    # A short kind without a clause of its own can also form the tautologies
    # "All K that P P." without stacking two relative clauses.
    simple: bool

    def verb_phrase(self) -> str:
        return f"{self.aux} {self.predicate}".strip()


def _is_simple(phrase: str) -> bool:
    words = phrase.lower().split()
    return 0 < len(words) <= _MAX_SIMPLE_WORDS and not (_CLAUSE_WORDS & set(words))


def parse_exception(exemplar: str) -> Exception_ | None:
    """Parse "K do not P." (and are/can/will not); None when it does not parse cleanly."""
    text = sentence(exemplar)[:-1]
    match = _NEGATION.match(text)
    if not match:
        return None
    kind, predicate = match.group("k").strip(), match.group("p").strip()
    kind_words = kind.lower().split()
    predicate_words = predicate.lower().split()
    if not kind_words or not predicate_words or len(kind_words) > 15:
        return None
    if kind_words[0] in _BAD_SUBJECT_START or (_CLAUSE_WORDS | _CONJUNCTIONS) & set(
        predicate_words
    ):
        return None
    return Exception_(kind, _POSITIVE_AUX[match.group("neg")], predicate, _is_simple(kind))


def generic_subject(generic: str, exc: Exception_) -> str | None:
    """The generic's kind G, when the generic reads "G <the exception's verb phrase>."."""
    text = sentence(generic)[:-1]
    vp = exc.verb_phrase()
    if not text.lower().endswith(" " + vp.lower()):
        return None
    subject = text[: -len(vp) - 1].strip()
    if not _is_simple(subject) or subject.lower().split()[0] in _BAD_SUBJECT_START:
        return None
    return subject


# --------------------------------------------------------------------------- families
# A builder gets one generic's rows and yields (quantifier, claim, label, because,
# exemplar) or a string: the reason one candidate was left out.

Built = tuple[str, str, bool, str, str]
Attempt = Built | str


@dataclass(frozen=True)
class Generic:
    """One generic's rows, with its exceptions parsed once for every builder."""

    text: str  # "Birds feed on grain."
    rows: tuple[Row, ...]
    exceptions: tuple[tuple[str, Exception_ | None], ...]  # (exemplar, parse)
    common: set[str]  # shared by every generic of a build (``text.common_words``)

    def low(self, text: str) -> str:
        return lower_first(text, self.common)

    def subject(self) -> tuple[str, Exception_] | None:
        """G and the first exception whose verb phrase ends the generic."""
        for _, exc in self.exceptions:
            if exc is not None and (subject := generic_subject(self.text, exc)):
                return subject, exc
        return None


def _negated_exception(g: Generic) -> Iterator[Attempt]:
    for exemplar, exc in g.exceptions:
        if exc is None:
            yield "exception does not parse as 'K do not P'"
            continue
        kind, vp, because = g.low(exc.kind), exc.verb_phrase(), g.low(exemplar)
        yield ("no", f"No {kind} {vp}.", True, because, exemplar)
        yield ("some", f"Some {kind} {vp}.", False, because, exemplar)


def _tautology(g: Generic) -> Iterator[Attempt]:
    for exemplar, exc in g.exceptions:
        if exc is None:
            yield "exception does not parse as 'K do not P'"
            continue
        if not exc.simple:
            yield "kind too long or has a clause of its own"
            continue
        relative = f"{g.low(exc.kind)} that {exc.verb_phrase()}"
        because = f"all {relative} {exc.verb_phrase()} by definition."
        yield ("all", f"All {relative} {exc.verb_phrase()}.", True, because, exemplar)
        yield ("not_all", f"Not all {relative} {exc.verb_phrase()}.", False, because, exemplar)


def _contradiction(g: Generic) -> Iterator[Attempt]:
    found = g.subject()
    if found is None:
        yield "generic's kind not found (no exception's verb phrase ends it)"
        return
    subject, exc = found
    kind, vp = g.low(subject), exc.verb_phrase()
    relative = f"{kind} that {_NEGATED_AUX[exc.aux]} {exc.predicate}"
    because = f"no {relative} {vp} by definition."
    yield ("no", f"No {relative} {vp}.", True, because, g.text)
    yield ("some", f"Some {relative} {vp}.", False, because, g.text)


def _taxonomic(g: Generic) -> Iterator[Attempt]:
    """ "All K are G." where K names its genus G: by its head ("milksnakes", "peregrine
    falcons" -> snakes, falcons) or as a restriction ("toucans that are kept as pets")."""
    found = g.subject()
    if found is None:
        yield "generic's kind not found (no exception's verb phrase ends it)"
        return
    genus = g.low(found[0])
    genus_words = genus.lower().split()
    for exemplar, exc in g.exceptions:
        if exc is None:
            yield "exception does not parse as 'K do not P'"
            continue
        kind = g.low(exc.kind)
        words = kind.lower().split()
        restriction = words[: len(genus_words)] == genus_words and len(words) > len(genus_words)
        by_head = exc.simple and words[-1].endswith(genus_words[-1]) and words != genus_words
        if not (restriction or by_head) or len(words) > 12:
            yield "exception's kind does not name the generic's kind (no taxonomy to check)"
            continue
        because = f"{kind} are {genus}."
        yield ("all", f"All {kind} are {genus}.", True, because, exemplar)
        yield ("not_all", f"Not all {kind} are {genus}.", False, because, exemplar)


def _instance_entailment(g: Generic) -> Iterator[Attempt]:
    instances = [sentence(r.exemplar) for r in g.rows if r.source == "positive"]
    if not instances:
        return
    found = g.subject()
    if found is None:
        yield from (
            "generic's kind not found (no exception's verb phrase ends it)" for _ in instances
        )
        return
    subject, exc = found
    kind, vp, head = g.low(subject), exc.verb_phrase(), subject.lower().split()[-1]
    for exemplar in instances:
        text = exemplar[:-1]
        if not text.lower().startswith(subject.lower() + " "):
            yield "instance does not start with the generic's kind"
            continue
        instance_vp = text[len(subject) + 1 :].strip()
        words = instance_vp.lower().split()
        if instance_vp.lower() == vp.lower():
            yield "instance repeats the generic"
        elif (
            not 0 < len(words) <= _MAX_INSTANCE_WORDS
            or (_CLAUSE_WORDS | _CONJUNCTIONS) & set(words)
            or head in words
            or any(c in instance_vp for c in ",;:()")
        ):
            yield "instance's verb phrase too long, with a clause, or repeating the kind"
        else:
            relative = f"{kind} that {instance_vp}"
            because = f"{g.low(exemplar)[:-1]}, and so {kind} that {instance_vp} {vp}."
            yield ("all", f"All {relative} {vp}.", True, because, exemplar)
            yield ("not_all", f"Not all {relative} {vp}.", False, because, exemplar)


@dataclass(frozen=True)
class Family:
    """One construction: the quantifiers whose usual truth it flips, and how it is built."""

    name: str
    flips: tuple[str, ...]
    build: Callable[[Generic], Iterator[Attempt]]
    example: str


FAMILIES: tuple[Family, ...] = (
    Family("negated_exception", ("no", "some"), _negated_exception,
           "No penguins fly. (true; exception 'Penguins do not fly.')"),
    Family("tautology", ("all", "not_all"), _tautology,
           "All owls that hunt at night hunt at night. (true)"),
    Family("contradiction", ("no", "some"), _contradiction,
           "No birds that do not fly fly. (true; generic 'Birds fly.')"),
    Family("taxonomic", ("all", "not_all"), _taxonomic,
           "All milksnakes are snakes. (true; exception's kind names the generic's)"),
    Family("instance_entailment", ("all", "not_all"), _instance_entailment,
           "All birds that feed on corn feed on grain. (true; instance 'Birds feed on corn.')"),
)  # fmt: skip
FAMILY_NAMES: tuple[str, ...] = tuple(f.name for f in FAMILIES)
BY_FAMILY: dict[str, Family] = {f.name: f for f in FAMILIES}
# The contrast records file of each split; "contrast" (test generics) keeps its name.
CONTRAST_SPLITS: dict[str, str] = {
    "train": "contrast_train",
    "validation": "contrast_validation",
    "test": "contrast",
}


# --------------------------------------------------------------------------- build


def _unusual_claims(
    generics: dict[str, Generic], split: str
) -> tuple[dict[tuple[str, str], dict[str, dict[str, Any]]], dict[str, Counter[str]]]:
    """Per (family, quantifier), the family's records by id; per family, left-out reasons."""
    against: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
    left_out: dict[str, Counter[str]] = {f.name: Counter() for f in FAMILIES}
    for g in generics.values():
        for family in FAMILIES:
            for outcome in family.build(g):
                if isinstance(outcome, str):
                    left_out[family.name][outcome] += 1
                    continue
                quantifier, claim, label, because, exemplar = outcome
                ident = f"lcx-{stable_hash(f'{quantifier}|{claim}')[:16]}"
                against[family.name, quantifier].setdefault(
                    ident,
                    {
                        "id": ident,
                        "split": split,
                        "generic": g.text,
                        "quantifier": quantifier,
                        "claim": claim,
                        "label": label,
                        "target": format_target(label, because),
                        "exemplar": exemplar,
                        "source": BY_NAME[quantifier].source,
                        "construction": family.name,
                        "family": family.name,
                    },
                )
    return against, left_out


def _generics(by_generic: dict[str, list[Row]], common: set[str]) -> dict[str, Generic]:
    out = {}
    for key, rows in by_generic.items():
        exceptions = tuple(
            (sentence(r.exemplar), parse_exception(r.exemplar))
            for r in rows
            if r.source == "negative"
        )
        out[key] = Generic(sentence(rows[0].generic), tuple(rows), exceptions, common)
    return out


def build_contrast(
    split: str,
    standard: list[dict[str, Any]],
    by_generic: dict[str, list[Row]],
    common: set[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The contrast records of one split (``by_generic``: that split's generics only).

    For each quantifier, the standard claims of the split are dealt out among the
    families that flip it; each family's claims are paired with as many of its share,
    so labels are balanced per quantifier and family. Pairs of the families are
    interleaved, so every prefix of a quantifier's records (lm-eval's ``--limit``)
    stays balanced and mixes the families. Returns the records and the manifest's
    counts per family (claims per quantifier, left out by reason and for balance).
    """
    name = CONTRAST_SPLITS[split]
    against, left_out = _unusual_claims(_generics(by_generic, common), name)
    pool: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in standard:
        pool[record["quantifier"]].append(record)
    counts: dict[str, Any] = {
        f.name: {"claims": 0, "per_quantifier": {}, "left_out": dict(left_out[f.name])}
        for f in FAMILIES
    }
    records: list[dict[str, Any]] = []
    for quantifier in QUANTIFIERS:
        flipping = [f.name for f in FAMILIES if quantifier in f.flips]
        usual = sorted(pool[quantifier], key=lambda r: stable_hash("contrast" + r["id"]))
        pairs: list[list[tuple[dict[str, Any], dict[str, Any]]]] = []
        for i, family in enumerate(flipping):
            unusual = sorted(against[family, quantifier].values(), key=lambda r: r["id"])
            share = usual[i :: len(flipping)]
            n = min(len(unusual), len(share))
            left = counts[family]["left_out"]
            left["for balance"] = left.get("for balance", 0) + len(unusual) - n
            counts[family]["per_quantifier"][quantifier] = 2 * n
            counts[family]["claims"] += 2 * n
            partners = ({**r, "split": name, "family": family} for r in share[:n])
            pairs.append(list(zip(partners, unusual[:n], strict=True)))
        for round_ in _interleave(pairs):
            records.extend(round_)
    return records, counts


def _interleave(lists: list[list[Any]]) -> Iterator[Any]:
    """a0, b0, c0, a1, b1, ...: the lists taken in turn until each runs out."""
    for i in range(max((len(x) for x in lists), default=0)):
        for x in lists:
            if i < len(x):
                yield x[i]
