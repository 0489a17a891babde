"""Automatic judges: their judgments land in the store as a rater with what the judge is,
a killed judge resumes and judges nothing twice, and the command validates before loading.

The statistics of a judge against people are in ``test_annotation_calibration.py``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from annotation_helpers import cli, make_store, one_line_error

from logic_claims.annotations.judge_prompt import (
    PROMPT_VERSION,
    judge_prompt,
    label_words,
    parse_verdict,
)
from logic_claims.annotations.records import FACTUAL, JUSTIFIED, Dimension
from logic_claims.annotations.store import Store
from logic_claims.harness.judge import (
    JudgeSettings,
    default_rater,
    judge_store,
    load_model,
    model_decider,
)
from logic_claims.tasks.errors import InputError


def judgments_by(path: Path, rater: str) -> dict[tuple[str, str], str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT item_id, dimension, value FROM ratings WHERE annotator=?", (rater,)
        ).fetchall()
    finally:
        conn.close()
    return {(i, d): v for i, d, v in rows}


def writes_by(path: Path, rater: str) -> list[tuple[str, str]]:
    """Every judgment ever written by ``rater`` (the append-only log)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            "SELECT item_id, dimension FROM rating_log WHERE annotator=? AND action='set'",
            (rater,),
        ).fetchall()
    finally:
        conn.close()


def test_prompt_states_the_dimension_as_people_read_it() -> None:
    prompt = judge_prompt(FACTUAL, "All birds fly.", "False, penguins do not fly.")
    assert FACTUAL.question in prompt and FACTUAL.definition in prompt
    assert "All birds fly." in prompt and "penguins do not fly" in prompt
    assert [(w.label, w.word) for w in label_words(JUSTIFIED)] == [("0", "no"), ("1", "yes")]
    fluency = Dimension("fluency", ("bad", "ok", "good"), "Fluent?", "Reads naturally.")
    assert [w.word for w in label_words(fluency)] == ["bad", "ok", "good"]
    assert parse_verdict(FACTUAL, " Yes, it is.") == "1"
    assert parse_verdict(FACTUAL, "no") == "0"
    assert parse_verdict(FACTUAL, " maybe") is None
    assert parse_verdict(fluency, "Good.") == "good"


def test_judgments_land_as_a_rater_with_what_the_judge_is(tmp_path: Path) -> None:
    store = make_store(tmp_path / "s.sqlite", 5)
    info = {"kind": "test judge", "prompt_version": PROMPT_VERSION}
    seen = []

    def decide(requests):
        seen.extend(requests)
        return ["1" if d.name == "factual" else "0" for d, _, _ in requests]

    run = judge_store(store, decide, info, "robot", batch_size=2)
    assert (run.items, run.already_done, run.judged, run.unparsed) == (5, 0, 10, 0)
    assert len(seen) == 10
    judged = judgments_by(store, "robot")
    assert len(judged) == 10
    assert {v for (_, d), v in judged.items() if d == "factual"} == {"1"}
    with Store.open(store) as s:
        assert s.rater_info("robot") == info
        assert s.rater_info("ann") is None
        assert s.summary()["raters"]["robot"] == {"done": 5, "assigned": 5, "judge": info}
    # A second run judges nothing; other settings under the same name are refused.
    again = judge_store(store, decide, info, "robot")
    assert (again.already_done, again.judged) == (5, 0) and len(seen) == 10
    with pytest.raises(InputError, match="other settings"):
        judge_store(store, decide, {**info, "prompt_version": "x"}, "robot")
    with Store.open(store) as s:
        s.rate(s.queue("ann")[0], "ann", "factual", "1")
    with pytest.raises(InputError, match="has judgments of a person"):
        judge_store(store, decide, info, "ann")
    # A rater of the set who has judged nothing may be the judge (a set built for it).
    fresh = make_store(tmp_path / "fresh.sqlite", 2, raters=("bot",))
    assert judge_store(fresh, decide, info, "bot").judged == 4
    assert len(writes_by(store, "robot")) == 10


