"""Shared fixtures: the study's CSVs, a built dataset, and a tiny random llama.

The tiny model is for plumbing (lm-eval runs, PEFT save/load, training loops);
the embedded SmolLM2-135M-Instruct is for the few end-to-end tests.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_helpers import CHROMEDRIVER, CHROMIUM, MISSING, chromium

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

# The CSVs beside the project (CI and the dev machines); `make test` sets this too.
if not os.environ.get("LOGIC_CLAIMS_DATA") and (SHARED_DATA / "generics-exemplars").is_dir():
    os.environ["LOGIC_CLAIMS_DATA"] = str(SHARED_DATA / "generics-exemplars")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# A shell without job control starts background commands (`make test &` in a script) with
# SIGINT ignored, and every child inherits that: the servers the tests stop with SIGINT, as a
# person stops them with Ctrl-C, would never stop. A handled signal is reset to the default in
# a child, so the children start as they would from a terminal.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def source_dir() -> Path:
    """Directory of negative.csv and positive.csv (the published data)."""
    path = os.environ.get("LOGIC_CLAIMS_DATA")
    if not path or not Path(path).is_dir():
        pytest.fail("LOGIC_CLAIMS_DATA must point at the generics/exemplars CSVs")
    return Path(path)


@pytest.fixture(scope="session")
def built_data(source_dir: Path) -> Path:
    """The full dataset built from the published CSVs (cached by content)."""
    from logic_claims.tasks.data import built_dataset_dir

    return built_dataset_dir(source_dir)


def _tiny_tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    from tokenizers import decoders

    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="</s>",
    )


def make_tiny_llama(out: Path, texts: list[str], seed: int = 0) -> Path:
    """Save a randomly initialised 2-layer llama and a BPE tokenizer trained on ``texts``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tiny_tokenizer(texts)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory, built_data: Path) -> Path:
    """Directory of a tiny random LlamaForCausalLM with a locally trained tokenizer."""
    from logic_claims.tasks.data import load_split
    from logic_claims.tasks.prompt import INSTRUCTION

    records = load_split(built_data, "validation")
    texts = [INSTRUCTION, "Statement: Answer: True False"]
    texts += [f"{r['claim']} {r['target']}" for r in records]
    return make_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), texts)


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """Local HF directory of the embedded SmolLM2-135M-Instruct (converted once)."""
    from logic_claims.tasks.models import model_path

    return model_path()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless chromium (selenium) for the pages' tests."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(MISSING)
    profile = tmp_path_factory.mktemp("chromium-profile")
    driver = chromium(profile)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
