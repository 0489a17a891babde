"""Judgments in and out of the store as wide CSV and JSONL, and bad ratings files (one line
naming file and line, exit 2, store unchanged).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from annotation_helpers import (
    ANSWERS_A,
    ANSWERS_B,
    cli,
    dump,
    new_store,
    one_line_error,
    ratings_key,
)

from logic_claims.annotations import store as S
from logic_claims.annotations.ratings import COLUMNS, load_ratings

# -- CSV and JSONL -------------------------------------------------------------------------


def _rate_some(path: Path) -> None:
    with S.Store.open(path) as store:
        for n, rater in enumerate(("ann", "bob", "cem")):
            for m, item in enumerate(store.queue(rater)[:4]):
                store.rate(item, rater, "factual", str((n + m) % 2))
                if m % 2 == 0:
                    store.rate(item, rater, "justified", "1")


def test_csv_and_jsonl_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B})
    _rate_some(path)
    from_store = load_ratings(path)
    assert list(from_store.columns) == list(COLUMNS)
    assert len(from_store) > 0 and set(from_store["system"]) == {"sysA", "sysB"}
    for suffix in ("csv", "jsonl"):
        out = tmp_path / f"r.{suffix}"
        assert cli("annotate", "export", "--store", path, "--out", out, capsys=capsys)[0] == 0
        assert ratings_key(load_ratings(out)) == ratings_key(from_store)
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
    assert ratings_key(load_ratings(fresh)) == ratings_key(from_store)
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
        '"value": 1, "confidence": 3}\n',
        1,
        "unknown field 'confidence'",
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