def test_default_rater_and_settings_checked_before_a_model_loads(tmp_path: Path, capsys) -> None:
    assert default_rater(JudgeSettings("smollm2-135m-instruct")) == (
        "judge-smollm2-135m-instruct-loglik"
    )
    assert default_rater(JudgeSettings("/m/base/", peft="/a/lora8", method="generate")) == (
        "judge-base+lora8-gen"
    )
    store = make_store(tmp_path / "s.sqlite", 2)
    for argv, problem in (
        (["--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["--max-gen-toks", "9999"], "--max-gen-toks must be <= 256, got 9999"),
        (["--peft", str(tmp_path)], "not a PEFT adapter directory"),
        (["--limit", "0"], "--limit must be at least 1"),
        (["--backend", "nosuch"], "--backend 'nosuch': not an lm-eval model backend"),
    ):
        code, _, err = cli("annotate", "judge", "--store", store, *argv, capsys=capsys)
        assert code == 2, err
        assert problem in err and err.count("\n") == 1, err
    code, _, err = cli("annotate", "judge", "--store", tmp_path / "none.sqlite", capsys=capsys)
    assert code == 2
    one_line_error(err, str(tmp_path / "none.sqlite"), "no such store")
    assert judgments_by(store, "judge-smollm2-135m-instruct-loglik") == {}


def test_eval_and_judge_take_the_same_model_options(capsys) -> None:
    """--model --peft --backend --device --model-args are one option group, declared once:
    both commands' --help show the same section, word for word."""
    sections = []
    for command in (["eval"], ["annotate", "judge"]):
        with pytest.raises(SystemExit) as exit_:
            cli(*command, "--help")
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        start = out.index("\nmodel:\n")
        sections.append(out[start : out.find("\n\n", out.index("--model ", start))])
    assert sections[0] == sections[1]
    for option in ("--model MODEL", "--peft ADAPTER", "--backend", "--device", "--model-args"):
        assert option in sections[0]


def test_generated_verdicts_and_unparsed_replies(tmp_path: Path, tiny_llama: Path) -> None:
    """--method generate through lm-eval's hf backend: a reply naming no label is not
    written, and the next run asks again."""
    store = make_store(tmp_path / "s.sqlite", 3)
    settings = JudgeSettings(str(tiny_llama), method="generate", max_gen_toks=3, device="cpu")
    settings.check()
    decide = model_decider(load_model(settings), settings)
    first = judge_store(store, decide, settings.record(), "tiny", batch_size=2)
    assert first.judged + first.unparsed == 6
    assert len(judgments_by(store, "tiny")) == first.judged
    second = judge_store(store, decide, settings.record(), "tiny")
    assert second.judged + second.unparsed == first.unparsed  # only the unjudged, again


def _judge_command(store: Path, model: Path) -> list[str]:
    return [
        sys.executable, "-m", "logic_claims.harness.cli", "annotate", "judge",
        "--store", str(store), "--model", str(model), "--rater", "tiny",
        "--batch-size", "1", "--device", "cpu",
    ]  # fmt: skip


def test_a_killed_judge_resumes_and_judges_nothing_twice(tmp_path: Path, tiny_llama: Path) -> None:
    """kill -9 in the middle of a run (the command in a real process, a real lm-eval
    model), then run again: every item is judged once on every dimension, and the store
    is intact."""
    n_items = 40
    store = make_store(tmp_path / "s.sqlite", n_items)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    env["OMP_NUM_THREADS"] = "1"  # a tiny model: one thread, no fight for the cores
    log = (tmp_path / "judge.log").open("w")
    proc = subprocess.Popen(_judge_command(store, tiny_llama), stdout=log, stderr=log, env=env)
    try:
        deadline = time.monotonic() + 120
        while len(writes_by(store, "tiny")) < 6:
            assert proc.poll() is None, (tmp_path / "judge.log").read_text()
            assert time.monotonic() < deadline, "the judge wrote nothing in 120 s"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    partial = writes_by(store, "tiny")
    assert 6 <= len(partial) < 2 * n_items, "killed too late to test a resume"
    # The rerun in this process (one start-up less): the same settings the command records.
    settings = JudgeSettings(str(tiny_llama), batch_size=1, device="cpu")
    decide = model_decider(load_model(settings), settings)
    run = judge_store(store, decide, settings.record(), "tiny", batch_size=4)
    assert run.already_done == len(partial) // 2 and run.items == n_items
    writes = writes_by(store, "tiny")
    assert len(writes) == len(set(writes)) == 2 * n_items  # each (item, dimension) once
    assert set(partial) <= set(writes)
    conn = sqlite3.connect(store)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()
