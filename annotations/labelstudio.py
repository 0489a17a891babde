"""Label Studio: export a set's items as tasks (plus a labeling config), import completions.

Tasks are blinded like every view of the set: ``data`` holds ``item_id``, ``claim`` and
``answer``, never the system. The labeling config has one ``<Choices>`` per dimension,
named after it, so a completed task's ``annotations[].result[]`` entries read
``{"from_name": "factual", "type": "choices", "value": {"choices": ["1"]}}``.

Label Studio's JSON export names raters by user id (``"completed_by": 3``) or, in some
versions, by a user object with an email; ``rater_map`` turns either into the set's
rater names (``{"3": "alice", "bob@lab.org": "bob"}``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from logic_claims.annotations.records import ANY_SYSTEM, Dimension, Judgment, item_id_of
from logic_claims.annotations.store import Store
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import (
    check_no_surrogates,
    json_errors,
    read_text,
    write_json,
    write_text,
)

# A judge's prediction, as `export --with-judgments` writes it, names the judge and its
# settings here (Label Studio keeps a prediction's extra fields).
JUDGE_KEY = "logic_claims_judge"


def labeling_config(dimensions: tuple[Dimension, ...]) -> str:
    """Label Studio labeling-config XML: the claim, the answer, one choice per dimension."""
    lines = [
        "<View>",
        '  <Header value="Claim"/>',
        '  <Text name="claim" value="$claim"/>',
        '  <Header value="The model\'s answer"/>',
        '  <Text name="answer" value="$answer"/>',
    ]
    for dim in dimensions:
        title = f"{dim.question} {dim.definition}".strip() or dim.name
        lines.append(f"  <Header value={quoteattr(title)}/>")
        lines.append(
            f'  <Choices name={quoteattr(dim.name)} toName="answer" choice="single"'
            ' showInLine="true" required="true">'
        )
        for label in dim.labels:
            hint = (
                {"1": "yes", "0": "no"}.get(label, label)
                if set(dim.labels) == {"0", "1"}
                else label
            )
            lines.append(f"    <Choice value={quoteattr(label)} hint={quoteattr(hint)}/>")
        lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def export_tasks(
    store: Store,
    out: str | Path,
    config_out: str | Path | None = None,
    with_judgments: bool = False,
) -> int:
    """Write the set's items as Label Studio tasks (JSON) and the labeling config (XML).

    ``with_judgments``: each task also carries the stored judgments, people's as
    ``annotations`` (``completed_by: {"username": NAME}``) and each model judge's as
    ``predictions`` (``model_version`` its name, its settings under JUDGE_KEY), so an
    import restores both. Not for a project people will judge: Label Studio shows
    predictions to its raters."""
    out = Path(out)
    rows = store.conn.execute(
        "SELECT i.item_id, i.claim, i.answer FROM items i"
        " LEFT JOIN (SELECT item_id, MIN(position) AS pos FROM assignments GROUP BY item_id) a"
        " ON a.item_id = i.item_id ORDER BY a.pos, i.item_id"
    ).fetchall()
    tasks = [
        {"data": {"item_id": r["item_id"], "claim": r["claim"], "answer": r["answer"]}}
        for r in rows
    ]
    if with_judgments:
        _add_judgments(store, tasks)
    write_json(out, tasks)
    write_text(config_out or out.with_suffix(".xml"), labeling_config(store.dimensions))
    return len(tasks)


def _add_judgments(store: Store, tasks: list[dict[str, Any]]) -> None:
    """Attach each item's stored judgments to its task (see export_tasks)."""
    given: dict[str, dict[str, dict[str, Any]]] = {}
    for r in store.conn.execute(
        "SELECT item_id, annotator, dimension, value, created_at FROM ratings ORDER BY id"
    ):
        done = given.setdefault(r[0], {}).setdefault(r[1], {"values": {}, "created_at": r[4]})
        done["values"][r[2]] = r[3]
    for task in tasks:
        task["annotations"], task["predictions"] = [], []
        for rater, done in given.get(task["data"]["item_id"], {}).items():
            entry = {"created_at": done["created_at"], "result": _results(done["values"])}
            judge = store.rater_info(rater)
            if judge is None:
                entry.update(completed_by={"username": rater}, was_cancelled=False)
                task["annotations"].append(entry)
            else:
                entry.update(model_version=rater, **{JUDGE_KEY: {"rater": rater, "judge": judge}})
                task["predictions"].append(entry)


