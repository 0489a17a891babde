"""Hostile text: every export reads back what a model may write, and every bad field of a
ratings file or an lm-eval samples file is one line naming file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from annotation_helpers import (
    ANSWERS_A,
    CLAIMS,
    cli,
    dump,
    lm_eval_record,
    new_store,
    one_line_error,
    ratings_key,
)

from logic_claims.annotations import store as S
from logic_claims.annotations.labelstudio import completed_example
from logic_claims.annotations.ratings import load_ratings

# -- hostile text: every export reads back, every bad field is one line ----------------------

# Answers as a model may write them: line and paragraph separators lm-eval keeps unescaped,
# carriage returns, NUL, a right-to-left override, emoji, quotes and commas, and one answer
# far over csv's default field limit (128 KiB).
HOSTILE = [
    "False, birds\u2028of prey\u2029do not\x85fly.",
    'True, "some" birds,\r\nlike penguins,\rdo not fly.',
    "True, cats\x00hunt \u202emice\u202c, \U0001f408 and \U0001f600.",
    "False, " + "many cats hunt mice; " * 10_000 + "end.",
    "False, dogs,\nbark, 'loudly'.\t\u00e9",
]


def write_lm_eval_samples(folder: Path, answers: list[str]) -> Path:
    """A samples file written as lm-eval writes it: ``json.dumps(..., ensure_ascii=False)``,
    so U+2028, U+2029 and U+0085 stand unescaped inside the JSON strings."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "samples_logic_claims_all_2024-05-01T10-00-00.000001.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, answer in enumerate(answers):
            record = lm_eval_record(n, *CLAIMS[n], answer)
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def hostile_store(folder: Path, capsys: pytest.CaptureFixture) -> Path:
    store = folder / "hostile.sqlite"
    samples = write_lm_eval_samples(folder / "m", HOSTILE)
    argv = ["annotate", "new", "--store", store, "--per-item", "2", "--annotators", "ann,bob"]
    code, _, err = cli(*argv, "--samples", samples, "--system", "sysA", capsys=capsys)
    assert code == 0, err
    return store


def items(store: Path) -> list[tuple]:
    return [row[1:] for row in dump(store) if row[0] == "items"]


def test_new_reads_lm_eval_samples_with_line_separators_in_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = hostile_store(tmp_path, capsys)
    with S.Store.open(store) as s:
        answers = {s.item(i)["answer"] for i in s.queue("ann") + s.queue("bob")}
    assert answers == {a.strip() for a in HOSTILE}


