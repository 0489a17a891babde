"""Whose judgment it is: a rater is a person or a model judge, recorded once in the store.

People's paths (the page, the TUI, imports of people's files) never write as a model;
every export carries each rater's kind and a judge's settings, and an import restores
them (calibrate and a judge's resume work after the round trip); a store of schema
version 1 is upgraded in place with a copy kept beside it.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import test_annotation_web as web
from annotation_helpers import (
    cli,
    dump,
    export_then_import,
    make_store,
    one_line_error,
    people_then_judge,
)

from logic_claims.annotations.store import Store
from logic_claims.annotations.store_file import SCHEMA_VERSION
from logic_claims.harness.judge import JudgeSettings, judge_store

FIXTURE = Path(__file__).parent / "fixtures" / "store_v1.sql"
V1_JUDGE = "judge-smollm2-135m-instruct-loglik"
INFO = JudgeSettings("smollm2-135m-instruct").record()
# The fixture's judge, recorded before labels were scored by all their surface forms.
V1_INFO = {k: v for k, v in INFO.items() if k != "label_scoring"}


def decide(requests):
    return ["1" if d.name == "factual" else "0" for d, _, _ in requests]


def v1_store(path: Path) -> Path:
    """A store of schema version 1, as logic-claims wrote it before version 2."""
    conn = sqlite3.connect(path)
    conn.executescript(FIXTURE.read_text())
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return path


def schema(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        columns = conn.execute("PRAGMA table_info(annotators)").fetchall()
        columns += conn.execute("PRAGMA table_info(ratings)").fetchall()
        return [version, *columns]
    finally:
        conn.close()


def test_a_version_1_store_is_upgraded_in_place_with_a_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = v1_store(tmp_path / "old.sqlite")
    before = dump(path)
    code, out, err = cli("annotate", "status", "--store", path, "--json", capsys=capsys)
    copy = tmp_path / "old.sqlite.v1.bak"
    assert code == 0 and f"upgraded {path} from store schema version 1 to {SCHEMA_VERSION}" in err
    assert str(copy) in err
    assert dump(copy) == before  # the copy is the store as it was
    raters = json.loads(out)["raters"]
    assert raters[V1_JUDGE]["judge"] == V1_INFO and "judge" not in raters["ann"]
    with Store.open(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION) == "4"
        assert (store.rater_kind("ann"), store.rater_kind(V1_JUDGE)) == ("person", "model")
        assert store.rater_info(V1_JUDGE) == V1_INFO
        assert not store.conn.execute("SELECT 1 FROM meta WHERE key LIKE 'rater:%'").fetchall()
        assert store.conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 9
        # Judgments made before margins were recorded have none.
        assert store.conn.execute("SELECT COUNT(score) FROM ratings").fetchone()[0] == 0
    # Upgraded and new stores have the same tables; a second open upgrades nothing.
    assert schema(path) == schema(make_store(tmp_path / "new.sqlite", 1))
    capsys.readouterr()
    assert cli("annotate", "status", "--store", path, capsys=capsys)[2] == ""
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak" in p.name) == [copy.name]
    # The judge of the old store resumes: nothing judged twice.
    run = judge_store(path, decide, V1_INFO, V1_JUDGE)
    assert (run.already_done, run.judged) == (3, 0)


def test_a_newer_or_broken_store_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    newer = make_store(tmp_path / "newer.sqlite", 1)
    conn = sqlite3.connect(newer)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    code, _, err = cli("annotate", "status", "--store", newer, capsys=capsys)
    assert code == 2
    one_line_error(err, str(newer), "unsupported store schema version '99'")
    # An upgrade that fails (a version-1 store without its raters' table) leaves the
    # store as it was and no copy behind.
    broken = v1_store(tmp_path / "broken.sqlite")
    conn = sqlite3.connect(broken)
    conn.execute("DROP TABLE annotators")
    conn.commit()
    conn.close()
    before = dump(broken)
    code, _, err = cli("annotate", "status", "--store", broken, capsys=capsys)
    assert code == 2 and err.count("\n") == 1
    assert dump(broken) == before
    assert not list(tmp_path.glob("broken.sqlite.v1.bak*"))


def judged_store(tmp_path: Path) -> tuple[Path, Path]:
    """People (ann, bob), the judge ``robot`` (factual 1, justified 0), and the
    people-only copy."""
    return people_then_judge(tmp_path, decide, INFO)


def test_people_paths_never_write_as_a_model_judge(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path, _ = judged_store(tmp_path)
    before = dump(path)
    with web.serving(path) as server:
        status, reply, _ = web.request(server, "GET", "/api/raters")
        assert status == 200 and reply["raters"] == ["ann", "bob"]
        with Store.open(path) as store:
            item = store.queue("ann")[0]
        body = {"annotator": "robot", "item_id": item, "dimension": "factual", "value": "0"}
        for route in ("/api/rate", "/api/undo"):
            status, reply, _ = web.request(server, "POST", route, body)
            assert status == 400 and "'robot' is a model judge" in reply["error"], reply
        status, reply, _ = web.request(server, "GET", "/api/state?annotator=robot")
        assert status == 400 and "model judge" in reply["error"]
    code, _, err = cli("annotate", "tui", "--store", path, "--annotator", "robot", capsys=capsys)
    assert code == 2 and "'robot' is a model judge" in err and err.count("\n") == 1
    # A person's CSV under the judge's name, and a Label Studio export mapped onto it.
    with Store.open(path) as store:
        item = store.queue("ann")[0] if store.queue("ann") else store.queue("bob")[0]
    person_csv = tmp_path / "person.csv"
    person_csv.write_text(f"item_id,system,annotator,factual\n{item},A,robot,0\n")
    tasks = tmp_path / "ls.json"
    done = [{"data": {"item_id": item}, "annotations": [
        {"completed_by": 7, "result": [{"from_name": "factual", "type": "choices",
                                        "value": {"choices": ["0"]}}]}]}]  # fmt: skip
    tasks.write_text(json.dumps(done))
    no_settings = tmp_path / "model.csv"
    no_settings.write_text(
        f"item_id,system,annotator,factual,rater_kind\n{item},A,newbot,0,model\n"
    )
    for argv, where, problem in (
        ([person_csv, "--on-conflict", "replace"], f"{person_csv}:2", "is a model judge"),
        ([tasks, "--rater-map", "7=robot", "--on-conflict", "replace"], f"{tasks}:1",
         "is a model judge"),
        ([no_settings, "--add-annotators"], f"{no_settings}:2", "without its judge settings"),
    ):  # fmt: skip
        code, _, err = cli("annotate", "import", *argv, "--store", path, capsys=capsys)
        assert code == 2
        one_line_error(err, where, problem)
    assert dump(path) == before


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "labelstudio"])
def test_judges_survive_an_export_and_import(
    tmp_path: Path, capsys: pytest.CaptureFixture, fmt: str
) -> None:
    path, people = judged_store(tmp_path)
    code, err, out = export_then_import(path, people, fmt, capsys)
    assert code == 0, err
    with Store.open(path) as a, Store.open(people) as b:
        assert b.rater_info("robot") == INFO and b.rater_kind("robot") == "model"
        assert b.rater_kind("ann") == "person"
        for rater in ("ann", "bob", "robot"):
            given = "SELECT item_id, dimension, value FROM ratings WHERE annotator=? ORDER BY 1, 2"
            assert (
                a.conn.execute(given, (rater,)).fetchall()
                == b.conn.execute(given, (rater,)).fetchall()
            )
    code, report, err = cli("annotate", "calibrate", people, "--judge", "robot", "--format",
                            "json", capsys=capsys)  # fmt: skip
    assert code == 0, err
    report = json.loads(report)
    assert report["reference_raters"] == ["ann", "bob"] and report["judge_info"] == INFO
    run = judge_store(people, decide, INFO, "robot")  # resumes: nothing judged twice
    assert run.judged == 0 and run.already_done == run.items
    # The judge's settings travel with the judgments: another judge is refused.
    with Store.open(people) as b:
        b.conn.execute("UPDATE annotators SET judge='{}' WHERE name='robot'")
    code, _, err = cli("annotate", "import", out, "--store", people, capsys=capsys)
    assert code == 2 and "judged with other settings" in err


def test_scores_of_a_judge_without_people_print_and_say_why_no_calibration(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = make_store(tmp_path / "judge-only.sqlite", 6, raters=())
    judge_store(path, decide, INFO, "robot")
    code, out, err = cli("annotate", "scores", path, "--raters", "robot", capsys=capsys)
    assert code == 0, err
    assert "no person has judged this set, so no calibration is possible" in out
    assert "robot" in out
