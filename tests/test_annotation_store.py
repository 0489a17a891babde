"""The annotation store and building a set: SQLite (WAL) durability, conflicts, undo,
balanced blinded assignment, and lm-eval --log_samples files (one real lm-eval run).

Helpers here (``write_samples``, ``new_store``, ``cli``) are shared by the other
test_annotation_* files of this area.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logic_claims.annotations import assignment, records
from logic_claims.annotations import store as S
from logic_claims.annotations.samples import default_system_name, read_samples
from logic_claims.annotations.tui import run_tui, safe
from logic_claims.harness import cli as harness_cli
from logic_claims.tasks.errors import InputError

REPO = Path(__file__).resolve().parents[1]

CLAIMS = [
    ("All birds fly.", "all", False),
    ("Not all birds fly.", "not_all", True),
    ("Some cats hunt mice.", "some", True),
    ("No cats hunt mice.", "no", False),
    ("All dogs bark.", "all", False),
    ("Not all dogs bark.", "not_all", True),
    ("Some owls hunt at night.", "some", True),
    ("No owls hunt at night.", "no", False),
]


def lm_eval_record(doc_id: int, claim: str, quantifier: str, label: bool, answer: str) -> dict:
    """One record with exactly the keys lm-eval's EvaluationTracker writes for our tasks."""
    target = ("True, " if label else "False, ") + "an exemplar."
    return {
        "doc_id": doc_id,
        "doc": {
            "id": f"lc-{doc_id:04d}",
            "split": "test",
            "generic": claim.split(" ", 1)[1],
            "quantifier": quantifier,
            "claim": claim,
            "label": label,
            "target": target,
            "exemplar": "an exemplar.",
            "source": "negative" if quantifier in ("all", "not_all") else "positive",
            "construction": "standard",
        },
        "target": target,
        "arguments": {"gen_args_0": {"arg_0": f"Statement: {claim}\nAnswer:", "arg_1": {}}},
        "resps": [[answer]],
        "filtered_resps": [answer],
        "filter": "none",
        "metrics": ["correct", "tie", "wrong"],
        "doc_hash": "x",
        "prompt_hash": "y",
        "target_hash": "z",
        "correct": 1,
        "tie": 0,
        "wrong": 0,
    }


def write_samples(
    folder: Path, answers: list[str], model: str = "model", claims: list = CLAIMS
) -> Path:
    """lm-eval's layout: DIR/<sanitized model>/samples_<task>_<date>.jsonl + results JSON."""
    date = "2024-05-01T10-00-00.000001"
    out = folder / f"__models__{model}"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"samples_logic_claims_all_{date}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for n, ((claim, quantifier, label), answer) in enumerate(
            zip(claims, answers, strict=False)
        ):
            fh.write(json.dumps(lm_eval_record(n, claim, quantifier, label, answer)) + "\n")
    results = {"config": {"model": "hf", "model_args": {"pretrained": f"/models/{model}"}}}
    (out / f"results_{date}.json").write_text(json.dumps(results))
    return path


def cli(*argv: str, capsys: pytest.CaptureFixture | None = None) -> tuple[int, str, str]:
    """Run `logic-claims ...` in-process through the real entry point."""
    code = harness_cli.main([str(a) for a in argv])
    if capsys is None:
        return code, "", ""
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def new_store(
    tmp_path: Path,
    systems: dict[str, list[str]],
    annotators: str = "ann,bob,cem",
    per_item: int = 2,
    name: str = "ratings.sqlite",
    extra: tuple[str, ...] = (),
) -> Path:
    store = tmp_path / name
    args: list[str] = ["annotate", "new", "--store", store, "--per-item", str(per_item)]
    args += ["--annotators", annotators, *extra]
    for system, answers in systems.items():
        args += ["--samples", write_samples(tmp_path / system, answers, model=system)]
    assert cli(*args) == (0, "", "")
    return store


