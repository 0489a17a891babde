"""``logic-claims interpret``: real prompt-tuning adapters trained on the tiny llama
(tests/conftest.py) read back in its vocabulary, and every refusal of the command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from logic_claims.harness.cli import main
from logic_claims.tasks.prompt import INSTRUCTION


def _train(method: str, tiny: Path, data: Path, out: Path, **extra: Any) -> Path:
    from logic_claims.adapters.train import train

    overrides = {
        "base_model": str(tiny),
        "data_dir": str(data),
        "max_train_examples": 24,
        "max_val_examples": 4,
        "batch_size": 4,
        "max_steps": 4,
        "logging_steps": 2,
        "eval_steps": 4,
        "save_steps": 4,
        **extra,
    }
    return train(method, overrides, out, progress=False)


@pytest.fixture(scope="module")
def adapters(
    tiny_llama: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Prompt-tuning adapters from the instruction text: one trained with a negligible
    learning rate, one as the study trains (lr 3e-2); a LoRA and a prefix-tuning one."""
    root = tmp_path_factory.mktemp("interpret")
    still = {"learning_rate": 1e-12}
    return {
        "still": _train("prompt_tuning", tiny_llama, built_data, root / "still", **still),
        "moved": _train("prompt_tuning", tiny_llama, built_data, root / "moved"),
        "lora": _train("lora", tiny_llama, built_data, root / "lora", max_steps=1),
        "prefix": _train("prefix_tuning", tiny_llama, built_data, root / "prefix", max_steps=1),
    }


def _init_tokens(tiny: Path, n: int) -> list[str]:
    """The init text's tokens as PEFT takes them: cut or repeated to ``n``."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    ids = tokenizer(INSTRUCTION)["input_ids"]
    ids = (ids * (n // len(ids) + 1))[:n]
    return [tokenizer.decode([i]) for i in ids]


def test_an_unmoved_adapter_reads_back_its_init_text_token_for_token(
    adapters: dict[str, Path], tiny_llama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpret", str(adapters["still"]), "--top-k", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["num_virtual_tokens"] == 8 and result["init"] == "TEXT"
    assert result["init_text"] == INSTRUCTION
    assert result["base_model"] == str(tiny_llama)  # the base the adapter records
    expected = _init_tokens(tiny_llama, 8)
    assert [t["neighbours"][0]["token"] for t in result["tokens"]] == expected
    assert [t["init_token"] for t in result["tokens"]] == expected
    for token in result["tokens"]:
        assert token["neighbours"][0]["cosine"] == pytest.approx(1.0, abs=1e-5)
        assert token["cosine_to_init"] == pytest.approx(1.0, abs=1e-5)
        assert len(token["neighbours"]) == 3
        cosines = [n["cosine"] for n in token["neighbours"]]
        assert cosines == sorted(cosines, reverse=True) and cosines[1] < 0.999
    assert result["reads_back_init"] == 8
    assert "".join(expected) in INSTRUCTION * 2


def test_a_trained_adapter_moves_away_from_its_init_and_the_text_says_so(
    adapters: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["interpret", str(adapters["moved"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    moves = [t["cosine_to_init"] for t in result["tokens"]]
    assert all(c < 0.999 for c in moves), moves
    assert result["mean_cosine_to_init"] < 0.99
    assert all(len(t["neighbours"]) == 5 for t in result["tokens"])  # the default top-k

    assert main(["interpret", str(adapters["moved"])]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) == 2 + 8 + 1
    assert f"{result['reads_back_init']} of 8 virtual tokens are nearest" in lines[-1]
    assert f"mean cosine to init {result['mean_cosine_to_init']:.3f}" in lines[-1]
    first = result["tokens"][0]
    assert json.dumps(first["neighbours"][0]["token"]) in lines[2]
    assert f"{first['cosine_to_init']:.3f}" in lines[2]


def test_model_names_the_base_when_the_recorded_one_is_elsewhere(
    adapters: dict[str, Path], tiny_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An adapter copied from another machine records a base that is not here: the
    command says to pass --model, and with --model reads it."""
    adapter = tmp_path / "copied"
    shutil.copytree(adapters["still"], adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = str(tmp_path / "gone" / "Llama-2-7b-chat-hf")
    config["tokenizer_name_or_path"] = str(tmp_path / "gone" / "Llama-2-7b-chat-hf")
    (adapter / "adapter_config.json").write_text(json.dumps(config))
    assert main(["interpret", str(adapter)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not on this machine; name a local copy with --model" in err and "\n" not in err
    assert main(["interpret", str(adapter), "--model", str(tiny_llama), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["reads_back_init"] == 8


def test_refusals_are_one_line_and_exit_2(
    adapters: dict[str, Path],
    embedded_model: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ([str(adapters["lora"])], "a LORA adapter has no virtual tokens in the input space"),
        ([str(adapters["prefix"])], "a PREFIX_TUNING adapter has no virtual tokens"),
        ([str(empty)], "not a PEFT adapter directory (no adapter_config.json)"),
        ([str(adapters["still"]), "--top-k", "0"], "--top-k: must be an integer from 1 to"),
        ([str(adapters["still"]), "--top-k", "x"], "--top-k: must be an integer from 1 to"),
        # the tiny llama's adapter over the embedded SmolLM2 (32 vs 576 dimensions)
        (
            [str(adapters["still"]), "--model", str(embedded_model)],
            "adapter of another base model: its virtual tokens have 32 dimensions",
        ),
    ]
    for argv, message in cases:
        try:
            code = main(["interpret", *argv])
        except SystemExit as exc:  # argparse refusing an argument
            code = exc.code
        assert code == 2, argv
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert message in err and "\n" not in err and not captured.out, err
