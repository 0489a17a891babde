"""The one prompt definition shared by the lm-eval tasks and the adapter trainer.

A change here changes what every task asks and what every adapter learns, so the
prompt has a version that the data manifest and ``train_config.json`` record.
"""

from __future__ import annotations

PROMPT_VERSION = 1

# The study's prompt-tuning init text, also used as the instruction here so a
# zero-shot model sees the same request a prompt-tuned one was trained on.
INSTRUCTION = "Determine whether the statement is true or false, and then provide reasoning:"

# lm-eval joins context and continuation with this delimiter (its `target_delimiter`).
TARGET_DELIMITER = " "

# Answer choices of the log-likelihood (multiple-choice) tasks; index 0 is "true".
CHOICES = ("True", "False")


def format_prompt(claim: str) -> str:
    """The context a model sees for one claim (no trailing space: lm-eval adds it)."""
    return f"{INSTRUCTION}\nStatement: {claim}\nAnswer:"


def format_target(label: bool, explanation: str) -> str:
    """Gold answer text: the verdict, then the exemplar that justifies it."""
    verdict = CHOICES[0] if label else CHOICES[1]
    return f"{verdict}, {explanation}"


def choice_index(label: bool) -> int:
    """Index of the gold choice in ``CHOICES``."""
    return 0 if label else 1
