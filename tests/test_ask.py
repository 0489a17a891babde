"""``logic-claims ask``: the tiny llama (tests/conftest.py) with a real prompt-tuning adapter
answers as lm-eval's logic_claims tasks do; claims from the study's demo CSV, JSONL, a pipe
and an interactive prompt on a pseudo-terminal; the samples file goes to ``annotate new``;
every refusal is one line, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logic_claims.harness.cli import main

REPO = Path(__file__).resolve().parents[1]
DEMO_CSV = REPO.parent / "shared" / "data" / "seed-results" / "demo_pattern_breaking.csv"


@pytest.fixture(scope="module")
def adapter(tiny_llama: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prompt-tuning adapter of the tiny llama, initialised from random vocabulary."""
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4)
    out = tmp_path_factory.mktemp("ask") / "pt-adapter"
    get_peft_model(model, config).save_pretrained(out)
    return out


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse refusing an argument
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_answers_are_the_lm_eval_tasks_answers(
    tiny_llama: Path, adapter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same prompt, generation settings and scoring as ``logic_claims`` (generation) and
    ``logic_claims_mc`` (log-likelihood), through the same model construction."""
    from logic_claims.harness.evaluate import run_eval

    results = run_eval(
        str(tiny_llama), peft=adapter, tasks=["logic_claims_all", "logic_claims_mc_all"], limit=3
    )
    generated = results["samples"]["logic_claims_all"]
    scored = {s["doc"]["claim"]: s for s in results["samples"]["logic_claims_mc_all"]}
    claims = tmp_path / "claims.jsonl"
    claims.write_text("".join(json.dumps(s["doc"]) + "\n" for s in generated))

    argv = ["ask", "--model", str(tiny_llama), "--peft", str(adapter), "--claims", str(claims)]
    code, out, _ = run([*argv, "--json"], capsys)
    assert code == 0
    answers = json.loads(out)
    assert [a["claim"] for a in answers] == [s["doc"]["claim"] for s in generated]
    for answer, sample in zip(answers, generated, strict=True):
        assert answer["full_answer"] == sample["resps"][0][0]
        assert answer["answer"] == answer["full_answer"].strip().split(".")[0] + (
            "." if "." in answer["full_answer"] else ""
        )
        assert answer["outcome"] == next(m for m in ("correct", "tie", "wrong") if sample[m])
        assert answer["label"] == sample["doc"]["label"] and answer["id"] == sample["doc"]["id"]
        assert answer["quantifier"] == "all"
        (ll_true, _), (ll_false, _) = (
            scored[answer["claim"]]["resps"][0][0],
            scored[answer["claim"]]["resps"][1][0],
        )
        assert answer["margin"] == pytest.approx(ll_true - ll_false, abs=1e-4)

    # The table on a terminal: a row per claim with the same numbers.
    code, out, _ = run(argv, capsys)
    assert code == 0
    rows = out.splitlines()
    assert rows[0].split()[:7] == [
        "#",
        "quantifier",
        "claim",
        "verdict",
        "margin",
        "label",
        "result",
    ]
    for n, answer in enumerate(answers, start=1):
        assert f"{answer['margin']:+.2f}" in rows[n + 1] and answer["claim"] in rows[n + 1]
    assert rows[-1].endswith("of 3 claims with a known label")


def test_the_studys_demo_csv(
    tiny_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "demo.jsonl"
    argv = ["ask", "--model", str(tiny_llama), "--claims", str(DEMO_CSV), "--json"]
    code, out, _ = run([*argv, "--out", str(samples), "--system", "demo-run"], capsys)
    assert code == 0
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert {r["system"] for r in records} == {"demo-run"} and len(records) == 15
    assert records[0]["doc"]["label"] is False and records[0]["metrics"] == [
        "correct", "tie", "wrong",
    ]  # fmt: skip
    answers = json.loads(out)
    assert len(answers) == 15
    first = answers[0]
    assert first["claim"] == "All birds feed on grain." and first["quantifier"] == "all"
    assert first["expected"].startswith("False, birds of prey") and first["label"] is False
    assert answers[2]["label"] is True  # "Some birds feed on grain." / "True, some birds ..."
    # "It is always the case that 1+1=123": no quantifier, still answered, label from "False"
    always = next(a for a in answers if a["claim"].startswith("It is always"))
    assert always["quantifier"] is None and always["label"] is False
    assert always["outcome"] in ("correct", "tie", "wrong") and always["verdict"]
    assert all(a["outcome"] is not None for a in answers)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_OFFLINE="1",
        LOGIC_CLAIMS_CACHE=str(tmp_path / "cache"),  # the prompt's history goes here
        LOGIC_CLAIMS_LOG=str(tmp_path / "log.txt"),
    )
    return env


COMMAND = [sys.executable, "-m", "logic_claims.harness.cli", "ask"]


def test_claims_piped_to_standard_input_then_annotate_new_takes_the_samples(
    tiny_llama: Path, adapter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples = tmp_path / "answers.jsonl"
    claims = "Some penguins fly.\n\nNot all cars have radios.\nFish swim.\n"
    proc = subprocess.run(
        [*COMMAND, "--model", str(tiny_llama), "--peft", str(adapter), "--out", str(samples)],
        input=claims, capture_output=True, text=True, env=_env(tmp_path), timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = proc.stdout.splitlines()
    assert len(rows) == 2 + 3  # header, rule, three claims (the blank line is no claim)
    assert rows[2].split()[:3] == ["1", "some", "Some"] and rows[4].split()[:3] == [
        "3",
        "none",
        "Fish",
    ]
    assert f"3 answers written to {samples}" in proc.stderr

    records = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [r["doc"]["claim"] for r in records] == [
        "Some penguins fly.", "Not all cars have radios.", "Fish swim.",
    ]  # fmt: skip
    assert {r["system"] for r in records} == {"pt-adapter"}  # the adapter's name
    assert all(r["doc"]["label"] is None and "correct" not in r for r in records)

    store = tmp_path / "set.sqlite"
    argv = ["annotate", "new", "--samples", str(samples), "--annotators", "ann,bob"]
    code, out, err = run([*argv, "--store", str(store), "--per-item", "2"], capsys)
    assert code == 0, err
    assert "system pt-adapter: 3 answers" in out

    from logic_claims.annotations.store import Store

    with Store.open(store) as opened:
        rows = opened.conn.execute("SELECT claim, answer FROM items ORDER BY claim").fetchall()
    assert [r[0] for r in rows] == sorted(r["doc"]["claim"] for r in records)
    by_claim = {r["doc"]["claim"]: r["resps"][0][0].strip() for r in records}
    assert all(answer == by_claim[claim] for claim, answer in rows)


def _read_until(fd: int, text: str, timeout: float = 300) -> str:
    """What the pseudo-terminal shows until ``text`` appears."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {text!r} in {seen.decode(errors='replace')!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"ended without {text!r}: {seen.decode(errors='replace')!r}")
            seen += chunk
    return seen.decode(errors="replace")


def test_interactive_prompt_on_a_terminal(tiny_llama: Path, tmp_path: Path) -> None:
    """On a terminal: a prompt, the model loaded once, readline history (Up repeats the
    last claim), a bad claim refused without leaving, Ctrl-D ends and writes --out."""
    samples = tmp_path / "session.jsonl"
    parent, child = pty.openpty()
    proc = subprocess.Popen(
        [*COMMAND, "--model", str(tiny_llama), "--out", str(samples)],
        stdin=child, stdout=child, stderr=child, env=_env(tmp_path), close_fds=True,
    )  # fmt: skip
    os.close(child)
    try:
        assert "Ctrl-D to leave" in _read_until(parent, "claim> ")
        os.write(parent, b"Some penguins fly.\r")
        shown = _read_until(parent, "claim> ")
        assert "quantifier some, verdict" in shown and "answer:" in shown
        os.write(parent, b"\x1b[A\r")  # Up: the last claim again, from readline's history
        assert "quantifier some, verdict" in _read_until(parent, "claim> ")
        os.write(parent, b"x" * 4100 + b"\r")
        assert "claim of 4100 characters; at most" in _read_until(parent, "claim> ")
        os.write(parent, b"No fish swim.\r")
        assert "quantifier no, verdict" in _read_until(parent, "claim> ")
        os.write(parent, b"\x04")  # Ctrl-D
        assert "3 answers written" in _read_until(parent, "annotate new")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(parent)
    claims = [json.loads(line)["doc"]["claim"] for line in samples.read_text().splitlines()]
    assert claims == ["Some penguins fly.", "Some penguins fly.", "No fish swim."]
    history = (tmp_path / "cache" / "ask_history").read_text()
    assert "No fish swim." in history


def test_refusals_are_one_line_exit_2_and_write_nothing(
    tiny_llama: Path, adapter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_columns = tmp_path / "claims.csv"
    no_columns.write_text("statement,truth\nAll birds fly.,False\n")
    empty_cell = tmp_path / "empty.csv"
    empty_cell.write_text('text_input,text_label\n"All birds fly.","False"\n"","True"\n')
    bad_label = tmp_path / "claims.jsonl"
    bad_label.write_text('{"claim": "All birds fly.", "label": "yes"}\n')
    long_file = tmp_path / "long.txt"
    long_file.write_text("All birds fly.\n" + "y" * 5000 + "\n")
    good = tmp_path / "good.txt"
    good.write_text("All birds fly.\n")
    out = tmp_path / "out.jsonl"
    model = ["--model", str(tiny_llama), "--out", str(out)]
    cases = [
        (["", *model], "claim 1: claim must be non-empty text, got ''"),
        (["ok.", "z" * 4001, *model], "claim 2: claim of 4001 characters; at most 4000"),
        (
            ["--claims", str(no_columns), *model],
            f"{no_columns}:1: a CSV of claims needs a text_input",
        ),
        (["--claims", str(empty_cell), *model], f"{empty_cell}:3: claim must be non-empty text"),
        (["--claims", str(bad_label), *model], f"{bad_label}:1: label must be true or false"),
        (["--claims", str(long_file), *model], f"{long_file}:2: claim of 5000 characters"),
        (["--claims", str(good), "--out", str(good)], "--out is one of the inputs"),
        (["All birds fly.", "--peft", str(tmp_path), *model], "not a PEFT adapter directory"),
        (["All birds fly.", "--out", str(tmp_path)], "is a directory; --out takes a file"),
        # the tiny llama's prompt-tuning adapter on the embedded SmolLM2 (32 vs 576 wide)
        (
            ["All birds fly.", "--peft", str(adapter), "--out", str(out)],
            f"{adapter}: adapter of another base model: its virtual tokens have 32 dimensions",
        ),
    ]
    for argv, message in cases:
        code, stdout, err = run(["ask", *argv], capsys)
        assert code == 2, argv
        assert message in err.strip() and "\n" not in err.strip() and not stdout, err
        assert not out.exists()
    assert good.read_text() == "All birds fly.\n"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"\n  \n", "no claims on standard input"),
        (b"All birds fly.\n\xff\xfe\n", "<stdin>: not UTF-8 (byte offset 15)"),
    ],
)
def test_standard_input_without_claims_is_refused(
    stdin: bytes, message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [*COMMAND, "--out", str(out)], input=stdin, capture_output=True, env=_env(tmp_path),
        timeout=300,
    )  # fmt: skip
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and message in err and "\n" not in err, err
    assert not proc.stdout and not out.exists()
