"""Label Studio: tasks and labeling config out, completed tasks in (rater map, all or
nothing), and each malformed part of an export as one line.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from annotation_helpers import (
    ANSWERS_A,
    ANSWERS_B,
    cli,
    dump,
    new_store,
    one_line_error,
)

from logic_claims.annotations import records
from logic_claims.annotations.labelstudio import completed_example
from logic_claims.annotations.ratings import load_ratings

# -- Label Studio --------------------------------------------------------------------------


def test_label_studio_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    store = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B}, annotators="ann,bob")
    tasks_path = tmp_path / "tasks.json"
    code, out, _ = cli("annotate", "export", "--store", store, "--out", tasks_path, capsys=capsys)
    assert code == 0 and "13 Label Studio tasks" in out
    tasks = json.loads(tasks_path.read_text())
    assert len(tasks) == 13
    assert all(set(t["data"]) == {"item_id", "claim", "answer"} for t in tasks)  # blinded
    assert "sysA" not in tasks_path.read_text()
    config = ET.parse(tmp_path / "tasks.xml").getroot()
    choices = {c.get("name"): [x.get("value") for x in c] for c in config.iter("Choices")}
    assert choices == {"factual": ["0", "1"], "justified": ["0", "1"]}
    assert {t.get("value") for t in config.iter("Text")} == {"$claim", "$answer"}
    assert all(c.get("toName") == "answer" for c in config.iter("Choices"))

    judged = {}
    for n, task in enumerate(tasks[:6]):
        judged[task["data"]["item_id"], "ann"] = {"factual": str(n % 2), "justified": "1"}
        judged[task["data"]["item_id"], "bob"] = {"factual": "1"}
    completed = completed_example(tasks, judged, {"ann": 11, "bob": 12})
    completed[6]["annotations"] = [{"completed_by": 11, "was_cancelled": True, "result": []}]
    done_path = tmp_path / "export.json"
    done_path.write_text(json.dumps(completed, indent=2))
    code, _, err = cli("annotate", "import", done_path, "--store", store, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{done_path}:2:", "unknown rater '11'")
    argv = ["annotate", "import", done_path, "--store", store, "--rater-map", "11=ann"]
    code, out, _ = cli(*argv, "--rater-map", "12=bob", capsys=capsys)
    assert code == 0 and "18 new judgments" in out
    frame = load_ratings(store)
    got = {}
    for row in frame.itertuples():
        got.setdefault((row.item_id, row.annotator), {})[row.dimension] = row.value
    assert got == judged
    shared = records.item_id_of("Not all birds fly.", "True, penguins do not fly.")
    if (shared, "ann") in judged:  # a blinded judgment counts for every system that gave it
        assert set(frame[frame.item_id == shared]["system"]) == {"sysA", "sysB"}

    # A bad choice is reported with the line its task starts on; nothing is imported.
    before = dump(store)
    completed[3]["annotations"][0]["result"][0]["value"]["choices"] = ["maybe"]
    done_path.write_text(json.dumps(completed, indent=2))
    task_starts = [n for n, x in enumerate(done_path.read_text().splitlines(), 1) if x == "  {"]
    line = task_starts[3]
    code, _, err = cli(*argv, "--rater-map", "12=bob", capsys=capsys)
    assert code == 2
    one_line_error(err, f"{done_path}:{line}:", "value 'maybe' is not one of 0/1")
    assert dump(store) == before
    code, _, err = cli("annotate", "scores", done_path, capsys=capsys)
    assert code == 2 and "names no systems" in err


def _completion(**changes: object) -> list[dict]:
    result = {"from_name": "factual", "to_name": "answer", "type": "choices",
              "value": {"choices": ["1"]}}  # fmt: skip
    annotation = {"completed_by": 1, "created_at": "2024-01-01T00:00:00Z", "result": [result]}
    task = {"id": 1, "data": {"item_id": "i1", "claim": "All birds fly.", "answer": "No."},
            "annotations": [annotation]}  # fmt: skip
    for key, value in changes.items():
        where = {"result": result, "annotation": annotation, "data": task["data"]}
        part, _, field_name = key.partition("__")
        where[part][field_name] = value
    return [task]


BAD_LABEL_STUDIO = {
    "value-list": (_completion(result__value=["1"]), "factual: result value must be an object"),
    "choices-dict": (_completion(result__value={"choices": {"a": 1}}), "expected one choice"),
    "choice-int": (_completion(result__value={"choices": [[1]]}), "expected one choice"),
    "result-int": (_completion(annotation__result=5), "'result' must be a list, got 5"),
    "time-dict": (_completion(annotation__created_at={"t": 1}), "must be a time"),
    "item-id-int": (_completion(data__item_id=5), "task data item_id must be a string"),
    "surrogate": (_completion(data__answer="No \ud800."), "lone surrogate \\ud800"),
}


@pytest.mark.parametrize("name", sorted(BAD_LABEL_STUDIO))
def test_bad_label_studio_structure_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str
) -> None:
    tasks, problem = BAD_LABEL_STUDIO[name]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks, indent=2))  # ensure_ascii: "\ud800" stays an escape
    store = new_store(tmp_path, {"A": ANSWERS_A}, annotators="x", per_item=1)
    before = dump(store)
    code, _, err = cli("annotate", "import", path, "--store", store, "--rater-map", "1=x",
                       capsys=capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, f"{path}:2:", problem)
    assert dump(store) == before
