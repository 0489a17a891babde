"""Helpers of the logic_claims lm-eval tasks: data loading, prompts, scoring.

The templates name these with ``!function utils.<name>``:

``logic_claims_*``            ``load_claims``, ``doc_to_text``, ``process_results``
                              (``doc_to_choice_index`` for the ``_mc`` tasks)
``logic_claims_yesno_*``      the study's direct question ("Is it true that all birds
                              ...?"), answered yes/no; yes -> true, no -> false
``logic_claims_explain_*``    the study's true/false statement with "explain why"
``logic_claims_rag{2,3,5}_*`` the main prompt preceded by the top-k train generics
                              retrieved for the claim's generic (``tasks/retrieval.py``)

The prompts and scoring rules are imported from ``logic_claims.tasks`` so the tasks,
the adapter trainer and the reports share one definition of each; the claims of a
split are read once per process.
"""

from __future__ import annotations

import functools
from typing import Any

import datasets

from logic_claims.tasks import data, retrieval
from logic_claims.tasks.prompt import (
    choice_index,
    format_explain_prompt,
    format_prompt,
    format_rag_prompt,
    format_yes_no_prompt,
)
from logic_claims.tasks.scoring import outcome_metrics, yes_no_metrics


@functools.lru_cache(maxsize=8)
def _data_dir(data_dir: str | None) -> str:
    return data_dir or str(data.built_dataset_dir())


@functools.lru_cache(maxsize=16)
def _records(directory: str, split: str) -> tuple[dict[str, Any], ...]:
    return tuple(data.load_split(directory, split))


def load_claims(
    split: str = "test",
    quantifier: str | None = None,
    data_dir: str | None = None,
    family: str | None = None,
    **_metadata: Any,
) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset``: one split of the claims, optionally one quantifier
    and one contrast family (its claims and their standard partners).

    ``data_dir`` (pass it with ``--metadata '{"data_dir": "data/logic_claims"}'``) is a
    directory written by ``logic-claims data build``; without it the dataset is built
    from ``$LOGIC_CLAIMS_DATA`` (or the verified upstream download) into the cache.
    Other metadata keys (lm-eval passes the task's ``metadata``) are ignored.
    """
    records = [
        r
        for r in _records(_data_dir(data_dir), split)
        if (quantifier is None or r["quantifier"] == quantifier)
        and (family is None or r.get("family") == family)
    ]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(records)})


def load_rag_claims(
    split: str = "test",
    quantifier: str | None = None,
    k: int = 3,
    data_dir: str | None = None,
    **_metadata: Any,
) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset``: the claims of one split and quantifier, each with
    ``context``, its top-``k`` retrieved train generics (computed once, then cached)."""
    directory = _data_dir(data_dir)
    table = retrieval.neighbours(directory, int(k))
    records = [
        {**r, "context": retrieval.context_for(r, table)}
        for r in _records(directory, split)
        if quantifier is None or r["quantifier"] == quantifier
    ]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(records)})


def doc_to_text(doc: dict[str, Any]) -> str:
    return format_prompt(doc["claim"])


def doc_to_text_yes_no(doc: dict[str, Any]) -> str:
    return format_yes_no_prompt(doc["claim"])


def doc_to_text_explain(doc: dict[str, Any]) -> str:
    return format_explain_prompt(doc["claim"])


def doc_to_text_rag(doc: dict[str, Any]) -> str:
    return format_rag_prompt(doc["claim"], list(doc["context"]))


def doc_to_choice_index(doc: dict[str, Any]) -> int:
    return choice_index(doc["label"])


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, int]:
    """The study's rule: first sentence, count "true"/"false"; one-hot correct/tie/wrong."""
    return outcome_metrics(results[0], doc["label"])


def process_results_yes_no(doc: dict[str, Any], results: list[str]) -> dict[str, int]:
    """The study's yes/no rule: first sentence, count yes/no; one-hot correct/tie/wrong."""
    return yes_no_metrics(results[0], doc["label"])
