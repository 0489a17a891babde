"""Judgments in and out of the store: the study's CSVs, wide CSV, JSONL, Label Studio, and
bad input (one line naming file and line, exit 2, store unchanged)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_annotation_store import ANSWERS_A, ANSWERS_B, CLAIMS, cli, dump, lm_eval_record, new_store

from logic_claims.annotations import records
from logic_claims.annotations import store as S
from logic_claims.annotations.labelstudio import completed_example
from logic_claims.annotations.ratings import COLUMNS, load_ratings
from logic_claims.annotations.study_judgments import read_legacy, split_claim_output

SEED_RESULTS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed-results"

# What the study's own script (peft/util/explanation_evaluation.py, get_evaluation_metric)
# prints for its two human-evaluation files: positives / items per universal (All, Not all)
# and existential (Some, No) claims.
PUBLISHED = {
    ("model4", "universal"): {"factual": (271, 316), "justified": (313, 316)},
    ("model4", "existential"): {"factual": (178, 190), "justified": (190, 190)},
    ("model6", "universal"): {"factual": (433, 526), "justified": (504, 526)},
    ("model6", "existential"): {"factual": (311, 318), "justified": (304, 318)},
}


def independent_count(path: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """The study's rule, written again from its description: last three fields from the
    right; universal if the claim's first word is All or Not."""
    counts: dict[str, list[int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.strip().split(",")
        group = "universal" if fields[1].split()[0] in ("All", "Not") else "existential"
        c = counts.setdefault(group, [0, 0, 0])
        c[0] += int(fields[-3])
        c[1] += int(fields[-2])
        c[2] += 1
    return {g: {"factual": (c[0], c[2]), "justified": (c[1], c[2])} for g, c in counts.items()}


def one_line_error(err: str, where: str, problem: str) -> None:
    assert err.count("\n") == 1, err
    assert err.startswith(f"logic-claims: error: {where}"), err
    assert problem in err, err


# -- the study's files ------------------------------------------------------------------


def test_import_legacy_reproduces_the_studys_explanation_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = tmp_path / "study.sqlite"
    for model in ("model4", "model6"):
        path = SEED_RESULTS / f"human_{model}.csv"
        argv = ["annotate", "import-legacy", path, "--system", model]
        code, out, _ = cli(*argv, "--annotator", "study", "--store", store, capsys=capsys)
        assert code == 0
        n = len(path.read_text().splitlines())
        assert f"imported {n} judged answers of system {model}" in out
        assert f"{2 * n} new judgments" in out
    code, out, _ = cli(
        "annotate", "scores", store, "--by", "system,quantifier", "--json", capsys=capsys
    )
    assert code == 0
    report = json.loads(out)
    rows = {(r["group"]["system"], r["group"]["quantifier"]): r for r in report["rows"]}
    for model in ("model4", "model6"):
        recount = independent_count(SEED_RESULTS / f"human_{model}.csv")
        for group in ("universal", "existential"):
            for dim in ("factual", "justified"):
                got = rows[model, group]["dimensions"][dim]
                k, n = PUBLISHED[model, group][dim]
                assert (got["positive"], got["n_items"]) == (k, n)
                assert got["rate"] == pytest.approx(k / n)
                assert recount[group][dim] == (k, n)
    # Per quantifier, the four add up to the two groups.
    assert rows["model4", "all"]["n_items"] + rows["model4", "not_all"]["n_items"] == 316
    # The same numbers through --by claim_type and from the exported CSV.
    csv_out = tmp_path / "study.csv"
    assert cli("annotate", "export", "--store", store, "--out", csv_out, capsys=capsys)[0] == 0
    code, out, _ = cli("annotate", "scores", csv_out, "--by", "system,claim_type", "--json",
                       capsys=capsys)  # fmt: skip
    rows2 = {(r["group"]["system"], r["group"]["claim_type"]): r for r in json.loads(out)["rows"]}
    for key, dims in PUBLISHED.items():
        for dim, (k, n) in dims.items():
            assert (rows2[key]["dimensions"][dim]["positive"], rows2[key]["n_items"]) == (k, n)


def test_legacy_reimport_is_idempotent_and_a_changed_file_is_a_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lines = (SEED_RESULTS / "human_model4.csv").read_text().splitlines()[:20]
    legacy = tmp_path / "h.csv"
    legacy.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.sqlite"
    argv = ["annotate", "import-legacy", legacy, "--system", "m4", "--annotator", "study"]
    assert cli(*argv, "--store", store, capsys=capsys)[0] == 0
    before = dump(store)
    code, out, _ = cli(*argv, "--store", store, capsys=capsys)
    assert code == 0 and "0 new judgments, 40 already there" in out
    changed = lines[:]
    fields = changed[6].split(",")
    fields[-3] = "1" if fields[-3] == "0" else "0"
    changed[6] = ",".join(fields)
    legacy.write_text("\n".join(changed) + "\n")
    code, _, err = cli(*argv, "--store", store, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{legacy}:7:", "conflict: study already rated item")
    assert dump(store) == before


def test_legacy_split_between_claim_and_output() -> None:
    assert split_claim_output("All birds, like owls, fly.,False, penguins, a bird, do not.") == (
        "All birds, like owls, fly.",
        "False, penguins, a bird, do not.",
    )
    # A claim that ends with " ." and an output that does not start with the verdict.
    assert split_claim_output("Not all ants bite .,a.") == ("Not all ants bite .", "a.")
    assert split_claim_output("Birds fly.,True") is None


def test_legacy_bad_lines_name_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = "1,All birds fly.,False, penguins do not fly.,1,1,"
    cases = {
        "2,All birds fly.,False, penguins do not fly.,2,1,": "factual must be 0 or 1, got '2'",
        "2,Birds fly.,True, they do.,1,1,": "no claim found",
        "x,All birds fly.,False, no.,1,1,": "first field must be the study's index",
        "2,All birds fly.,False,1,1": "expected index,claim,output,factual,justified,",
    }
    store = tmp_path / "s.sqlite"
    for bad, problem in cases.items():
        path = tmp_path / "h.csv"
        path.write_text(f"{good}\n{bad}\n")
        argv = ["annotate", "import-legacy", path, "--system", "m", "--annotator", "a"]
        code, _, err = cli(*argv, "--store", store, capsys=capsys)
        assert code == 2
        one_line_error(err, f"{path}:2:", problem)
        assert not store.exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = cli("annotate", "import-legacy", empty, "--system", "m", "--annotator", "a",
                       "--store", store, capsys=capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, f"{empty}:", "empty file")


def test_legacy_lines_split_where_the_study_split_them(tmp_path: Path) -> None:
    # The study read its files with ``for line in open(...)``: \n, \r\n and \r end a
    # line; U+2028, U+0085 and a form feed inside an output do not.
    path = tmp_path / "h.csv"
    text = (
        "1,All birds fly.,False, hawks\u2028and owls\x85do not\x0cfeed on grain.,1,1,\r\n"
        "2,Some cats purr.,True, tabbies purr.,1,0,\r"
        "3,No dogs bark.,False, beagles bark.,1,1,\n"
    )
    path.write_bytes(text.encode("utf-8"))
    rows = read_legacy(path, "m")
    assert [(r.line, r.index, r.justified) for r in rows] == [(1, "1", "1"), (2, "2", "0"),
                                                             (3, "3", "1")]  # fmt: skip
    assert rows[0].item.answer == "False, hawks\u2028and owls\x85do not\x0cfeed on grain."


def test_legacy_items_keep_their_quantifier_and_gold_label() -> None:
    rows = read_legacy(SEED_RESULTS / "human_model6.csv", "m6")
    assert len(rows) == 844
    counts = {
        q: sum(r.item.quantifier == q for r in rows) for q in ("all", "not_all", "some", "no")
    }
    assert counts == {"all": 263, "not_all": 263, "some": 159, "no": 159}
    labels = {r.item.quantifier: r.item.label for r in rows}
    assert labels == {"all": False, "not_all": True, "some": True, "no": False}
    odd = next(r for r in rows if r.line == 729)
    assert (odd.item.claim, odd.item.answer) == (
        "Not all caterpillars obtain protection by associating themselves with ants .",
        "a.",
    )


# -- CSV and JSONL -------------------------------------------------------------------------


def _rate_some(path: Path) -> None:
    with S.Store.open(path) as store:
        for n, rater in enumerate(("ann", "bob", "cem")):
            for m, item in enumerate(store.queue(rater)[:4]):
                store.rate(item, rater, "factual", str((n + m) % 2))
                if m % 2 == 0:
                    store.rate(item, rater, "justified", "1")


def _key(frame) -> list[tuple]:
    cols = [c for c in COLUMNS if c != "time"]
    rows = frame[cols].astype(object).where(frame[cols].notna(), None)
    return sorted(tuple(r) for r in rows.itertuples(index=False))


def test_csv_and_jsonl_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B})
    _rate_some(path)
    from_store = load_ratings(path)
    assert list(from_store.columns) == list(COLUMNS)
    assert len(from_store) > 0 and set(from_store["system"]) == {"sysA", "sysB"}
    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"r.{suffix}"
        assert cli("annotate", "export", "--store", path, "--out", out, capsys=capsys)[0] == 0
        assert _key(load_ratings(out)) == _key(from_store)
    # Wide CSV: one row per (item, system, rater) assigned; empty cells = not rated.
    with (tmp_path / "r.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["item_id", "system", "annotator", "factual", "justified"]
    with S.Store.open(path) as store:
        assigned = store.conn.execute(
            "SELECT COUNT(*) FROM assignments a JOIN item_systems s USING (item_id)"
        ).fetchone()[0]
    assert len(rows) == assigned
    assert any(r["factual"] == "" for r in rows) and any(r["justified"] == "" for r in rows)
    # Importing the export into a fresh copy of the set gives the same judgments.
    fresh = new_store(tmp_path / "fresh", {"sysA": ANSWERS_A, "sysB": ANSWERS_B})
    code, out, _ = cli("annotate", "import", tmp_path / "r.csv", "--store", fresh, capsys=capsys)
    assert code == 0
    assert _key(load_ratings(fresh)) == _key(from_store)
    code, out, _ = cli("annotate", "import", tmp_path / "r.jsonl", "--store", fresh, capsys=capsys)
    assert code == 0 and " 0 new judgments" in f" {out.split(': ', 1)[1]}"


def test_nominal_dimensions_in_files(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "item_id,system,annotator,fluency,claim\n"
        "i1,A,x,good,All birds fly.\ni1,A,y,ok,All birds fly.\n"
        "i2,A,x,bad,Some cats purr.\ni2,A,y,bad,Some cats purr.\n"
    )
    code, _, err = cli("annotate", "scores", path, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{path}:1:", "unknown column 'fluency'")
    code, out, _ = cli("annotate", "scores", path, "--dimension", "fluency:bad/ok/good",
                       "--positive", "fluency=good", "--by", "quantifier", "--json",
                       capsys=capsys)  # fmt: skip
    assert code == 0, out
    rows = {r["group"]["quantifier"]: r for r in json.loads(out)["rows"]}
    assert rows["all"]["dimensions"]["fluency"]["positive"] == 0.5  # a tie: good vs ok
    assert rows["some"]["dimensions"]["fluency"]["positive"] == 0
    code, _, err = cli("annotate", "scores", path, "--dimension", "fluency:bad/ok/good",
                       capsys=capsys)  # fmt: skip
    assert code == 2 and "--positive fluency=LABEL" in err


BAD_FILES = {
    # name: (content, line, problem)
    "value.csv": (
        "item_id,system,annotator,factual,justified\ni1,A,x,1,0\ni2,A,x,2,1\n",
        3,
        "factual: value '2' is not one of 0/1",
    ),
    "column.csv": ("item_id,system,annotator,factual,fluent\ni1,A,x,1,1\n", 1, "unknown column"),
    "empty.csv": ("", None, "empty file"),
    "header.csv": ("item_id,system,annotator,factual\n", None, "no rows after the header"),
    "missing.csv": ("item_id,system,annotator,factual\ni1,,x,1\n", 2, "missing system"),
    "conflict.csv": (
        "item_id,system,annotator,factual\ni1,A,x,1\ni1,B,x,0\n",
        3,
        "conflict: x rated item i1 factual=0 here but 1 on line 2",
    ),
    "value.jsonl": (
        '{"item_id": "i1", "system": "A", "annotator": "x", "dimension": "factual", "value": 1}\n'
        '{"item_id": "i1", "system": "A", "annotator": "x", "dimension": "factual", "value": 3}\n',
        2,
        "value '3' is not one of 0/1",
    ),
    "field.jsonl": (
        '{"item_id": "i1", "system": "A", "annotator": "x", "dimension": "factual", '
        '"value": 1, "score": 3}\n',
        1,
        "unknown field 'score'",
    ),
    "broken.jsonl": ('{"item_id": "i1"\n', 1, "not valid JSON"),
    "empty.jsonl": ("\n\n", None, "empty file"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_ratings_files(tmp_path: Path, capsys: pytest.CaptureFixture, name: str) -> None:
    content, line, problem = BAD_FILES[name]
    path = tmp_path / name
    path.write_text(content)
    where = f"{path}:{line}:" if line else f"{path}:"
    for command in ("scores", "agreement"):
        code, _, err = cli("annotate", command, path, capsys=capsys)
        assert code == 2
        one_line_error(err, where, problem)
    store = new_store(tmp_path, {"A": ANSWERS_A}, annotators="x", per_item=1)
    before = dump(store)
    code, _, err = cli("annotate", "import", path, "--store", store, capsys=capsys)
    assert code == 2
    one_line_error(err, where, problem)
    assert dump(store) == before


def test_import_unknown_item_rater_system_and_conflicts(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = new_store(tmp_path, {"A": ANSWERS_A}, annotators="x,y", per_item=2)
    with S.Store.open(store) as s:
        first, second = s.queue("x")[:2]
        s.rate(first, "x", "factual", "1")
    before = dump(store)
    head = "item_id,system,annotator,factual\n"
    cases = {
        f"{first},A,x,1\nnope,A,x,1\n": (3, "unknown item 'nope'"),
        f"{second},A,x,1\n{first},A,zed,1\n": (3, "unknown rater 'zed'"),
        f"{second},B,x,1\n": (2, "has no answer from system 'B'"),
        f"{second},A,y,1\n{first},A,x,0\n": (3, "conflict: x already rated item"),
    }
    path = tmp_path / "in.csv"
    for body, (line, problem) in cases.items():
        path.write_text(head + body)
        code, _, err = cli("annotate", "import", path, "--store", store, capsys=capsys)
        assert code == 2
        one_line_error(err, f"{path}:{line}:", problem)
        assert dump(store) == before  # all or nothing: the good first row is not kept either
    path.write_text(head + f"{second},A,y,1\n{first},A,x,0\n")
    code, out, _ = cli("annotate", "import", path, "--store", store, "--on-conflict", "keep",
                       capsys=capsys)  # fmt: skip
    assert code == 0 and "1 new judgments" in out and "1 conflicts kept" in out
    code, out, _ = cli("annotate", "import", path, "--store", store, "--on-conflict", "replace",
                       capsys=capsys)  # fmt: skip
    assert code == 0 and "1 replaced" in out
    with S.Store.open(store) as s:
        assert s.current(first, "x") == {"factual": "0"}
    path.write_text(head + f"{first},A,newbie,1\n")
    code, out, _ = cli("annotate", "import", path, "--store", store, "--add-annotators",
                       capsys=capsys)  # fmt: skip
    assert code == 0 and "new raters: newbie" in out


def test_ratings_argument_that_is_no_ratings(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = cli("annotate", "scores", tmp_path / "missing.csv", capsys=capsys)
    assert code == 2
    one_line_error(err, f"{tmp_path / 'missing.csv'}:", "no such file")
    other = tmp_path / "x.sqlite"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    code, _, err = cli("annotate", "agreement", other, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{other}:", "not an annotation store")
    store = new_store(tmp_path, {"A": ANSWERS_A}, annotators="x", per_item=1)
    code, _, err = cli("annotate", "scores", store, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{store}:", "no judgments yet")


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
        assert _key(load_ratings(out)) == _key(original)
        fresh = hostile_store(tmp_path / f"fresh-{suffix}", capsys)
        code, _, err = cli("annotate", "import", out, "--store", fresh, capsys=capsys)
        assert code == 0, err
        assert _key(load_ratings(fresh)) == _key(original)
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
    assert _key(load_ratings(fresh)) == _key(original)


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
