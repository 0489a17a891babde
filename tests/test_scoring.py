"""The study's correctness rule: first sentence, count "true" and "false"."""

import pytest

from logic_claims.tasks.scoring import outcome_metrics, read_verdict, score_answer


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("True, some birds feed on grain.", "true"),
        ("False, birds of prey do not feed on grain.", "false"),
        (" FALSE. All of them are true.", "false"),  # cut at the first period
        ("It is true that it is false.", "tie"),  # one each
        ("True or false? True.", "true"),  # only a period cuts: two "true", one "false"
        ("Untrue, untrue, false.", "true"),  # substrings count, as in the study
        ("Falsehood and falsity", "false"),  # no period: the whole text
        ("I cannot say.", "tie"),  # neither word
        ("", "tie"),
        (".True", "tie"),  # empty first sentence
    ],
)
def test_read_verdict(answer: str, verdict: str) -> None:
    assert read_verdict(answer) == verdict


def test_score_answer_against_label() -> None:
    assert score_answer("True, yes.", True) == "correct"
    assert score_answer("True, yes.", False) == "wrong"
    assert score_answer("False, no.", False) == "correct"
    assert score_answer("Maybe.", True) == "tie"


def test_outcome_metrics_one_hot() -> None:
    assert outcome_metrics("False, no.", True) == {"correct": 0, "tie": 0, "wrong": 1}
    assert outcome_metrics("Maybe.", False) == {"correct": 0, "tie": 1, "wrong": 0}
