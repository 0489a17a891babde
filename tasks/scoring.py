"""Correctness as the study scored it: true/false answers, and yes/no answers.

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


def first_sentence(answer: str) -> str:
    """The answer up to its first period (kept), as the study cut it before reading it."""
    head, period, _ = answer.strip().partition(".")
    return head + period


def read_verdict(answer: str) -> Verdict:
    """The answer's verdict by the study's rule (first sentence, count true/false)."""
    first = first_sentence(answer).lower()
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


# --------------------------------------------------------------------------- yes/no rule

# The study's yes/no baseline (upstream rag/some_evaluation.py) counted substrings:
# "yes" minus "eyes" for yes; "no" minus the words that merely contain it ("not",
# "now", "noc", "nor", "non", "nou") for no. Warts kept on purpose ("know" counts as
# a no), so that the numbers are comparable with the study's.
_NOT_NO = ("not", "now", "noc", "nor", "non", "nou")


def read_yes_no(answer: str) -> Verdict:
    """A yes/no answer's verdict: cut at the first period, more yes = true, more no = false."""
    first = first_sentence(answer).lower()
    n_yes = first.count("yes") - first.count("eyes")
    n_no = first.count("no") - sum(first.count(word) for word in _NOT_NO)
    if n_yes > n_no:
        return "true"
    if n_no > n_yes:
        return "false"
    return "tie"


def yes_no_metrics(answer: str, label: bool) -> dict[str, int]:
    """One-hot correct/tie/wrong for a yes/no answer (yes -> true, no -> false)."""
    verdict = read_yes_no(answer)
    right = "correct" if (verdict == "true") == label else "wrong"
    outcome = "tie" if verdict == "tie" else right
    return {name: int(name == outcome) for name in OUTCOMES}
