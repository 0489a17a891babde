"""The one prompt definition shared by the lm-eval tasks and the adapter trainer.

A change here changes what every task asks and what every adapter learns, so the
prompt has a version that the data manifest and ``train_config.json`` record.
"""

from __future__ import annotations

from logic_claims.tasks.claims import WORDS

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


# --------------------------------------------------------------------------- baselines
# Zero-shot and retrieval baselines, worded as the study's baselines were (its system
# messages, upstream rag/all_evaluation.py and rag/some_evaluation.py, and its RAG
# template, templates.py). ``format_prompt`` above stays the one prompt of the main
# tasks and the trainer; these only feed the ``logic_claims_{yesno,explain,ragK}`` tasks.

# The study's "raw y/n" baseline: a direct question, answered yes/no with an explanation.
YES_NO_INSTRUCTION = "Answer with yes/no and an explanation."
# The study's "careful baseline": the statement, true/false, explain why.
EXPLAIN_INSTRUCTION = "Express whether the statement is true or false and explain why."
# The study's RAG template header; the claim is then asked as in ``format_prompt``, so the
# RAG task differs from the main task only by the retrieved context.
RAG_INSTRUCTION = (
    "Below are generic statements, followed by examples (exemplars) that entail or "
    "contradict the statement:"
)
RAG_RULE = "---------------------"
_QUANTIFIER_WORDS = {word.split()[0] for word in WORDS.values()}  # All, Not, Some, No


def claim_question(claim: str) -> str:
    """ "All birds feed on grain." -> "Is it true that all birds feed on grain?" """
    text = claim.strip().rstrip(".").rstrip()
    first = text.split(" ", 1)[0]
    if first in _QUANTIFIER_WORDS:  # keep proper nouns' case, lower only the quantifier
        text = first.lower() + text[len(first) :]
    return f"Is it true that {text}?"


def format_yes_no_prompt(claim: str) -> str:
    """Zero-shot direct question, answered yes/no (scored yes -> true, no -> false)."""
    return f"{YES_NO_INSTRUCTION}\nQuestion: {claim_question(claim)}\nAnswer:"


def format_explain_prompt(claim: str) -> str:
    """Zero-shot true/false statement with "explain why" (scored like the main task)."""
    return f"{EXPLAIN_INSTRUCTION}\nStatement: {claim}\nAnswer:"


def format_context(entries: list[dict[str, str | None]]) -> str:
    """Retrieved train generics, each with its exception and/or instance."""
    lines = []
    for entry in entries:
        lines.append(f"Generic: {entry['generic']}")
        if entry.get("exception"):
            lines.append(f"  Exception: {entry['exception']}")
        if entry.get("instance"):
            lines.append(f"  Instance: {entry['instance']}")
    return "\n".join(lines)


def format_rag_prompt(claim: str, entries: list[dict[str, str | None]]) -> str:
    """The main prompt preceded by retrieved exemplars (the study's RAG layout)."""
    return (
        f"{RAG_INSTRUCTION}\n{RAG_RULE}\n{format_context(entries)}\n{RAG_RULE}\n"
        + format_prompt(claim)
    )
