"""``logic-claims ask``: a model's answers to the user's own claims, as the tasks score them.

Each claim gets the logic_claims tasks' prompt (:func:`logic_claims.tasks.prompt.format_prompt`)
and is asked both ways the tasks ask it, through the model ``eval`` builds
(:func:`logic_claims.harness.evaluate.build_lm`, the fast path by default):

- generated, with the generation settings of the ``logic_claims`` task (read from its
  YAML): the answer, cut at its first sentence as the study did, its verdict
  (:func:`~logic_claims.tasks.scoring.read_verdict`: true/false/tie) and, when the claim's
  truth is known, correct/tie/wrong (:func:`~logic_claims.tasks.scoring.score_answer`);
- by log-likelihood, as ``logic_claims_mc``: the margin of " True" over " False"
  (positive: the model finds the claim more likely true).

Claims come from the command line, a file (the study's demo CSV ``text_input,text_label``,
this project's JSONL claim records, or plain text, one claim a line) or standard input.
The answers can be written as an lm-eval samples file that ``annotate new --samples``
takes to raters.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from logic_claims.annotations.samples import SYSTEM_KEY
from logic_claims.tasks import TASKS_DIR
from logic_claims.tasks.claims import quantifier_of
from logic_claims.tasks.data import check_claim_text
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import iter_json_lines, read_text, split_lines
from logic_claims.tasks.prompt import CHOICES, TARGET_DELIMITER, format_prompt
from logic_claims.tasks.scoring import OUTCOMES, first_sentence, read_verdict, score_answer

# The study's demo CSV (its demo/demo.py): the claim, and the expected answer.
CSV_COLUMNS = ("text_input", "text_label")
# The generation task whose settings (stop sequences, max_gen_toks) ``ask`` uses.
GEN_TASK_YAML = TASKS_DIR / "logic_claims" / "logic_claims_all.yaml"
SAMPLES_TASK = "logic_claims_ask"


@dataclass(frozen=True)
class Question:
    """One claim to ask, with what is known about it."""

    claim: str
    label: bool | None = None  # its truth, when known
    expected: str | None = None  # the expected answer (CSV text_label, JSONL target)
    id: str | None = None


@dataclass(frozen=True)
class Answer:
    """The model's answer to one claim, scored as the tasks score it."""

    claim: str
    quantifier: str | None  # all / not_all / some / no; None when it starts with none
    answer: str  # the generated answer cut at its first sentence
    full_answer: str  # everything generated
    verdict: str  # true / false / tie (the study's rule on the first sentence)
    margin: float  # log P(" True") - log P(" False") after the prompt
    label: bool | None = None
    expected: str | None = None
    outcome: str | None = None  # correct / tie / wrong when the label is known
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_claim(text: str, path: str | Path | None = None, line: int | None = None) -> str:
    """The claim stripped, checked as a data dir's claims are (non-empty, at most
    ``MAX_CLAIM_CHARS``); InputError naming where it came from otherwise."""
    return check_claim_text(text.strip(), path, line)


def label_of_answer(text: str) -> bool | None:
    """The truth an expected answer gives ("False, birds of prey ..." -> False), read by
    the study's rule; None when it says neither."""
    verdict = read_verdict(text)
    return None if verdict == "tie" else verdict == "true"


def questions_from_lines(lines: Iterable[str], where: str | Path) -> list[Question]:
    """One claim a non-blank line (plain text files, standard input)."""
    return [
        Question(check_claim(line, where, n))
        for n, line in enumerate(lines, start=1)
        if line.strip()
    ]


def _from_csv(path: Path) -> list[Question]:
    reader = csv.DictReader(io.StringIO(read_text(path, newline="")))
    try:
        columns = reader.fieldnames or []
        if CSV_COLUMNS[0] not in columns:
            raise InputError(
                f"a CSV of claims needs a {CSV_COLUMNS[0]} column (the study's demo format: "
                f"{','.join(CSV_COLUMNS)}); found {clip(','.join(columns), 60)}",
                path,
                1,
            )
        out = []
        for row in reader:
            line = reader.line_num
            claim = check_claim(row.get(CSV_COLUMNS[0]) or "", path, line)
            expected = (row.get(CSV_COLUMNS[1]) or "").strip() or None
            label = None if expected is None else label_of_answer(expected)
            out.append(Question(claim, label, expected))
    except csv.Error as exc:
        raise InputError(f"not a valid CSV ({exc})", path, reader.line_num) from exc
    return out