def _results(values: dict[str, str]) -> list[dict[str, Any]]:
    """Label Studio ``choices`` results: one per dimension judged."""
    return [
        {"from_name": dim, "to_name": "answer", "type": "choices", "value": {"choices": [label]}}
        for dim, label in values.items()
    ]


def _array_elements(text: str, path: Path) -> list[tuple[Any, int]]:
    """The elements of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    idx = len(text) - len(text.lstrip())
    if not text[idx:].startswith("["):
        raise InputError(
            "not a Label Studio JSON export (expected a list of tasks)",
            path,
            text.count("\n", 0, idx) + 1,
        )
    idx += 1
    out = []
    while True:
        while idx < len(text) and text[idx] in " \t\r\n":
            idx += 1
        if idx < len(text) and text[idx] == "]":
            return out
        line = text.count("\n", 0, idx) + 1
        with json_errors(path, line):
            try:
                value, idx = decoder.raw_decode(text, idx)
            except json.JSONDecodeError as exc:  # the line of the error, not of the element
                raise InputError(f"not valid JSON ({exc.msg})", path, exc.lineno) from exc
        check_no_surrogates(value, path, line)
        out.append((value, line))
        while idx < len(text) and text[idx] in " \t\r\n":
            idx += 1
        if idx < len(text) and text[idx] == ",":
            idx += 1
        elif idx < len(text) and text[idx] == "]":
            return out
        else:
            raise InputError(
                "not valid JSON (expected ',' or ']')", path, text.count("\n", 0, idx) + 1
            )


def _rater(completed_by: Any, rater_map: dict[str, str]) -> str | None:
    if isinstance(completed_by, dict):
        for key in ("email", "id", "username"):
            value = completed_by.get(key)
            if value is not None and str(value) in rater_map:
                return rater_map[str(value)]
        value = completed_by.get("email") or completed_by.get("username") or completed_by.get("id")
        return None if value is None else str(value)
    if completed_by is None:
        return None
    return rater_map.get(str(completed_by), str(completed_by))


def _item_id(task: Any, path: Path, line: int) -> str:
    if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
        raise InputError("a Label Studio task needs a 'data' object", path, line)
    data = task["data"]
    for key in ("item_id", "claim", "answer"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InputError(f"task data {key} must be a string, got {clip(data[key])}", path, line)
    if data.get("item_id"):
        return data["item_id"]
    if not (data.get("claim") and data.get("answer")):
        raise InputError("task data has no item_id (nor claim and answer)", path, line)
    return item_id_of(data["claim"], data["answer"])


def _choice(result: Any, dims: dict[str, Dimension], path: Path, line: int) -> tuple[str, str]:
    """(dimension, label) of one ``choices`` result."""
    name = result.get("from_name")
    dim = dims.get(name) if isinstance(name, str) else None
    if dim is None:
        raise InputError(
            f"unknown dimension {clip(name)} in result (this set has: {', '.join(dims)})",
            path,
            line,
        )
    value = result.get("value")
    if not isinstance(value, dict):
        raise InputError(f"{name}: result value must be an object, got {clip(value)}", path, line)
    choices = value.get("choices")
    if not isinstance(choices, list) or len(choices) != 1 or not isinstance(choices[0], str):
        raise InputError(f"{name}: expected one choice, got {clip(choices)}", path, line)
    if choices[0] not in dim.labels:
        raise InputError(
            f"{name}: value {clip(choices[0])} is not one of {'/'.join(dim.labels)}", path, line
        )
    return dim.name, choices[0]


def _judgments(
    annotation: Any, item_id: str, dims: dict[str, Dimension], rater_map: dict[str, str],
    path: Path, line: int,
) -> list[Judgment]:  # fmt: skip
    """The judgments of one annotation (a person's completion of a task)."""
    if not isinstance(annotation, dict):
        raise InputError("an annotation must be an object", path, line)
    if annotation.get("was_cancelled"):
        return []  # the rater skipped the task
    if isinstance(annotation.get("completed_by"), list):
        raise InputError("completed_by must be a user id or object", path, line)
    rater = _rater(annotation.get("completed_by"), rater_map)
    if not rater:
        raise InputError("annotation without completed_by", path, line)
    return _choices(annotation, item_id, rater, dims, path, line)


def _prediction(
    prediction: Any, item_id: str, dims: dict[str, Dimension], path: Path, line: int
) -> list[Judgment]:
    """The judgments of a judge's prediction, as `export --with-judgments` writes it (the
    judge's name and settings under JUDGE_KEY); another tool's predictions are not
    judgments of this set and are skipped."""
    if not isinstance(prediction, dict) or JUDGE_KEY not in prediction:
        return []
    record = prediction[JUDGE_KEY]
    if not (
        isinstance(record, dict)
        and isinstance(record.get("rater"), str)
        and record["rater"].strip()
        and isinstance(record.get("judge"), dict)
    ):
        raise InputError(f"{JUDGE_KEY} must hold a rater name and its judge settings", path, line)
    judge = {"rater_kind": "model", "judge": record["judge"]}
    return _choices(prediction, item_id, record["rater"].strip(), dims, path, line, judge)


def _choices(
    completion: dict[str, Any], item_id: str, rater: str, dims: dict[str, Dimension],
    path: Path, line: int, judge: dict[str, Any] | None = None,
) -> list[Judgment]:  # fmt: skip
    """The ``choices`` results of an annotation or prediction as ``rater``'s judgments."""
    when = completion.get("updated_at") or completion.get("created_at")
    if when is not None and not isinstance(when, str):
        raise InputError(f"created_at/updated_at must be a time, got {clip(when)}", path, line)
    results = completion.get("result") or []
    if not isinstance(results, list):
        raise InputError(f"'result' must be a list, got {clip(results)}", path, line)
    out = []
    for result in results:
        if not isinstance(result, dict) or result.get("type") != "choices":
            continue  # other control tags (e.g. a comment box) are not judgments
        name, value = _choice(result, dims, path, line)
        out.append(Judgment(item_id, ANY_SYSTEM, rater, name, value, line, when, **(judge or {})))
    return out


def read_completions(
    path: str | Path, dims: dict[str, Dimension], rater_map: dict[str, str] | None = None
) -> list[Judgment]:
    """Judgments in a Label Studio JSON export; InputError names file and line."""
    path = Path(path)
    rater_map = rater_map or {}
    text = read_text(path, empty="empty file")
    tasks = _array_elements(text, path)
    if not tasks:
        raise InputError("no tasks in the file", path)
    out: list[Judgment] = []
    for task, line in tasks:
        item_id = _item_id(task, path, line)
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            raise InputError("'annotations' must be a list", path, line)
        for annotation in annotations:
            out.extend(_judgments(annotation, item_id, dims, rater_map, path, line))
        predictions = task.get("predictions", [])
        if not isinstance(predictions, list):
            raise InputError("'predictions' must be a list", path, line)
        for prediction in predictions:
            out.extend(_prediction(prediction, item_id, dims, path, line))
    return out


def completed_example(
    tasks: list[dict[str, Any]],
    judgments: dict[tuple[str, str], dict[str, str]],
    ids: dict[str, int],
) -> list[dict[str, Any]]:
    """Tasks with completions in Label Studio's export shape (for docs and tests):
    ``judgments[(item_id, rater)] = {dimension: label}``, ``ids[rater] = user id``."""
    out = []
    for n, task in enumerate(tasks, start=1):
        item_id = task["data"]["item_id"]
        annotations = []
        for (judged, rater), values in judgments.items():
            if judged != item_id:
                continue
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "completed_by": ids[rater],
                    "was_cancelled": False,
                    "created_at": "2024-01-01T00:00:00.000000Z",
                    "result": _results(values),
                }
            )
        out.append({"id": n, "data": task["data"], "annotations": annotations})
    return out