def test_every_export_format_reads_back_hostile_text(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = hostile_store(tmp_path, capsys)
    with S.Store.open(store) as s:
        for rater in ("ann", "bob"):
            for n, item in enumerate(s.queue(rater)):
                s.rate(item, rater, "factual", str(n % 2))
                s.rate(item, rater, "justified", "1")
    original = load_ratings(store)
    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"r.{suffix}"
        assert cli("annotate", "export", "--store", store, "--out", out, capsys=capsys)[0] == 0
        assert ratings_key(load_ratings(out)) == ratings_key(original)
        fresh = hostile_store(tmp_path / f"fresh-{suffix}", capsys)
        code, _, err = cli("annotate", "import", out, "--store", fresh, capsys=capsys)
        assert code == 0, err
        assert ratings_key(load_ratings(fresh)) == ratings_key(original)
        assert items(fresh) == items(store)

    # Label Studio: the tasks carry the texts; completions of them import into a fresh set.
    tasks_path = tmp_path / "tasks.json"
    assert cli("annotate", "export", "--store", store, "--out", tasks_path, capsys=capsys)[0] == 0
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    assert {t["data"]["answer"] for t in tasks} == {a.strip() for a in HOSTILE}
    judged: dict[tuple[str, str], dict[str, str]] = {}
    for row in original.itertuples():
        judged.setdefault((row.item_id, row.annotator), {})[row.dimension] = row.value
    done = tmp_path / "done.json"
    done.write_text(json.dumps(completed_example(tasks, judged, {"ann": 1, "bob": 2})), "utf-8")
    fresh = hostile_store(tmp_path / "fresh-ls", capsys)
    code, _, err = cli("annotate", "import", done, "--store", fresh, "--rater-map", "1=ann",
                       "--rater-map", "2=bob", capsys=capsys)  # fmt: skip
    assert code == 0, err
    assert ratings_key(load_ratings(fresh)) == ratings_key(original)


def test_a_csv_field_over_the_limit_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from logic_claims.annotations import ratings

    path = tmp_path / "r.csv"
    path.write_text(f"item_id,system,annotator,factual,answer\ni1,A,x,1,{'y' * 5000}\n")
    monkeypatch.setattr(ratings, "CSV_FIELD_LIMIT", 1000)
    code, _, err = cli("annotate", "scores", path, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{path}:2:", "field larger than field limit (1000)")


def _jsonl(**fields: object) -> str:
    record = {"item_id": "i1", "system": "A", "annotator": "x", "dimension": "factual"}
    return json.dumps({**record, "value": 1, **fields}) + "\n"


BAD_FIELDS = {
    # name: (content, problem); every one is on line 2 (line 1 is good)
    "time-dict.jsonl": (_jsonl(time={"at": 1}), "time must be a string, got {'at': 1}"),
    "item-list.jsonl": (_jsonl(item_id=["i1"]), "item_id must be a string"),
    "annotator-int.jsonl": (_jsonl(annotator=7), "annotator must be a string, got 7"),
    "dimension-list.jsonl": (_jsonl(dimension=["factual"]), "dimension must be a string"),
    "value-dict.jsonl": (_jsonl(value={"v": 1}), "value must be a label"),
    "system-null-wide.jsonl": (
        json.dumps({"item_id": "i1", "system": "A", "annotator": "x", "factual": [1]}) + "\n",
        "factual: value must be a label",
    ),
    "claim-int.jsonl": (_jsonl(claim=3), "claim must be a string"),
    "surrogate.jsonl": (_jsonl(annotator="x\ud800"), "lone surrogate \\ud800"),
    "deep.jsonl": ('{"item_id": ' + "[" * 30_000 + "]" * 30_000 + "}\n", "nested too deeply"),
    "bigint.jsonl": (_jsonl().replace('"value": 1', '"value": ' + "9" * 5000), "not valid JSON"),
}


@pytest.mark.parametrize("name", sorted(BAD_FIELDS))
def test_wrong_types_in_jsonl_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str
) -> None:
    content, problem = BAD_FIELDS[name]
    path = tmp_path / name
    path.write_text(_jsonl() + content, encoding="utf-8")
    code, _, err = cli("annotate", "scores", path, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{path}:2:", problem)
    store = new_store(tmp_path, {"A": ANSWERS_A}, annotators="x", per_item=1)
    before = dump(store)
    code, _, err = cli("annotate", "import", path, "--store", store, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{path}:2:", problem)
    assert dump(store) == before


def _doc(**changes: object) -> dict:
    record = lm_eval_record(1, "Not all birds fly.", "not_all", True, "True, penguins.")
    for key, value in changes.items():
        if key.startswith("doc__"):
            record["doc"][key[5:]] = value
        else:
            record[key] = value
    return record


BAD_SAMPLES = {
    "surrogate": (_doc(resps=[["True, \ud800 penguins."]]), "lone surrogate \\ud800"),
    "surrogate-in-doc": (_doc(doc__claim="Not all \udfff fly."), "lone surrogate \\udfff"),
    "doc-id-list": (_doc(doc_id=[1]), "doc_id must be a number"),
    "quantifier-dict": (_doc(doc__quantifier={"q": 1}), "doc quantifier must be one of"),
    "target-list": (_doc(doc__target=["x"]), "doc target must be text"),
}


@pytest.mark.parametrize("name", sorted(BAD_SAMPLES))
def test_bad_fields_in_lm_eval_samples_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, name: str
) -> None:
    record, problem = BAD_SAMPLES[name]
    path = write_lm_eval_samples(tmp_path, HOSTILE[:1])
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")  # ensure_ascii: a lone surrogate as "\ud800"
    store = tmp_path / "s.sqlite"
    code, _, err = cli("annotate", "new", "--store", store, "--per-item", "1", "--annotators",
                       "a", "--samples", path, capsys=capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, f"{path}:2:", problem)
    assert not store.exists()


def test_a_bad_lm_eval_results_file_beside_the_samples(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    samples = write_lm_eval_samples(tmp_path / "__models__m7", HOSTILE[:2])
    results = samples.parent / "results_2024-05-01T10-00-00.000001.json"
    argv = ["annotate", "new", "--per-item", "1", "--annotators", "a", "--samples", samples]
    # Not an object: the system is named after lm-eval's model folder.
    results.write_text("[1, 2]")
    code, out, err = cli(*argv, "--store", tmp_path / "a.sqlite", capsys=capsys)
    assert code == 0 and "system m7: 2 answers" in out, err
    # A lone surrogate in the model's name: refused, naming the results file.
    results.write_text('{"config": {"model_args": {"pretrained": "/models/x\\udc80"}}}')
    code, _, err = cli(*argv, "--store", tmp_path / "b.sqlite", capsys=capsys)
    assert code == 2
    one_line_error(err, f"{results}:", "lone surrogate \\udc80")
    assert not (tmp_path / "b.sqlite").exists()
