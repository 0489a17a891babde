"""The contrast split: test claims whose truth the quantifier alone does not give.

On ``test``, "All K P." is always false and "Some K P." always true, so a rule that
reads only the quantifier scores 1.0. The contrast split adds, for the same test
generics, claims that go against that rule, built from exceptions of the form
"K do not P." (``parse_exception``):

    negated_exception  "No K P." true, "Some K P." false
    tautology          "All K that P P." true, "Not all K that P P." false

Each is paired with a standard test claim of the same quantifier, so labels are
balanced per quantifier and the quantifier-only rule scores exactly 0.5.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from logic_claims.tasks.claims import QUANTIFIERS
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
    simple = not (_CLAUSE_WORDS & set(kind_words)) and len(kind_words) <= 6
    return Exception_(kind, _POSITIVE_AUX[match.group("neg")], predicate, simple)


def contrast_claims(
    exc: Exception_, exemplar: str, common: set[str]
) -> list[tuple[str, str, bool, str, str]]:
    """(quantifier, claim, label, construction, target): truth not given by the quantifier."""
    kind = lower_first(exc.kind, common)
    vp = exc.verb_phrase()
    because = lower_first(exemplar, common)
    claims = [
        ("no", f"No {kind} {vp}.", True, "negated_exception", format_target(True, because)),
        ("some", f"Some {kind} {vp}.", False, "negated_exception", format_target(False, because)),
    ]
    if exc.simple:
        relative = f"{kind} that {vp}"
        by_definition = f"all {relative} {vp} by definition."
        claims += [
            ("all", f"All {relative} {vp}.", True, "tautology", format_target(True, by_definition)),
            (
                "not_all",
                f"Not all {relative} {vp}.",
                False,
                "tautology",
                format_target(False, by_definition),
            ),
        ]
    return claims


def _unusual_claims(
    test_generics: dict[str, list[Row]], common: set[str]
) -> tuple[dict[str, dict[str, dict[str, Any]]], int, int]:
    """Per quantifier, the contrast records by id; and how many exceptions (did not) parse."""
    parsed = unparsed = 0
    against: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for rows in test_generics.values():
        for row in rows:
            if row.source != "negative":
                continue
            exc = parse_exception(row.exemplar)
            if exc is None:
                unparsed += 1
                continue
            parsed += 1
            exemplar = sentence(row.exemplar)
            for quantifier, claim, label, construction, target in contrast_claims(
                exc, exemplar, common
            ):
                ident = f"lcx-{stable_hash(f'{quantifier}|{claim}')[:16]}"
                against[quantifier].setdefault(
                    ident,
                    {
                        "id": ident,
                        "split": "contrast",
                        "generic": sentence(rows[0].generic),
                        "quantifier": quantifier,
                        "claim": claim,
                        "label": label,
                        "target": target,
                        "exemplar": exemplar,
                        "source": row.source,
                        "construction": construction,
                    },
                )
    return against, parsed, unparsed


def build_contrast(
    test: list[dict[str, Any]],
    by_generic: dict[str, list[Row]],
    split_by_generic: dict[str, str],
    common: set[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Claims from test generics on which a quantifier-only rule scores exactly 0.5.

    For each quantifier, the claims whose label goes against the quantifier's usual
    truth (tautologies, negated exceptions) are paired with as many standard test
    claims, so labels are balanced per quantifier. Returns the records and the
    manifest's ``contrast`` counts.
    """
    test_generics = {k: rows for k, rows in by_generic.items() if split_by_generic[k] == "test"}
    against, parsed, unparsed = _unusual_claims(test_generics, common)
    standard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in test:
        standard[record["quantifier"]].append(record)

    contrast: list[dict[str, Any]] = []
    dropped = 0
    for quantifier in QUANTIFIERS:
        unusual = sorted(against[quantifier].values(), key=lambda r: r["id"])
        usual = sorted(standard[quantifier], key=lambda r: stable_hash("contrast" + r["id"]))
        n = min(len(unusual), len(usual))
        dropped += len(unusual) - n
        # Alternate the two kinds so that every prefix (lm-eval's --limit takes the
        # first N claims of each quantifier) stays balanced and still catches the rule.
        for pair in zip(usual[:n], unusual[:n], strict=True):
            contrast.extend({**record, "split": "contrast"} for record in pair)
    counts = {
        "exceptions_parsed": parsed,
        "exceptions_left_out_unparsable": unparsed,
        "claims_left_out_for_balance": dropped,
    }
    return contrast, counts