ANSWERS_A = [
    "False, penguins do not fly.",
    "True, penguins do not fly.",
    "True, some cats hunt mice.",
    "False, many cats hunt mice.",
    "False, some dogs do not bark.",
    "True, basenjis do not bark.",
    "True, barn owls hunt at night.",
    "False, barn owls hunt at night.",
]
ANSWERS_B = [
    "True, birds have wings.",  # differs from A
    "True, penguins do not fly.",  # identical to A: one item, judged once
    "False, cats are pets.",
    "False, many cats hunt mice.",  # identical to A
    "True, dogs bark.",
    "True, basenjis do not bark.",  # identical to A
    "True, owls are birds.",
    "False, owls sleep at night.",
]


def dump(path: Path) -> list[tuple]:
    """Every row of every table: to assert a store is unchanged."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, *row) for t in sorted(tables) for row in conn.execute(f"SELECT * FROM {t}")]
    finally:
        conn.close()


# -- the store itself ------------------------------------------------------------------


def test_store_is_wal_and_rejects_bad_judgments(tmp_path: Path) -> None:
    path = new_store(tmp_path, {"a": ANSWERS_A})
    with S.Store.open(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert [d.name for d in store.dimensions] == ["factual", "justified"]
        item = store.queue("ann")[0]
        before = dump(path)
        with pytest.raises(InputError, match=r"factual: value '2' is not one of 0/1"):
            store.rate(item, "ann", "factual", "2")
        with pytest.raises(InputError, match="unknown dimension 'fluency'"):
            store.rate(item, "ann", "fluency", "1")
        with pytest.raises(InputError, match="unknown rater 'zed'"):
            store.rate(item, "zed", "factual", "1")
        with pytest.raises(InputError, match="unknown item 'nope'"):
            store.rate("nope", "ann", "factual", "1")
        not_mine = next(i for i in store.queue("bob") if i not in store.queue("ann"))
        with pytest.raises(InputError, match="not assigned to ann"):
            store.rate(not_mine, "ann", "factual", "1")
        assert dump(path) == before


def test_conflicts_are_reported_not_overwritten_and_undo_is_logged(tmp_path: Path) -> None:
    path = new_store(tmp_path, {"a": ANSWERS_A})
    with S.Store.open(path) as store:
        item = store.queue("ann")[0]
        assert store.rate(item, "ann", "factual", "1").status == "new"
        assert store.rate(item, "ann", "factual", "1").status == "same"
        with pytest.raises(S.ConflictError, match=r"already rated .* factual=1, not 0"):
            store.rate(item, "ann", "factual", "0")
        assert store.current(item, "ann") == {"factual": "1"}
        assert store.rate(item, "ann", "factual", "0", on_conflict="keep").status == "kept"
        assert store.current(item, "ann") == {"factual": "1"}
        res = store.rate(item, "ann", "factual", "0", on_conflict="replace")
        assert (res.status, res.previous) == ("replaced", "1")
        store.rate(item, "ann", "justified", "1")
        undone = store.undo("ann")
        assert (undone.item_id, undone.dimension, undone.value) == (item, "justified", "1")
        assert store.current(item, "ann") == {"factual": "0"}
        log = [
            (r["action"], r["dimension"], r["old_value"], r["new_value"])
            for r in store.conn.execute("SELECT * FROM rating_log ORDER BY id")
        ]
        assert log == [
            ("set", "factual", None, "1"),
            ("replace", "factual", "1", "0"),
            ("set", "justified", None, "1"),
            ("undo", "justified", "1", None),
        ]
        assert store.undo("bob") is None


def test_every_keypress_survives_kill_9(tmp_path: Path) -> None:
    """A rater's process killed with SIGKILL loses no judgment it had taken."""
    path = new_store(tmp_path, {"a": ANSWERS_A})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logic_claims.harness.cli",
            "annotate",
            "tui",
            "--store",
            str(path),
            "--annotator",
            "ann",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write("1 0 1")  # item 1: factual=1, justified=0; item 2: factual=1
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        n = 0
        while n < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            conn = sqlite3.connect(path)
            n = conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
            conn.close()
        assert n == 3, proc.stderr.read() if proc.poll() is not None else "timed out"
        os.kill(proc.pid, signal.SIGKILL)  # the process still waits for the next key
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with S.Store.open(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        first, second = store.conn.execute(
            "SELECT item_id FROM assignments WHERE annotator='ann' ORDER BY position LIMIT 2"
        ).fetchall()
        assert store.current(first[0], "ann") == {"factual": "1", "justified": "0"}
        assert store.current(second[0], "ann") == {"factual": "1"}
        assert store.progress("ann") == (1, len(store.queue("ann")) + 1)


# -- building a set ----------------------------------------------------------------------


@pytest.mark.parametrize(("n_items", "raters", "k"), [(8, 3, 2), (11, 4, 3), (5, 5, 1)])
def test_assignment_is_balanced_and_seeded(n_items: int, raters: int, k: int) -> None:
    items = [f"i{n}" for n in range(n_items)]
    names = [f"r{n}" for n in range(raters)]
    plan = assignment.plan_assignments(items, names, k, seed=7)
    per_item = Counter(i for assigned in plan.values() for i in assigned)
    assert per_item == dict.fromkeys(items, k)  # every item exactly K distinct raters
    assert all(len(set(v)) == len(v) for v in plan.values())
    loads = [len(v) for v in plan.values()]
    assert max(loads) - min(loads) <= 1
    assert plan == assignment.plan_assignments(items, names, k, seed=7)
    assert plan != assignment.plan_assignments(items, names, k, seed=8)


def test_per_rater_orders_differ() -> None:
    items = [f"i{n}" for n in range(30)]
    plan = assignment.plan_assignments(items, ["a", "b"], 2, seed=0)
    assert sorted(plan["a"]) == sorted(plan["b"]) == sorted(items)
    assert plan["a"] != plan["b"]


def test_assignment_needs_enough_raters() -> None:
    with pytest.raises(InputError, match="--per-item 3 needs at least 3 raters"):
        assignment.plan_assignments(["x"], ["a", "b"], 3, seed=0)


def test_new_set_from_two_systems_is_blinded_and_shares_identical_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B})
    out = capsys.readouterr().out
    assert "system sysA: 8 answers" in out and "system sysB: 8 answers" in out
    assert "3 items are identical answers of several systems" in out
    with S.Store.open(path) as store:
        assert store.systems() == ["sysA", "sysB"]
        assert store.summary()["items"] == 13  # 16 answers, 3 identical pairs
        shared = records.item_id_of("Not all birds fly.", "True, penguins do not fly.")
        assert store.item_systems(shared) == ["sysA", "sysB"]
        assigned = Counter(r[0] for r in store.conn.execute("SELECT item_id FROM assignments"))
        assert set(assigned.values()) == {2} and len(assigned) == 13
        for rater in ("ann", "bob", "cem"):
            state = store.rater_state(rater)
            shown = json.dumps(state)
            assert "sysA" not in shown and "sysB" not in shown  # raters never see the system
            assert set(state["item"]) == {"item_id", "claim", "answer"}
        item = store.item(shared)
        assert (item["quantifier"], item["label"]) == ("not_all", 1)
        assert item["pair_id"] == records.pair_id_of("Not all birds fly.")


