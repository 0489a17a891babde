"""The annotation store: SQLite (WAL) durability, conflicts, undo, a damaged or foreign
file, the terminal's escaping, and the modes of written files.

The shared helpers live in ``annotation_helpers``.
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
from pathlib import Path

import pytest
from annotation_helpers import ANSWERS_A, cli, dump, new_store, write_samples

from logic_claims.annotations import store as S
from logic_claims.annotations.tui import run_tui, safe
from logic_claims.tasks.errors import InputError

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


def test_without_hard_links_a_file_appearing_before_the_move_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without hard links (``os.link`` fails with EPERM, as on FAT or some
    network mounts): the store is moved with ``os.replace``. Another process creating the
    path just before that move (exclusively, ``open(path, "x")``) must either be refused
    or keep its file; the name is claimed first, so it is refused."""
    path = tmp_path / "s.sqlite"
    real_replace, theirs = os.replace, []

    def no_link(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "hard links not supported")

    def replace(src: str, dst: str | Path) -> None:
        if Path(dst) == path:  # the other process, just before the move
            try:
                with open(path, "x") as f:
                    f.write("someone else's file")
                theirs.append("written")
            except FileExistsError:
                theirs.append("refused")
        real_replace(src, dst)

    monkeypatch.setattr(os, "link", no_link)
    monkeypatch.setattr(os, "replace", replace)
    S.create_atomically(path, lambda store: None)
    assert theirs == ["refused"]
    with S.Store.open(path) as store:
        store.check()
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
