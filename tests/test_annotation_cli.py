"""`logic-claims annotate ...` end to end: the terminal interface, status, and the three
reports (scores, agreement, compare) on stores, CSV and JSONL, through the real CLI."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from annotation_helpers import ANSWERS_A, ANSWERS_B, cli, dump, new_store, write_samples

from logic_claims.annotations import store as S
from logic_claims.annotations.tui import run_tui, safe

SUBCOMMANDS = (
    "new",
    "status",
    "tui",
    "serve",
    "import",
    "export",
    "import-legacy",
    "scores",
    "agreement",
    "compare",
    "sample",
)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_help_teaches_with_an_example(command: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        cli("annotate", command, "--help")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"logic-claims annotate {command}" in out


def test_tui_keys_undo_skip_and_resume(tmp_path: Path) -> None:
    path = new_store(tmp_path, {"A": ANSWERS_A}, annotators="ann", per_item=1)
    with S.Store.open(path) as store:
        first, second, third = store.queue("ann")[:3]
        answers = {i: store.item(i)["answer"] for i in (first, second, third)}
    out = io.StringIO()
    # item 1: factual yes, justified no; item 2: skip; item 3: factual 1, undo, 0, then 1.
    counts = run_tui(path, "ann", stdin=io.StringIO("y n s 1 u 0 1 x q"), stdout=out)
    assert counts == {"judged": 5, "undone": 1, "skipped": 1}
    text = out.getvalue()
    assert "undone: factual=1" in text and "key 'x' does nothing here" in text
    assert "Is the explanation factual? (The facts stated are verifiably true.)" in text
    assert "rater ann == 2/8 items done" in text
    with S.Store.open(path) as store:
        assert store.current(first, "ann") == {"factual": "1", "justified": "0"}
        assert store.current(second, "ann") == {}
        assert store.current(third, "ann") == {"factual": "0", "justified": "1"}
    # Resume: the skipped item is the first unfinished one; EOF quits like q.
    out = io.StringIO()
    run_tui(path, "ann", stdin=io.StringIO(""), stdout=out)
    assert answers[second] in out.getvalue()
    assert "Run the same command to resume" in out.getvalue()


def test_tui_shows_control_characters_instead_of_running_them(tmp_path: Path) -> None:
    answer = "True, \x1b[2J\x1b]0;pwned\x07 birds fly."
    samples = write_samples(tmp_path, [answer], model="m")
    path = tmp_path / "s.sqlite"
    argv = ["annotate", "new", "--store", path, "--per-item", "1", "--annotators", "a"]
    assert cli(*argv, "--samples", samples)[0] == 0
    out = io.StringIO()
    run_tui(path, "a", stdin=io.StringIO("1 1"), stdout=out)
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text
    assert safe(answer) in text and "\\x1b[2J" in text
    assert "All your items are judged" in text


def test_tui_and_status_refuse_unknown_raters_and_stores(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = new_store(tmp_path, {"A": ANSWERS_A}, annotators="ann,bob", per_item=1)
    code, _, err = cli("annotate", "tui", "--store", path, "--annotator", "zed", capsys=capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{path}: unknown rater 'zed' (this set has: ann, bob)" in err
    code, _, err = cli("annotate", "status", "--store", tmp_path / "no.sqlite", capsys=capsys)
    assert code == 2 and "no such store" in err
    code, out, _ = cli("annotate", "status", "--store", path, "--json", capsys=capsys)
    summary = json.loads(out)
    assert summary["items"] == 8 and summary["raters"]["ann"]["done"] == 0
    assert sum(r["assigned"] for r in summary["raters"].values()) == 8


def _judge_everything(path: Path) -> dict[tuple[str, str, str], str]:
    """Three raters, every item: sysA's answers mostly good, sysB's mostly not."""
    given = {}
    with S.Store.open(path) as store:
        for rater in store.annotators():
            for n, item in enumerate(store.queue(rater)):
                systems = store.item_systems(item)
                good = "sysA" in systems
                for dim in ("factual", "justified"):
                    flip = (n + len(rater) + len(dim)) % 5 == 0  # some disagreement
                    value = str(int(good != flip))
                    store.rate(item, rater, dim, value)
                    given[item, rater, dim] = value
    return given


def test_reports_from_store_csv_and_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B}, per_item=3)
    given = _judge_everything(path)
    capsys.readouterr()
    reports = {}
    for suffix in ("sqlite", "csv", "jsonl"):
        source = path
        if suffix != "sqlite":
            source = tmp_path / f"r.{suffix}"
            assert cli("annotate", "export", "--store", path, "--out", source)[0] == 0
            capsys.readouterr()
        code, out, _ = cli("annotate", "scores", source, "--by", "system", "--json", capsys=capsys)
        assert code == 0
        reports["scores", suffix] = json.loads(out)
        code, out, _ = cli("annotate", "agreement", source, "--json", capsys=capsys)
        assert code == 0
        reports["agreement", suffix] = json.loads(out)
        code, out, _ = cli("annotate", "compare", source, "--systems", "sysA,sysB", "--json",
                           capsys=capsys)  # fmt: skip
        assert code == 0
        reports["compare", suffix] = json.loads(out)
    for kind in ("scores", "agreement", "compare"):
        assert reports[kind, "csv"] == reports[kind, "sqlite"] == reports[kind, "jsonl"]
    scores = {r["group"]["system"]: r for r in reports["scores", "sqlite"]["rows"]}
    assert scores["sysA"]["n_items"] == 8 and scores["sysB"]["n_items"] == 8
    with S.Store.open(path) as store:  # per-item share of the 3 raters, counted here
        for system in ("sysA", "sysB"):
            items = [i for i in {k[0] for k in given} if system in store.item_systems(i)]
            for dim in ("factual", "justified"):
                votes = [[given[i, r, dim] for r in ("ann", "bob", "cem")] for i in items]
                shares = sum(v.count("1") / 3 for v in votes)
                got = scores[system]["dimensions"][dim]
                assert (got["positive"], got["n_items"]) == (pytest.approx(shares), 8)
    blocks = {b["dimension"]: b for b in reports["agreement", "sqlite"]["dimensions"]}
    assert set(blocks) == {"factual", "justified"}
    compare = reports["compare", "sqlite"]
    assert compare["pair_key"] == "pair_id"
    assert all(c["paired"] for c in compare["comparisons"])  # same 8 claims for both systems
    assert all("mcnemar" in json.dumps(c["tests"]).lower() for c in compare["comparisons"])


def test_report_text_and_html(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B}, per_item=3)
    _judge_everything(path)
    html = tmp_path / "agreement.html"
    code, out, err = cli("annotate", "agreement", path, "--html", html, capsys=capsys)
    assert code == 0 and "Krippendorff" in out and f"wrote {html}" in err
    page = html.read_text()
    assert page.lstrip().lower().startswith("<!doctype html") and "<img" in page
    code, out, _ = cli("annotate", "scores", path, "--by", "system,quantifier", capsys=capsys)
    assert code == 0 and "universal" in out and "How raters are combined" in out
    code, out, _ = cli("annotate", "compare", path, "--systems", "sysA,sysB", "--baseline",
                       "sysB", capsys=capsys)  # fmt: skip
    assert code == 0 and "Holm" in out


def test_report_arguments_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B}, per_item=1)
    _judge_everything(path)
    before = dump(path)
    cases = [
        (("compare", path, "--systems", "sysA,sysC"), "no judgments of sysC (have: sysA, sysB)"),
        (("compare", path, "--systems", "sysA"), "name at least two systems"),
        (("compare", path, "--systems", "sysA,sysB", "--baseline", "x"), "--baseline x"),
        (("scores", path, "--by", "system,colour"), "unknown column(s) colour"),
        (("scores", path, "--dimension", "factual"), "a store knows its dimensions"),
    ]
    for argv, problem in cases:
        code, _, err = cli("annotate", *argv, capsys=capsys)
        assert code == 2 and err.count("\n") == 1 and problem in err, err
    assert dump(path) == before


# -- no command writes over what it reads -------------------------------------------------


def test_no_command_writes_over_its_own_input(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = new_store(tmp_path, {"sysA": ANSWERS_A, "sysB": ANSWERS_B}, per_item=1)
    _judge_everything(path)
    config_named = new_store(tmp_path / "x", {"sysA": ANSWERS_A}, per_item=1, name="tasks.xml")
    legacy = tmp_path / "human.csv"
    legacy.write_text("1,All birds fly.,False, penguins do not fly.,1,1,\n")
    samples = next((tmp_path / "sysA").rglob("samples_*.jsonl"))
    files = {legacy: legacy.read_bytes(), samples: samples.read_bytes()}
    stores = {path: dump(path), config_named: dump(config_named)}
    cases = [
        (("export", "--store", path, "--out", path, "--format", "csv"), "--out is one of the"),
        (("export", "--store", path, "--out", path, "--format", "jsonl"), "--out is one of the"),
        (("export", "--store", path, "--out", tmp_path, "--format", "csv"), "folder that holds"),
        (("export", "--store", path, "--out", f"{path}-wal", "--format", "csv"), "is one of the"),
        (("export", "--store", config_named, "--out", tmp_path / "x" / "tasks.json"),
         "--out (its .xml labeling config) is one of the inputs"),
        (("scores", path, "--html", path), "--html is one of the inputs"),
        (("agreement", path, "--html", path), "--html is one of the inputs"),
        (("compare", path, "--systems", "sysA,sysB", "--html", path), "--html is one of the"),
        (("import", path, "--store", path, "--format", "csv"), "--store is one of the inputs"),
        (("import-legacy", legacy, "--system", "m", "--annotator", "a", "--store", legacy),
         "--store is one of the inputs"),
        (("new", "--store", samples, "--samples", samples, "--per-item", "1", "--annotators",
          "a"), "--store is one of the inputs"),
    ]  # fmt: skip
    for argv, problem in cases:
        code, _, err = cli("annotate", *argv, capsys=capsys)
        assert code == 2 and err.count("\n") == 1 and problem in err, (argv, err)
    assert {p: dump(p) for p in stores} == stores
    assert {p: p.read_bytes() for p in files} == files
    assert not (tmp_path / "x" / "tasks.json").exists()


# -- output into a pipe whose reader has gone ---------------------------------------------


def _cli_command(*argv: object) -> list[str]:
    return [sys.executable, "-m", "logic_claims.harness.cli", *map(str, argv)]


def test_a_command_piped_into_head_ends_quietly(tmp_path: Path) -> None:
    long_answers = [f"{a} {'Because ' * 2000}" for a in ANSWERS_A]  # a 500 KB export
    path = new_store(tmp_path, {"sysA": long_answers}, per_item=2)
    _judge_everything(path)
    export = _cli_command("annotate", "export", "--store", path, "--format", "jsonl", "--out", "-")
    producer = subprocess.Popen(export, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.run(["head", "-1"], stdin=producer.stdout, capture_output=True)
    producer.stdout.close()
    err = producer.stderr.read().decode()
    producer.stderr.close()
    # 141 if head had gone before the last write, 0 if the pipe took it all in time.
    assert producer.wait() in (0, 141) and "Traceback" not in err, err
    assert json.loads(head.stdout)["answer"] in {a.strip() for a in long_answers}
    # A reader that is gone before anything is written (what head -1 leaves behind for
    # the rest of a long output): exit 141, nothing on stderr.
    commands = [
        (("annotate", "status", "--store", path), 141),
        (("annotate", "export", "--store", path, "--format", "csv", "--out", "-"), 141),
        (("--help",), 0),  # argparse itself ignores a failed write of the help
    ]
    for argv, code in commands:
        read, write = os.pipe()
        os.close(read)
        proc = subprocess.run(_cli_command(*argv), stdout=write, stderr=subprocess.PIPE)
        os.close(write)
        assert (proc.returncode, proc.stderr.decode()) == (code, ""), argv


def test_export_to_standard_output_is_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # "-" is never a file name here
    path = new_store(tmp_path, {"sysA": ANSWERS_A}, per_item=1)
    _judge_everything(path)
    capsys.readouterr()
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"r.{fmt}"
        assert cli("annotate", "export", "--store", path, "--out", out)[0] == 0
        capsys.readouterr()
        proc = subprocess.run(_cli_command("annotate", "export", "--store", path, "--format",
                                           fmt, "--out", "-"), capture_output=True)  # fmt: skip
        assert proc.returncode == 0 and proc.stdout == out.read_bytes()
        assert proc.stderr.decode().startswith("wrote standard output:")
    code, _, err = cli("annotate", "export", "--store", path, "--format", "labelstudio",
                       "--out", "-", capsys=capsys)  # fmt: skip
    assert code == 2 and "writes two files" in err
