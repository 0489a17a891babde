"""Correctness as the study scored it.

The study cut each model output at its first period and counted the words
"true" and "false" in what was left (case-insensitive, substrings count):
more "true" means the model answered true, more "false" means false, and an
equal count (including none) is a tie.
"""

from __future__ import annotations

from typing import Literal

Verdict = Literal["true", "false", "tie"]
Outcome = Literal["correct", "tie", "wrong"]
OUTCOMES: tuple[Outcome, ...] = ("correct", "tie", "wrong")


def read_verdict(answer: str) -> Verdict:
    """The answer's verdict by the study's rule (first sentence, count true/false)."""
    first = answer.split(".", 1)[0].lower()
    n_true, n_false = first.count("true"), first.count("false")
    if n_true > n_false:
        return "true"
    if n_false > n_true:
        return "false"
    return "tie"


def score_answer(answer: str, label: bool) -> Outcome:
    """Whether ``answer`` gets a claim whose truth is ``label`` right."""
    verdict = read_verdict(answer)
    if verdict == "tie":
        return "tie"
    return "correct" if (verdict == "true") == label else "wrong"


def outcome_metrics(answer: str, label: bool) -> dict[str, int]:
    """One-hot ``{"correct", "tie", "wrong"}``, the per-sample metrics of the gen tasks."""
    outcome = score_answer(answer, label)
    return {name: int(name == outcome) for name in OUTCOMES}
