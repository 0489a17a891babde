"""Baselines that need no model.

``quantifier-rule`` answers from the quantifier alone (all -> false, not all -> true,
some -> true, no -> false): it scores 1.0 on the test split, which is built that way,
and exactly 0.5 on the contrast split, which is built to catch it. ``construction-rule``
reads the claim's construction (``standard`` or its contrast family) and quantifier only:
its table is the majority label of each (construction, quantifier) among the train
split's contrast claims (``contrast_train.jsonl``), falling back to the quantifier rule
for a pair train never shows; it shows what form alone earns on the contrast split
(near 1.0 on the families it has seen). ``majority-class`` always gives the train
split's majority label. All three are computed directly on the split
records and produce the same per-sample records as lm-eval's ``--log_samples`` output
of the gen (``correct``/``tie``/``wrong``) and mc (``acc``) tasks, so the comparison
report treats them like any other system.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from logic_claims.tasks import data
from logic_claims.tasks.claims import DEFAULT_TRUTH, QUANTIFIERS
from logic_claims.tasks.contrast import CONTRAST_SPLITS
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import CHOICES
from logic_claims.tasks.scoring import outcome_metrics

RULE_SYSTEMS = ("quantifier-rule", "construction-rule", "majority-class")
# The splits and task-name infixes of the tasks a rule system stands in for.
RULE_SPLITS = {"test": "", "contrast": "_contrast"}


def majority_label(train: list[dict[str, Any]]) -> bool:
    """The most frequent label of the train split; a tie (the built train split is
    exactly balanced) goes to False, so the choice is deterministic and documented."""
    counts = Counter(bool(r["label"]) for r in train)
    return counts[True] > counts[False]


def construction_table(train_contrast: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(construction, quantifier) -> the majority label among ``train_contrast``'s claims
    of that pair (a tie goes to the quantifier rule's answer)."""
    votes: dict[tuple[str, str], Counter[bool]] = {}
    for record in train_contrast:
        key = (record["construction"], record["quantifier"])
        votes.setdefault(key, Counter())[bool(record["label"])] += 1
    return {
        key: DEFAULT_TRUTH[key[1]] if c[True] == c[False] else c[True] > c[False]
        for key, c in votes.items()
    }


def rule_answerer(system: str, data_dir: str | Path) -> Callable[[dict[str, Any]], bool]:
    """A function from a claim record to the rule system's answer (True/False)."""
    if system == "quantifier-rule":
        return lambda record: DEFAULT_TRUTH[record["quantifier"]]
    if system == "construction-rule":
        table = construction_table(data.load_split(data_dir, CONTRAST_SPLITS["train"]))
        return lambda r: table.get(
            (r["construction"], r["quantifier"]), DEFAULT_TRUTH[r["quantifier"]]
        )
    if system == "majority-class":
        label = majority_label(data.load_split(data_dir, "train"))
        return lambda record: label
    raise InputError(f"unknown rule system {system!r}; choose from {', '.join(RULE_SYSTEMS)}")


def apply_limit(n_docs: int, limit: int | float | None) -> int:
    """How many docs lm-eval evaluates for ``--limit`` (an int count or a fraction)."""
    if limit is None:
        return n_docs
    if isinstance(limit, float) and limit < 1:
        return math.ceil(n_docs * limit)
    return min(n_docs, int(limit))


def rule_samples(
    system: str,
    data_dir: str | Path,
    limit: int | float | None = None,
    splits: tuple[str, ...] = ("test", "contrast"),
) -> dict[str, list[dict[str, Any]]]:
    """Per-subtask sample records, as lm-eval would log them, for a rule system.

    Keys are the task names the rule stands in for: ``logic_claims_{q}`` and
    ``logic_claims_contrast_{q}`` (gen: ``correct``/``tie``/``wrong``, the answer
    scored by the study's rule) and ``logic_claims_mc_{q}``/``logic_claims_contrast_mc_{q}``
    (``acc``). ``limit`` takes the first docs of each quantifier, as lm-eval does.
    """
    answer = rule_answerer(system, data_dir)
    out: dict[str, list[dict[str, Any]]] = {}
    for split in splits:
        records = data.load_split(data_dir, split)
        for quantifier in QUANTIFIERS:
            docs = [r for r in records if r["quantifier"] == quantifier]
            docs = docs[: apply_limit(len(docs), limit)]
            gen, mc = [], []
            for doc_id, doc in enumerate(docs):
                said = answer(doc)
                text = f"{CHOICES[0] if said else CHOICES[1]}."
                gen.append(
                    {"doc_id": doc_id, "doc": doc, "resps": [[text]], "filtered_resps": [text]}
                    | outcome_metrics(text, doc["label"])
                )
                mc.append(
                    {"doc_id": doc_id, "doc": doc, "resps": [[text]], "filtered_resps": [text]}
                    | {"acc": float(said == doc["label"])}
                )
            infix = RULE_SPLITS[split]
            out[f"logic_claims{infix}_{quantifier}"] = gen
            out[f"logic_claims{infix}_mc_{quantifier}"] = mc
    return out