def test_new_with_limit_prefers_paired_claims(tmp_path: Path) -> None:
    claims_b = CLAIMS[2:]  # B answered 6 of A's 8 claims
    folder_b = tmp_path / "b"
    samples_b = write_samples(folder_b, ANSWERS_B[2:], model="b", claims=claims_b)
    samples_a = write_samples(tmp_path / "a", ANSWERS_A, model="a")
    store = tmp_path / "s.sqlite"
    argv = ["annotate", "new", "--store", store, "--per-item", "1", "--annotators", "x"]
    argv += ["--samples", samples_a, "--samples", samples_b, "--limit", "4", "--seed", "3"]
    assert cli(*argv) == (0, "", "")
    with S.Store.open(store) as s:
        pairs = {
            system: {
                r[0]
                for r in s.conn.execute(
                    "SELECT i.pair_id FROM items i JOIN item_systems x USING (item_id)"
                    " WHERE x.system=?",
                    (system,),
                )
            }
            for system in ("a", "b")
        }
    assert len(pairs["a"]) == len(pairs["b"]) == 4
    assert pairs["a"] == pairs["b"]  # the claims both answered came first


def test_system_names_come_from_lm_eval_files(tmp_path: Path) -> None:
    path = write_samples(tmp_path, ANSWERS_A, model="llama-7b")
    assert default_system_name(path) == "llama-7b"
    results = next(path.parent.glob("results_*.json"))
    results.write_text(
        json.dumps({"config": {"model_args": "pretrained=/m/llama-7b,peft=/runs/peft8/"}})
    )
    assert default_system_name(path) == "llama-7b+peft8"
    results.unlink()
    assert default_system_name(path) == "llama-7b"  # lm-eval's folder __models__llama-7b


