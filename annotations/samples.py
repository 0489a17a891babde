"""Read the per-sample files that ``lm_eval --log_samples`` (or ``logic-claims eval --output``)
writes, ``samples_<task>_<date>.jsonl``, into items to judge.

Each record holds ``doc`` (our claim record: claim, quantifier, label, target, id),
``resps`` (``resps[0][0]`` is the model's full generated answer) and ``filtered_resps``.
A log-likelihood task (``logic_claims_mc_*``) has no free-text answer, so there is
nothing to judge; such a file is refused with a one-line error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logic_claims.annotations.records import Item
from logic_claims.tasks.claims import QUANTIFIERS
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import (
    LM_EVAL_SAMPLES_NAME,
    check_no_surrogates,
    parse_json,
    read_text,
    split_lines,
)

NOT_LM_EVAL = (
    "not an lm-eval --log_samples record ({why}); expected a samples_<task>_<date>.jsonl "
    "written by `lm_eval --log_samples --output_path DIR` or `logic-claims eval --output DIR`"
)


@dataclass
class SampleItem:
    item: Item
    task: str | None
    line: int


def _answer_of(record: dict[str, Any]) -> str | None:
    """The model's full answer: ``resps[0][0]``, else ``filtered_resps[0]``."""
    resps = record.get("resps")
    if (
        isinstance(resps, list)
        and resps
        and isinstance(resps[0], list)
        and resps[0]
        and isinstance(resps[0][0], str)
    ):
        return resps[0][0]
    filtered = record.get("filtered_resps")
    if isinstance(filtered, list) and filtered and isinstance(filtered[0], str):
        return filtered[0]
    return None


def parse_record(line: str, path: Path, lineno: int) -> dict[str, Any]:
    """One line of a samples file as an lm-eval record, or an InputError."""
    try:
        record = parse_json(line, path, lineno)
    except InputError as exc:
        raise InputError(NOT_LM_EVAL.format(why=exc.problem), path, lineno) from exc
    if not isinstance(record, dict):
        raise InputError(NOT_LM_EVAL.format(why="not a JSON object"), path, lineno)
    missing = [k for k in ("doc", "doc_id", "resps") if k not in record]
    if missing:
        raise InputError(NOT_LM_EVAL.format(why=f"no {', '.join(missing)}"), path, lineno)
    check_no_surrogates(record, path, lineno)
    if isinstance(record["doc_id"], bool) or not isinstance(record["doc_id"], int | str):
        raise InputError(f"doc_id must be a number, got {clip(record['doc_id'])}", path, lineno)
    return record


def _item(doc: Any, answer: str, path: Path, lineno: int) -> Item:
    """The item of one record's doc (our claim record) and answer."""
    if not isinstance(doc, dict) or not isinstance(doc.get("claim"), str):
        raise InputError(
            "lm-eval record whose doc has no 'claim': not a logic_claims task", path, lineno
        )
    label = doc.get("label")
    if label is not None and not isinstance(label, bool):
        raise InputError(f"doc label must be true/false, got {clip(label)}", path, lineno)
    quantifier = doc.get("quantifier")
    if quantifier is not None and quantifier not in QUANTIFIERS:
        raise InputError(
            f"doc quantifier must be one of {'/'.join(QUANTIFIERS)}, got {clip(quantifier)}",
            path,
            lineno,
        )
    for key in ("target", "id"):
        if isinstance(doc.get(key), dict | list):
            raise InputError(f"doc {key} must be text, got {clip(doc[key])}", path, lineno)
    return Item(
        claim=doc["claim"].strip(),
        answer=answer.strip(),
        quantifier=quantifier,
        label=label,
        target=None if doc.get("target") is None else str(doc["target"]),
        doc_id=None if doc.get("id") is None else str(doc["id"]),
    )


def iter_records(
    path: str | Path, empty: str | None = "empty file (no samples)"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) of each doc of one samples file (lm-eval repeats a doc once per
    filter; the first filter's record is kept). Raises InputError naming file and line;
    ``empty`` is the problem of a blank file (None: no records)."""
    path = Path(path)
    seen: set[Any] = set()
    # Records are split at "\n" only: lm-eval writes U+2028 and the like unescaped.
    for lineno, line in enumerate(split_lines(read_text(path, empty=empty)), start=1):
        if not line.strip():
            continue
        record = parse_record(line, path, lineno)
        if record["doc_id"] not in seen:  # else the same doc under another filter
            seen.add(record["doc_id"])
            yield lineno, record


def read_samples(path: str | Path) -> list[SampleItem]:
    """Items of one samples file, one per doc (:func:`iter_records`)."""
    path = Path(path)
    match = LM_EVAL_SAMPLES_NAME.match(path.name)
    task = match["task"] if match else None
    out: list[SampleItem] = []
    for lineno, record in iter_records(path):
        answer = _answer_of(record)
        if answer is None:
            raise InputError(
                "no free-text answer in resps (a log-likelihood task such as logic_claims_mc?"
                " only generation tasks can be judged)",
                path,
                lineno,
            )
        out.append(SampleItem(_item(record["doc"], answer, path, lineno), task, lineno))
    return out


def default_system_name(path: str | Path) -> str:
    """The system a samples file belongs to, from lm-eval's own files.

    lm-eval writes ``results_<date>.json`` beside ``samples_<task>_<date>.jsonl``; its
    ``config.model_args`` names the model and any PEFT adapter: ``<model>`` or
    ``<model>+<adapter>`` (directory names). Without it, the ``system`` that
    ``logic-claims ask --out`` writes in each record; else the folder lm-eval made for
    the model (``__path__to__model``) gives ``model``.
    """
    path = Path(path)
    match = LM_EVAL_SAMPLES_NAME.match(path.name)
    if match:
        results = path.parent / f"results_{match['date']}.json"
        if results.is_file():
            try:
                config = json.loads(results.read_text(encoding="utf-8")).get("config", {})
            except (OSError, ValueError, RecursionError, AttributeError):  # not a JSON object
                config = {}
            check_no_surrogates(config, results)
            args = config.get("model_args") if isinstance(config, dict) else None
            if isinstance(args, str):  # the command line's "pretrained=x,peft=y"
                args = dict(p.split("=", 1) for p in args.split(",") if "=" in p)
            if isinstance(args, dict) and args.get("pretrained"):
                name = Path(str(args["pretrained"]).rstrip("/")).name
                if args.get("peft"):
                    name += "+" + Path(str(args["peft"]).rstrip("/")).name
                return name
    recorded = _recorded_system(path)
    if recorded:
        return recorded
    folder = path.resolve().parent.name
    return folder.split("__")[-1] or folder or path.stem


# A samples record's own system name: written by ``logic-claims ask --out`` (lm-eval's
# records have no such key, and lm-eval's readers ignore it).
SYSTEM_KEY = "system"
MAX_FIRST_LINE = 1 << 20


def _recorded_system(path: Path) -> str | None:
    """The ``system`` named by the file's first record, if any."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            record = json.loads(fh.readline(MAX_FIRST_LINE))
    except (OSError, ValueError, RecursionError):  # read_samples says what is wrong
        return None
    name = record.get(SYSTEM_KEY) if isinstance(record, dict) else None
    if not isinstance(name, str) or not name.strip():
        return None
    check_no_surrogates(name, path, 1)
    return name.strip()