def _from_jsonl(path: Path) -> list[Question]:
    out = []
    for line, record in iter_json_lines(path, read_text(path)):
        claim = record.get("claim")
        if not isinstance(claim, str):
            raise InputError(f"a claim record needs 'claim' text, got {clip(claim)}", path, line)
        label = record.get("label")
        if label is not None and not isinstance(label, bool):
            raise InputError(f"label must be true or false, got {clip(label)}", path, line)
        for key in ("target", "id"):
            if record.get(key) is not None and not isinstance(record[key], str):
                raise InputError(f"{key} must be text, got {clip(record[key])}", path, line)
        out.append(Question(check_claim(claim, path, line), label, record.get("target"),
                            record.get("id")))  # fmt: skip
    return out


def read_questions(path: str | Path) -> list[Question]:
    """The claims of a file: ``.csv`` the study's demo format, ``.jsonl`` claim records
    (``claim``, optional ``label``/``target``/``id``), anything else one claim a line."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        questions = _from_csv(path)
    elif suffix == ".jsonl":
        questions = _from_jsonl(path)
    else:
        questions = questions_from_lines(split_lines(read_text(path)), path)
    if not questions:
        raise InputError("no claims in the file", path)
    return questions


@functools.lru_cache(maxsize=1)
def generation_kwargs() -> dict[str, Any]:
    """The ``logic_claims`` task's generation settings (stop sequences, max_gen_toks)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    return dict(load_yaml(GEN_TASK_YAML, resolve_func=False)["generation_kwargs"])


def ask(lm: Any, questions: Sequence[Question]) -> list[Answer]:
    """Every claim generated and scored by log-likelihood, as one batch of each."""
    from lm_eval.api.instance import Instance

    if not questions:
        return []
    prompts = [format_prompt(q.claim) for q in questions]
    gen = generation_kwargs()
    generated = lm.generate_until(
        [Instance("generate_until", {}, (p, dict(gen)), idx=0) for p in prompts],
        disable_tqdm=True,
    )
    scored = lm.loglikelihood(
        [
            Instance("loglikelihood", {}, (p, TARGET_DELIMITER + choice), idx=i)
            for p in prompts
            for i, choice in enumerate(CHOICES)
        ],
        disable_tqdm=True,
    )
    answers = []
    for n, (question, full) in enumerate(zip(questions, generated, strict=True)):
        (ll_true, _), (ll_false, _) = scored[2 * n], scored[2 * n + 1]
        answers.append(
            Answer(
                claim=question.claim,
                quantifier=quantifier_of(question.claim),
                answer=first_sentence(full),
                full_answer=full,
                verdict=read_verdict(full),
                margin=float(ll_true) - float(ll_false),
                label=question.label,
                expected=question.expected,
                outcome=None if question.label is None else score_answer(full, question.label),
                id=question.id,
            )
        )
    return answers


def sample_records(answers: Sequence[Answer], system: str) -> list[dict[str, Any]]:
    """The answers as lm-eval's ``--log_samples`` records of a generation task (what
    ``lm_eval`` writes to ``samples_<task>_<date>.jsonl``), plus ``system``, the name
    ``annotate new`` gives these answers when no ``--system`` is given."""
    from lm_eval.utils import hash_string

    gen = generation_kwargs()
    records = []
    for n, answer in enumerate(answers):
        doc = {
            "id": answer.id,
            "claim": answer.claim,
            "quantifier": answer.quantifier,
            "label": answer.label,
            "target": answer.expected,
        }
        prompt = format_prompt(answer.claim)
        target = answer.expected or ""
        metrics = {}
        if answer.outcome is not None:
            metrics = {name: int(name == answer.outcome) for name in OUTCOMES}
        records.append(
            {
                "doc_id": n,
                "doc": doc,
                "target": target,
                "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": dict(gen)}},
                "resps": [[answer.full_answer]],
                "filtered_resps": [answer.full_answer],
                "filter": "none",
                "metrics": list(metrics),
                "doc_hash": hash_string(json.dumps(doc, indent=2, ensure_ascii=False)),
                "prompt_hash": hash_string(prompt),
                "target_hash": hash_string(target),
                **metrics,
                SYSTEM_KEY: system,
            }
        )
    return records