def test_samples_not_from_lm_eval_are_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    good = write_samples(tmp_path / "good", ANSWERS_A)
    bad_cases = {
        "plain.jsonl": ('{"claim": "All birds fly."}\n', 1, "no doc, doc_id, resps"),
        "notjson.jsonl": ("hello\n", 1, "not valid JSON"),
        "empty.jsonl": ("", None, "empty file"),
        "mc.jsonl": (
            json.dumps({**lm_eval_record(0, *CLAIMS[0], "x"), "resps": [[[-1.5, False]]],
                        "filtered_resps": [[-1.5, False]]}) + "\n",
            1,
            "no free-text answer",
        ),
        "other_task.jsonl": (
            json.dumps({"doc_id": 0, "doc": {"question": "2+2"}, "resps": [["4"]]}) + "\n",
            1,
            "doc has no 'claim'",
        ),
    }  # fmt: skip
    store = tmp_path / "s.sqlite"
    for name, (text, line, problem) in bad_cases.items():
        bad = tmp_path / name
        bad.write_text(text)
        argv = ["annotate", "new", "--store", store, "--per-item", "1", "--annotators", "a"]
        code, _, err = cli(*argv, "--samples", good, "--samples", bad, capsys=capsys)
        assert code == 2
        assert err.count("\n") == 1, err  # one line
        where = f"{bad}:{line}:" if line else f"{bad}:"
        assert err.startswith(f"logic-claims: error: {where}") and problem in err, err
        assert not store.exists()
        assert not list(tmp_path.glob(".s.sqlite*"))  # no temporary left behind either


def test_dimensions_are_configurable(tmp_path: Path) -> None:
    path = new_store(
        tmp_path,
        {"a": ANSWERS_A},
        per_item=1,
        annotators="ann",
        extra=("--dimension", "factual", "--dimension", "fluency:bad/ok/good:Reads naturally."),
    )
    with S.Store.open(path) as store:
        fluency = store.dims_by_name["fluency"]
        assert fluency.labels == ("bad", "ok", "good")
        assert fluency.definition == "Reads naturally."
        assert fluency.key_map() == {"1": "bad", "2": "ok", "3": "good"}
        assert store.dims_by_name["factual"].definition == records.FACTUAL.definition
        item = store.queue("ann")[0]
        store.rate(item, "ann", "fluency", "ok")
        with pytest.raises(InputError, match="not one of bad/ok/good"):
            store.rate(item, "ann", "fluency", "1")


# -- a real lm-eval run -------------------------------------------------------------------


def _run_lm_eval(model: Path, out: Path, max_gen_toks: int) -> list[Path]:
    from logic_claims.harness.evaluate import run_eval

    run_eval(
        str(model),
        tasks=("logic_claims_all", "logic_claims_some"),
        limit=3,
        output_dir=out,
        batch_size=4,
        gen_kwargs={"max_gen_toks": max_gen_toks},
        device="cpu",
    )
    return sorted(out.glob("*/samples_logic_claims_*.jsonl"))


@pytest.mark.slow
def test_new_set_from_real_lm_eval_samples(tmp_path: Path, tiny_llama: Path) -> None:
    short = _run_lm_eval(tiny_llama, tmp_path / "short", 4)
    long = _run_lm_eval(tiny_llama, tmp_path / "long", 12)
    assert len(short) == len(long) == 2
    for path in short:
        items = read_samples(path)
        assert len(items) == 3
        record = json.loads(path.read_text().splitlines()[0])
        assert items[0].item.answer == record["resps"][0][0].strip()
        assert items[0].item.claim == record["doc"]["claim"]
        assert items[0].item.label == record["doc"]["label"]
        assert default_system_name(path) == tiny_llama.name
    store = tmp_path / "s.sqlite"
    argv: list[Any] = ["annotate", "new", "--store", store, "--per-item", "2"]
    argv += ["--annotators", "a,b", "--seed", "1"]
    for path in short:
        argv += ["--samples", path, "--system", "short"]
    for path in long:
        argv += ["--samples", path, "--system", "long"]
    assert cli(*argv) == (0, "", "")
    with S.Store.open(store) as s:
        summary = s.summary()
        assert summary["systems"] == {"long": 6, "short": 6}
        quantifiers = {r[0] for r in s.conn.execute("SELECT quantifier FROM items")}
        assert quantifiers == {"all", "some"}
        assert s.progress("a") == (0, summary["items"])


