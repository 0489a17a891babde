"""The claim vocabulary: the quantifier table and reading a claim's quantifier."""

from __future__ import annotations

import pytest

from logic_claims.tasks import claims


def test_the_table_is_the_studys_truth_table() -> None:
    # All birds fly. (false) / Not all birds fly. (true) / Some ... (true) / No ... (false)
    assert claims.DEFAULT_TRUTH == {"all": False, "not_all": True, "some": True, "no": False}
    assert claims.CLAIM_TYPES == {"universal": ("all", "not_all"), "existential": ("some", "no")}
    assert claims.ORDER == ("all", "not_all", "universal", "some", "no", "existential")
    # Exceptions (negative.csv) make the universal claims, instances the existential ones.
    assert {q.name: q.source for q in claims.TABLE} == {
        "all": "negative", "not_all": "negative", "some": "positive", "no": "positive",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("claim", "quantifier"),
    [
        ("All birds fly.", "all"),
        ("Not all birds fly.", "not_all"),
        ("not  all birds fly.", "not_all"),
        ("Some birds fly.", "some"),
        ("No birds fly.", "no"),
        ("  No, birds do not fly.", "no"),
        ("Nothing flies.", None),
        ("Nobody flies.", None),
        ("Allosaurs are extinct.", None),
        ("Birds fly.", None),
        ("", None),
    ],
)
def test_quantifier_of_reads_the_first_words(claim: str, quantifier: str | None) -> None:
    assert claims.quantifier_of(claim) == quantifier


def test_claim_type_of_groups_the_quantifiers() -> None:
    assert [claims.claim_type_of(q) for q in claims.QUANTIFIERS] == [
        "universal", "universal", "existential", "existential",
    ]  # fmt: skip
    assert claims.claim_type_of(None) is None
    assert claims.claim_type_of("most") is None
