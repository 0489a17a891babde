"""The prompt an automatic judge reads: one item, one dimension, one verdict.

The question and the definition are the dimension's own (``records.Dimension``, as the
store declares it and the annotation page shows it to people), so a judge is asked
exactly what the human raters were asked. The answer words are the dimension's labels:
``yes``/``no`` for the binary ``0``/``1`` dimensions, the label names otherwise.

``PROMPT_VERSION`` is a hash of the template and the label words: it changes whenever
either does, and every judge records it with its judgments, so judgments made under
different prompts are never mistaken for one rater's.

A label is said in more than one way: models answer " Yes" as often as " yes". A
log-likelihood judge scores each label by all its surface forms (``surface_forms``: as
written, lower case, Capitalised and UPPER case, each with and without the leading
space), summing their probabilities (``SURFACE_SCORING``, recorded with the judge).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from logic_claims.annotations.records import Dimension

TEMPLATE = """\
You check explanations given by a model. The model was asked whether a claim is true and \
explained its answer.

Claim: {claim}
Model's answer: {answer}

Question: {question}
Definition: {definition}
Reply with one word: {choices}.
Verdict:"""

# The words a binary 0/1 dimension is answered with (the page's keys are y/n too).
BINARY_WORDS = {"0": "no", "1": "yes"}

PROMPT_VERSION = hashlib.sha256(
    (TEMPLATE + repr(sorted(BINARY_WORDS.items()))).encode("utf-8")
).hexdigest()[:12]


@dataclass(frozen=True)
class LabelWord:
    """A label of a dimension and the word a judge says for it."""

    label: str
    word: str


def label_words(dim: Dimension) -> tuple[LabelWord, ...]:
    """The words for ``dim``'s labels: yes/no for 0/1, otherwise the labels themselves."""
    if set(dim.labels) == set(BINARY_WORDS):
        return tuple(LabelWord(label, BINARY_WORDS[label]) for label in dim.labels)
    return tuple(LabelWord(label, label) for label in dim.labels)


# How a label's surface forms combine into its score; recorded with every log-likelihood
# judge, so judges that scored labels otherwise are never mistaken for one rater.
SURFACE_SCORING = "sum of probabilities over case x leading space"


def surface_forms(word: str) -> tuple[str, ...]:
    """The continuations that say ``word`` after the prompt: the word as written, lower
    case, Capitalised and UPPER case, each with and without a leading space (distinct,
    in that order)."""
    cases = (word, word.lower(), word.capitalize(), word.upper())
    forms = [prefix + case for prefix in (" ", "") for case in cases]
    return tuple(dict.fromkeys(forms))


def judge_prompt(dim: Dimension, claim: str, answer: str) -> str:
    """The prompt for one item on one dimension; the verdict word follows it after a space."""
    words = [w.word for w in label_words(dim)]
    return TEMPLATE.format(
        claim=claim.strip(),
        answer=answer.strip(),
        question=dim.question or f"{dim.name}?",
        definition=dim.definition or "(none given)",
        choices=" or ".join(words),
    )


def parse_verdict(dim: Dimension, text: str) -> str | None:
    """The label a generated reply names (its first word, case and punctuation ignored);
    None when it names none."""
    first = text.strip().split(maxsplit=1)
    if not first:
        return None
    word = first[0].strip(".,:;!\"'()*").lower()
    for choice in label_words(dim):
        if word == choice.word.lower():
            return choice.label
    return None