# -- undo, damage, the terminal, file modes ------------------------------------------------


def _import_jsonl(tmp_path: Path, store: Path, rows: list[dict], *extra: str) -> None:
    path = tmp_path / "judgments.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    code, _, _ = cli("annotate", "import", path, "--store", store, *extra)
    assert code == 0


def test_undo_withdraws_the_last_written_judgment_whatever_its_time(tmp_path: Path) -> None:
    """An import keeps its file's ``time``; undo goes by the order of writing all the same."""
    path = new_store(tmp_path, {"a": ANSWERS_A}, annotators="ann", per_item=1)
    with S.Store.open(path) as store:
        items = store.queue("ann")

    def row(item: str, value: str, time: str) -> dict:
        return {"item_id": item, "system": "a", "annotator": "ann", "dimension": "factual",
                "value": value, "time": time}  # fmt: skip

    with S.Store.open(path) as store:
        store.rate(items[0], "ann", "factual", "1")
    _import_jsonl(tmp_path, path, [row(items[1], "1", "2001-01-01T00:00:00+00:00")])
    out = io.StringIO()
    run_tui(path, "ann", stdin=io.StringIO("uq"), stdout=out)  # the rater's undo key
    assert "undone: factual=1" in out.getvalue()
    with S.Store.open(path) as store:
        assert store.current(items[1], "ann") == {}  # the imported one, dated long ago
        assert store.current(items[0], "ann") == {"factual": "1"}
        _import_jsonl(tmp_path, path, [row(items[2], "1", "2999-01-01T00:00:00+00:00")])
        store.rate(items[3], "ann", "factual", "0")
        undone = [store.undo("ann") for _ in range(2)]
        assert [u.item_id for u in undone] == [items[3], items[2]]  # not the future-dated first
        # A replace is a new write: it is undone before an older first judgment.
        store.rate(items[4], "ann", "factual", "1")
        store.rate(items[5], "ann", "factual", "1")
        _import_jsonl(tmp_path, path, [row(items[4], "0", "2001-01-01T00:00:00+00:00")],
                      "--on-conflict", "replace")  # fmt: skip
        undone = [store.undo("ann") for _ in range(4)]
        assert [u.item_id for u in undone[:3]] == [items[4], items[5], items[0]]
        assert undone[0].value == "0" and undone[3] is None
        assert store.conn.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0


