"""Rule baselines (quantifier rule, majority class), the yes/no rule, the baseline prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from logic_claims.harness import baselines
from logic_claims.tasks import data, scoring
from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.prompt import (
    claim_question,
    format_explain_prompt,
    format_prompt,
    format_rag_prompt,
    format_yes_no_prompt,
)


def correct_rate(samples: dict[str, list[dict]], prefix: str) -> float:
    """Share of correct answers over the gen subtasks named ``{prefix}_{quantifier}``."""
    chosen = [s for q in QUANTIFIERS for s in samples[f"{prefix}_{q}"]]
    return sum(s["correct"] for s in chosen) / len(chosen)


def test_quantifier_rule_is_perfect_on_test_and_caught_by_contrast(built_data: Path) -> None:
    samples = baselines.rule_samples("quantifier-rule", built_data)
    assert correct_rate(samples, "logic_claims") == 1.0
    assert correct_rate(samples, "logic_claims_contrast") <= 0.5
    # Per quantifier too: the contrast split is balanced within each quantifier.
    for q in QUANTIFIERS:
        rows = samples[f"logic_claims_contrast_{q}"]
        assert sum(s["correct"] for s in rows) / len(rows) <= 0.5
    # Every claim answered once, with the study's one-hot outcome and a log-likelihood twin.
    test = data.load_split(built_data, "test")
    assert sum(len(samples[f"logic_claims_{q}"]) for q in QUANTIFIERS) == len(test)
    for q in QUANTIFIERS:
        pairs = zip(samples[f"logic_claims_{q}"], samples[f"logic_claims_mc_{q}"], strict=True)
        for gen, mc in pairs:
            assert gen["correct"] + gen["tie"] + gen["wrong"] == 1
            assert mc["acc"] == gen["correct"] and gen["doc"]["id"] == mc["doc"]["id"]


def test_majority_class_scores_half(built_data: Path) -> None:
    train = data.load_split(built_data, "train")
    label = baselines.majority_label(train)
    assert label == (sum(r["label"] for r in train) > len(train) / 2)
    samples = baselines.rule_samples("majority-class", built_data)
    assert abs(correct_rate(samples, "logic_claims") - 0.5) <= 0.05
    assert correct_rate(samples, "logic_claims_contrast") <= 0.5
    answers = {s["resps"][0][0] for rows in samples.values() for s in rows}
    assert answers == {"True." if label else "False."}


def test_majority_label_ties_go_to_false() -> None:
    assert baselines.majority_label([{"label": True}, {"label": False}]) is False
    assert baselines.majority_label([{"label": True}, {"label": True}, {"label": False}]) is True


def test_limit_takes_the_first_docs_like_lm_eval(built_data: Path) -> None:
    limited = baselines.rule_samples("quantifier-rule", built_data, limit=3)
    test = data.load_split(built_data, "test")
    for q in QUANTIFIERS:
        first = [r["id"] for r in test if r["quantifier"] == q][:3]
        assert [s["doc"]["id"] for s in limited[f"logic_claims_{q}"]] == first
        assert [s["doc_id"] for s in limited[f"logic_claims_{q}"]] == [0, 1, 2]
    assert baselines.apply_limit(10, 0.25) == 3  # a fraction rounds up, as lm-eval does
    assert baselines.apply_limit(10, 50) == 10
    assert baselines.apply_limit(10, None) == 10


def test_unknown_rule_is_an_input_error(built_data: Path) -> None:
    from logic_claims.tasks.errors import InputError

    with pytest.raises(InputError, match="unknown rule system"):
        baselines.rule_samples("coin-flip", built_data)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Yes, all birds feed on grain.", "true"),
        ("No, not all birds feed on grain.", "false"),  # "not" is not a no; "No" is
        ("No.", "false"),
        ("Yes. No, no, no.", "true"),  # first sentence only
        ("I cannot say", "tie"),  # "cannot" holds "no" and "not": they cancel
        ("It depends on their eyes", "tie"),  # "eyes" is not a yes
        ("Nothing is certain", "tie"),  # "not" inside "nothing" cancels its "no"
        ("", "tie"),
    ],
)
def test_yes_no_rule_counts_like_the_study(answer: str, verdict: str) -> None:
    assert scoring.read_yes_no(answer) == verdict


def test_yes_no_metrics() -> None:
    assert scoring.yes_no_metrics("Yes, some do.", True) == {"correct": 1, "tie": 0, "wrong": 0}
    assert scoring.yes_no_metrics("Yes, some do.", False) == {"correct": 0, "tie": 0, "wrong": 1}
    assert scoring.yes_no_metrics("Maybe.", False) == {"correct": 0, "tie": 1, "wrong": 0}


def test_baseline_prompts() -> None:
    assert claim_question("All birds feed on grain.") == "Is it true that all birds feed on grain?"
    assert claim_question("Not all dogs bark.") == "Is it true that not all dogs bark?"
    assert claim_question("No Australian birds fly.") == "Is it true that no Australian birds fly?"
    yes_no = format_yes_no_prompt("Some cats purr.")
    assert yes_no.endswith("Question: Is it true that some cats purr?\nAnswer:")
    assert "yes/no" in yes_no
    explain = format_explain_prompt("Some cats purr.")
    assert "explain why" in explain and explain.endswith("Statement: Some cats purr.\nAnswer:")
    rag = format_rag_prompt(
        "Some cats purr.",
        [
            {"generic": "Dogs bark.", "exception": "Basenjis do not bark.", "instance": None},
            {"generic": "Lions roar.", "exception": None, "instance": "Male lions roar."},
        ],
    )
    # The RAG prompt is the main prompt preceded by the retrieved context.
    assert rag.endswith(format_prompt("Some cats purr."))
    assert "Generic: Dogs bark.\n  Exception: Basenjis do not bark.\nGeneric: Lions roar." in rag
    assert "Instance: Male lions roar." in rag and "None" not in rag
