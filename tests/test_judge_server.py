"""A judge reached the way users run big ones: lm-eval's ``local-chat-completions`` model
against a real OpenAI-compatible server, ``transformers serve``, started here on
127.0.0.1 with a local model (offline), through the real ``annotate judge`` command.

A reply that names no label is recorded as nothing (asked again on the next run), never
as "no". Each server takes some seconds to start on 2 CPU cores.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from annotation_helpers import cli, judgments_of, make_store

pytestmark = pytest.mark.slow  # a real server process and model per test (about a minute)

# The whole conversation as the prompt, nothing added: the tiny test model has no template.
PLAIN_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
STARTUP_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(model: Path, log: Path) -> Iterator[str]:
    """``transformers serve MODEL`` on 127.0.0.1 (the model preloaded, offline); yields
    the chat-completions URL once ``/v1/models`` answers; stopped (SIGINT) afterwards."""
    port = _free_port()
    command = [str(Path(sys.executable).with_name("transformers")), "serve", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not up in {STARTUP_S} s:\n{log.read_text()}")
            time.sleep(0.5)
        yield f"{base}/chat/completions"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def judge(store: Path, model: Path, url: str, capsys: pytest.CaptureFixture) -> str:
    code, out, err = cli(
        "annotate", "judge", "--store", store, "--model", model, "--rater", "served",
        "--backend", "local-chat-completions", "--method", "generate", "--max-gen-toks", "4",
        "--model-args", f"base_url={url}", capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    return out


def test_a_served_instruct_model_judges_through_chat_completions(
    tmp_path: Path, embedded_model: Path, capsys: pytest.CaptureFixture
) -> None:
    """SmolLM2-Instruct behind ``transformers serve``: its replies become verdicts, with no
    margin (chat endpoints give none), and the judge records how it was reached."""
    store = make_store(tmp_path / "s.sqlite", 4)
    with transformers_serve(embedded_model, tmp_path / "serve.log") as url:
        out = judge(store, embedded_model, url, capsys)
    got = judgments_of(store, "served")
    assert got, out  # an instruct model names a label to at least one of 8 prompts
    assert all(v in ("0", "1") and s is None for v, s in got.values())
    assert f"{len(got)} judgments written" in out and f"{8 - len(got)} replies named no" in out
    from logic_claims.annotations.store import Store

    with Store.open(store) as s:
        info = s.rater_info("served")
    assert info["backend"] == "local-chat-completions" and info["method"] == "generate"
    assert info["settings"]["model_args"] == {"base_url": url}


def test_a_reply_naming_no_label_is_asked_again_never_a_no(
    tmp_path: Path, tiny_llama: Path, capsys: pytest.CaptureFixture
) -> None:
    """A random tiny model replies in words that are no label: nothing is written (not
    "0"), and the next run asks the server again for every item."""
    model = tmp_path / "tiny-chat"
    shutil.copytree(tiny_llama, model)
    (model / "chat_template.jinja").write_text(PLAIN_TEMPLATE)
    store = make_store(tmp_path / "s.sqlite", 3)
    with transformers_serve(model, tmp_path / "serve.log") as url:
        first = judge(store, model, url, capsys)
        assert "0 judgments written" in first and "6 replies named no label" in first
        again = judge(store, model, url, capsys)
    assert "0 of 3 items were already judged; 6 replies named no label" in again
    assert judgments_of(store, "served") == {}
