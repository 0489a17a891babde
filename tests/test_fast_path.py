"""The fast evaluation path (harness/fast_lm.py) gives lm-eval's plain HFLM's answers.

Same requests to both models: log-likelihoods within 1e-4 and the same greedy flags,
generations equal, for the base model, a LoRA adapter (merged) and a prompt-tuning adapter
(virtual tokens in the cached prefix). Adapters are randomly initialised (a LoRA's B is not
zero), so an adapter that was dropped or applied twice would change the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logic_claims.harness.evaluate import run_eval, task_requests
from logic_claims.harness.fast_lm import FastHFLM, common_prefix

TOLERANCE = 1e-4


def make_adapter(model_dir: Path, out: Path, kind: str) -> Path:
    """A randomly initialised LoRA or prompt-tuning adapter for ``model_dir``, saved."""
    import torch
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    if kind == "lora":
        config: Any = LoraConfig(
            task_type=TaskType.CAUSAL_LM, r=4, target_modules=["q_proj", "v_proj", "up_proj"],
            init_lora_weights=False,
        )  # fmt: skip
    else:
        config = PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4)
    get_peft_model(model, config).save_pretrained(out)
    return out


def both(model_dir: Path, adapter: Path | None) -> tuple[Any, FastHFLM]:
    from lm_eval.models.huggingface import HFLM

    extra = {"peft": str(adapter)} if adapter else {}
    plain = HFLM(pretrained=str(model_dir), batch_size=8, device="cpu", **extra)
    fast = FastHFLM(pretrained=str(model_dir), batch_size=4, mc_batch_size=5, device="cpu", **extra)
    return plain, fast


def test_common_prefix() -> None:
    assert common_prefix([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix([[5, 1], [1, 5]]) == 0
    assert common_prefix([[7, 8]]) == 2
    assert common_prefix([]) == 0


@pytest.mark.parametrize("kind", ["base", "lora", "prompt_tuning"])
def test_fast_log_likelihoods_equal_plain(
    kind: str, tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    adapter = None if kind == "base" else make_adapter(tiny_llama, tmp_path / kind, kind)
    plain, fast = both(tiny_llama, adapter)
    assert fast._parts() is not None  # the fast path applies, no fallback to HFLM
    assert fast.adapter_type == (None if kind != "prompt_tuning" else "PROMPT_TUNING")
    requests = task_requests("logic_claims_mc", limit=3, data_dir=built_data)
    expected = plain.loglikelihood(requests, disable_tqdm=True)
    got = fast.loglikelihood(requests, disable_tqdm=True)
    assert len(got) == len(expected) == 24
    for (want, want_greedy), (have, have_greedy) in zip(expected, got, strict=True):
        assert abs(want - have) <= TOLERANCE
        assert want_greedy == have_greedy
    if kind != "base":  # the adapter changed the answers: it was applied, once
        base, _ = both(tiny_llama, None)
        unadapted = base.loglikelihood(requests, disable_tqdm=True)
        assert max(abs(a[0] - b[0]) for a, b in zip(unadapted, got, strict=True)) > 1e-3


@pytest.mark.parametrize("kind", ["lora", "prompt_tuning"])
def test_fast_generations_equal_plain(
    kind: str, tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    adapter = make_adapter(tiny_llama, tmp_path / kind, kind)
    plain, fast = both(tiny_llama, adapter)
    plain.batch_size_per_gpu = 1  # lm_eval's default generation batch
    requests = task_requests("logic_claims", limit=2, data_dir=built_data)
    for request in requests:
        request.arguments[1]["max_gen_toks"] = 12
    expected = plain.generate_until(requests, disable_tqdm=True)
    got = fast.generate_until(requests, disable_tqdm=True)
    assert got == expected
    assert any(text.strip() for text in got)


def test_eval_keeps_lm_eval_messages_in_the_log(
    tiny_llama: Path, built_data: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    log = tmp_path / "eval.log"
    monkeypatch.setenv("LOGIC_CLAIMS_LOG", str(log))
    monkeypatch.delenv("LOGIC_CLAIMS_VERBOSE", raising=False)
    results = run_eval(str(tiny_llama), tasks=["logic_claims_mc"], limit=2, data_dir=built_data)
    assert set(results["results"]) >= {"logic_claims_mc", "logic_claims_mc_all"}
    terminal = capfd.readouterr()
    assert "Custom kwargs" not in terminal.err + terminal.out
    assert "16/16" in terminal.err  # the one progress bar: 8 claims, 2 choices each
    assert "Custom kwargs can be passed" in log.read_text(encoding="utf-8")


def greedy_by_full_forward(model: Any, ids: Any, steps: int) -> list[int]:
    """Greedy decoding the slow, obvious way: the whole sequence through the model each step."""
    import torch

    seq = ids
    with torch.no_grad():
        for _ in range(steps):
            next_id = model(input_ids=seq).logits[:, -1].argmax(-1, keepdim=True)
            seq = torch.cat([seq, next_id], dim=1)
    return seq[0, ids.shape[1] :].tolist()


def test_prompt_tuning_generation_is_the_models_greedy_continuation(
    embedded_model: Path, tmp_path: Path
) -> None:
    """With a prompt-tuning adapter the fast path generates what the adapted model's own
    forward pass predicts token by token (PEFT 0.21's ``generate`` under transformers 5
    does not: it drifts after the first token, which is why the fast path replaces it)."""
    import torch

    from logic_claims.tasks.prompt import format_prompt

    adapter = make_adapter(embedded_model, tmp_path / "pt", "prompt_tuning")
    fast = FastHFLM(pretrained=str(embedded_model), peft=str(adapter), device="cpu")
    ids = fast.tokenizer(format_prompt("All birds fly."), return_tensors="pt").input_ids
    expected = greedy_by_full_forward(fast.model, ids, steps=8)
    out = fast._model_generate(
        ids, ids.shape[1] + 8, [], attention_mask=torch.ones_like(ids), do_sample=False
    )
    assert out[0, ids.shape[1] :].tolist()[: len(expected)] == expected
