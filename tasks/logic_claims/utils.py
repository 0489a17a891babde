"""Helpers for the logic_claims lm-eval tasks: data loading, prompt, scoring.

The prompt and the scoring rule are imported from ``logic_claims.harness`` so the
tasks, the adapter trainer and the reports share one definition of each.
"""

from __future__ import annotations

import functools
from typing import Any

import datasets

from logic_claims.tasks import data
from logic_claims.tasks.prompt import choice_index, format_prompt
from logic_claims.tasks.scoring import outcome_metrics


@functools.lru_cache(maxsize=8)
def _records(data_dir: str | None, split: str) -> tuple[dict[str, Any], ...]:
    directory = data_dir or str(data.built_dataset_dir())
    return tuple(data.load_split(directory, split))


def load_claims(
    split: str = "test",
    quantifier: str | None = None,
    data_dir: str | None = None,
    **_metadata: Any,
) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset``: one split of the claims, optionally one quantifier.

    ``data_dir`` (pass it with ``--metadata '{"data_dir": "data/logic_claims"}'``) is a
    directory written by ``logic-claims data build``; without it the dataset is built
    from ``$LOGIC_CLAIMS_DATA`` (or the verified upstream download) into the cache.
    Other metadata keys (lm-eval passes the task's ``metadata``) are ignored.
    """
    records = [
        r for r in _records(data_dir, split) if quantifier is None or r["quantifier"] == quantifier
    ]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(records)})


def doc_to_text(doc: dict[str, Any]) -> str:
    return format_prompt(doc["claim"])


def doc_to_choice_index(doc: dict[str, Any]) -> int:
    return choice_index(doc["label"])


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, int]:
    """The study's rule: first sentence, count "true"/"false"; one-hot correct/tie/wrong."""
    return outcome_metrics(results[0], doc["label"])
