"""What needs a real model to go wrong (issue 19): an adapter of another base model is one
line, and ``annotate judge`` keeps transformers' loading bars in the log as ``eval`` does.
The checks made before a model loads are fuzzed in ``test_cli_fuzz.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
from annotation_helpers import cli, make_store

from logic_claims.tasks.data import load_split
from logic_claims.tasks.prompt import INSTRUCTION


@pytest.fixture(scope="module")
def wider_lora(tmp_path_factory: pytest.TempPathFactory, built_data: Path) -> Path:
    """A LoRA adapter of a tiny llama twice as wide as the tests' ``tiny_llama``."""
    import torch
    from conftest import _tiny_tokenizer
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    texts = [INSTRUCTION] + [r["claim"] for r in load_split(built_data, "validation")]
    tokenizer = _tiny_tokenizer(texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
    )  # fmt: skip
    torch.manual_seed(0)
    lora = LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    model = get_peft_model(LlamaForCausalLM(config), lora)
    out = tmp_path_factory.mktemp("wider-lora")
    model.save_pretrained(out)
    return out


@pytest.mark.parametrize("backend", ["hf-fast", "hf"])
def test_an_adapter_of_another_base_is_one_line(
    backend: str, tiny_llama: Path, wider_lora: Path, built_data: Path, tmp_path: Path, capsys
) -> None:
    code, _, err = cli(
        "eval", "--model", str(tiny_llama), "--peft", str(wider_lora), "--backend", backend,
        "--tasks", "logic_claims_mc", "--limit", "1", "--device", "cpu",
        "--data-dir", str(built_data), "--output", str(tmp_path / "out"), capsys=capsys,
    )  # fmt: skip
    # What the terminal shows: each line as its last carriage return leaves it (the
    # request bar is cleared when the run fails).
    shown = [line.rsplit("\r", 1)[-1] for line in err.split("\n")]
    lines = [line for line in shown if line.strip()]
    assert code == 2, err[-2000:]
    assert "Traceback" not in err
    assert len(lines) == 1 and f"--peft {wider_lora}: its weights do not fit" in lines[0], err
    assert not (tmp_path / "out").exists()


def test_judge_keeps_the_loading_bars_in_the_log(tmp_path: Path, tiny_llama: Path, capsys) -> None:
    store = make_store(tmp_path / "s.sqlite", 1)
    code, out, err = cli(
        "annotate", "judge", "--store", str(store), "--model", str(tiny_llama),
        "--rater", "tiny", "--device", "cpu", capsys=capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "judgments written" in out
    assert "Loading weights" not in err and "it/s]" not in err, err