def _damage(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    """A store damaged as ``kind`` says, and a CSV of judgments for it. Only a store that
    no process has open is written here with Python I/O (a test's own damage)."""
    path = new_store(tmp_path, {"a": ANSWERS_A}, annotators="ann", per_item=1)
    with S.Store.open(path) as store:
        items = store.queue("ann")
        for item in items[:3]:
            store.rate(item, "ann", "factual", "1")
        page_size = store.conn.execute("PRAGMA page_size").fetchone()[0]
        roots = dict(store.conn.execute("SELECT name, rootpage FROM sqlite_master"))
    judgments = tmp_path / "more.csv"
    judgments.write_text(f"item_id,system,annotator,factual\n{items[4]},a,ann,1\n")
    assert not Path(f"{path}-wal").exists()  # the last close folded the WAL into the file
    data = bytearray(path.read_bytes())
    if kind in ("items page", "log page"):
        root = roots["items" if kind == "items page" else "rating_log"]
        data[(root - 1) * page_size : root * page_size] = b"\xff" * page_size
    elif kind in ("other database", "foreign meta"):
        path.unlink()
        conn = sqlite3.connect(path)
        if kind == "other database":
            conn.execute("CREATE TABLE t (x)")
        else:  # a table named meta, but not ours
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            rows = [("schema_version", "1"), ("dimensions", '{"name": 1}'), ("info", "{}")]
            conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
        conn.commit()
        conn.close()
        return path, judgments
    else:
        data = {
            "truncated": data[: len(data) // 2],
            "header only": data[:100],
            "random bytes": bytearray(random.Random(0).randbytes(len(data))),
            "empty": bytearray(),
        }[kind]
    path.write_bytes(bytes(data))
    return path, judgments


DAMAGE = ["truncated", "header only", "random bytes", "empty", "other database", "foreign meta",
          "items page", "log page"]  # fmt: skip


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_store_is_one_line_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture, kind: str
) -> None:
    path, judgments = _damage(tmp_path, kind)
    before = path.read_bytes()
    capsys.readouterr()
    for argv in (
        ["annotate", "status", "--store", path],
        ["annotate", "status", "--store", path, "--json"],
        ["annotate", "tui", "--store", path, "--annotator", "ann"],
    ):
        code, out, err = cli(*argv, capsys=capsys)
        assert (code, out, err.count("\n")) == (2, "", 1), err
        assert err.startswith(f"logic-claims: error: {path}: "), err
        assert any(w in err for w in ("not an annotation store", "damaged store")), err
    # The other commands may still use what is intact, but never end in a traceback.
    for argv in (
        ["annotate", "export", "--store", path, "--out", tmp_path / "out.csv"],
        ["annotate", "scores", path],
        ["annotate", "agreement", path],
    ):
        code, _, err = cli(*argv, capsys=capsys)
        assert code in (0, 2) and "Traceback" not in err
        assert code == 0 or (err.count("\n") == 1 and err.startswith("logic-claims: error: "))
    # Writes refuse a damaged store outright: nothing is added to a damaged file.
    code, _, err = cli("annotate", "import", judgments, "--store", path, capsys=capsys)
    assert (code, err.count("\n")) == (2, 1), err
    assert path.read_bytes() == before


def test_a_store_that_appears_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"

    def build(store: S.Store) -> None:  # another process creates the same store meanwhile
        path.write_text("someone else's file")

    with pytest.raises(InputError, match="already exists"):
        S.create_atomically(path, build)
    assert path.read_text() == "someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["s.sqlite"]


def test_tui_escapes_bidi_controls(tmp_path: Path) -> None:
    """U+202E and friends reorder what a terminal shows after them (a "Trojan Source"
    answer could show the rater another text than the store holds): escape them all."""
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    answer = f"True, \u202eylf sdrib\u202c and {bidi} \u2028 \x85 \x9b31m owls."
    samples = write_samples(tmp_path, [answer], model="m")
    path = tmp_path / "s.sqlite"
    argv = ["annotate", "new", "--store", path, "--per-item", "1", "--annotators", "a\u202eb"]
    extra = ["--dimension", "factual:0/1:True \u2067facts\u2069."]
    assert cli(*argv, *extra, "--samples", samples)[0] == 0
    out = io.StringIO()
    run_tui(path, "a\u202eb", stdin=io.StringIO("q"), stdout=out)
    text = out.getvalue()
    assert not set(bidi + "\u2028\x85\x9b") & set(text)
    assert "\\u202eylf sdrib\\u202c" in text and "\\u2067facts\\u2069" in text
    assert "a\\u202eb" in text and "\\x85" in text and "\\x9b31m" in text
    assert safe("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


def test_written_stores_and_exports_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o002)  # a shared project folder: group-writable files
    try:
        path = new_store(tmp_path, {"a": ANSWERS_A}, annotators="ann", per_item=1)
        legacy = tmp_path / "legacy.sqlite"
        rows = tmp_path / "h.csv"
        rows.write_text("0,All birds fly.,False, penguins do not.,1,1,\n")
        argv = ["annotate", "import-legacy", rows, "--system", "m", "--annotator", "x"]
        assert cli(*argv, "--store", legacy)[0] == 0
        outs = [tmp_path / f"out.{suffix}" for suffix in ("csv", "jsonl")]
        for out in outs:
            assert cli("annotate", "export", "--store", path, "--out", out)[0] == 0
    finally:
        os.umask(old)
    for written in (path, legacy, *outs):
        assert stat.S_IMODE(written.stat().st_mode) == 0o664, written
