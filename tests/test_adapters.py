"""Adapter training runs: every method end to end through lm-eval's peft=, ZeRO-3 saving,
resume after kill -9, the launch backends, and every refusal of the command.
(Configs, data and the loss: tests/test_adapter_config.py.)

Models are the shared tiny random llama (tests/conftest.py); runs are a few steps.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
METHODS = ("prompt_tuning", "lora", "ia3", "prefix_tuning")


def small(tiny: Path, data: Path, **extra: Any) -> dict[str, Any]:
    """Overrides for a run of a few seconds on the tiny model."""
    return {
        "base_model": str(tiny),
        "data_dir": str(data),
        "max_train_examples": 48,
        "max_val_examples": 12,
        "batch_size": 4,
        "max_steps": 6,
        "logging_steps": 2,
        "eval_steps": 3,
        "save_steps": 3,
        **extra,
    }


def set_args(overrides: dict[str, Any]) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]


def load_tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(path / "adapter_model.safetensors")


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
    return env


# --------------------------------------------------------------------------- end to end


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_each_method_trains_saves_and_loads_through_lm_eval(
    method: str, tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from logic_claims.adapters.train import train
    from logic_claims.harness.evaluate import run_eval
    from logic_claims.tasks.sources import sha256_file

    out = train(method, small(tiny_llama, built_data), tmp_path / "adapter", progress=False)

    info = json.loads((out / "train_config.json").read_text())
    assert info["config"]["method"] == method
    assert info["base_model"]["path"] == str(tiny_llama)
    assert info["data"]["manifest_sha256"] == sha256_file(built_data / "manifest.json")
    assert info["backend"]["name"] == "plain-accelerate"
    assert info["backend"]["precision"] == "fp32"
    assert len(info["git"]["commit"]) == 40
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [2, 3, 4, 6]
    assert [m["step"] for m in metrics if m["val_loss"] is not None] == [3, 6]
    assert all(m["tokens_per_s"] > 0 and m["train_loss"] > 0 for m in metrics)
    assert info["final_val_loss"] == metrics[-1]["val_loss"]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A standard PEFT adapter: PeftModel.from_pretrained gets the trained weights back.
    saved = load_tensors(out)
    assert saved and all(t.numel() > 0 for t in saved.values())
    peft_type = json.loads((out / "adapter_config.json").read_text())["peft_type"]
    assert peft_type == method.upper()
    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama), out)
    state = {k: v for k, v in loaded.state_dict().items() if "base_layer" not in k}
    for name, tensor in saved.items():
        match = [v for k, v in state.items() if k.replace(".default", "") == name]
        if method in ("prompt_tuning", "prefix_tuning"):
            match = [loaded.get_prompt_embedding_to_save("default")]
        torch.testing.assert_close(match[0], tensor)

    # lm-eval loads it through peft= and scores; the adapter changes its log-likelihoods.
    def loglikelihoods(peft: Path | None) -> list[float]:
        results = run_eval(
            str(tiny_llama), peft=peft, tasks=["logic_claims_mc_all"], limit=2, batch_size=4
        )
        samples = results["samples"]["logic_claims_mc_all"]
        return [float(ll) for s in samples for ll, _ in s["filtered_resps"]]

    with_adapter, without = loglikelihoods(out), loglikelihoods(None)
    assert len(with_adapter) == 4 and with_adapter != without


@pytest.mark.slow
def test_contrast_mix_trains_and_lm_eval_scores_the_held_out_family_through_peft(
    tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    """The mixed recipe (standard + contrast claims of some families) trains, records its
    mix, and lm-eval loads the adapter with peft= on the family it never saw."""
    from logic_claims.adapters.train import train
    from logic_claims.harness.evaluate import run_eval

    seen = ["negated_exception", "tautology", "contradiction", "instance_entailment"]
    overrides = small(tiny_llama, built_data, contrast_ratio=1.0, contrast_families=seen)
    out = train("contrast_mix", overrides, tmp_path / "adapter", progress=False)
    info = json.loads((out / "train_config.json").read_text())
    assert info["config"]["contrast_families"] == seen
    assert info["data"]["train_examples"] == 2 * 48  # 48 standard + 48 contrast claims

    def scored(peft: Path | None) -> list[dict[str, Any]]:
        task = "logic_claims_contrast_taxonomic_mc_all"
        results = run_eval(str(tiny_llama), peft=peft, tasks=[task], limit=4, batch_size=4)
        return results["samples"][task]

    with_adapter, without = scored(out), scored(None)
    assert {s["doc"]["family"] for s in with_adapter} == {"taxonomic"}
    assert {s["doc"]["construction"] for s in with_adapter} == {"taxonomic", "standard"}
    assert [s["filtered_resps"] for s in with_adapter] != [s["filtered_resps"] for s in without]


@pytest.mark.slow
def test_resume_after_kill_9_reproduces_the_uninterrupted_adapter(
    tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    import torch

    from logic_claims.adapters.train import main, train

    overrides = small(
        tiny_llama,
        built_data,
        max_steps=24,
        save_steps=4,
        eval_steps=10,
        max_train_examples=60,
        lora_dropout=0.1,  # dropout draws random numbers: the RNG state must resume too
    )
    whole = train("lora", overrides, tmp_path / "whole", progress=False)

    killed = tmp_path / "killed"
    args = ["--config", "lora", *set_args(overrides), "--output-dir", str(killed), "--no-progress"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "logic_claims.adapters.train", *args],
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while not (killed / "checkpoints" / "step-0000008").is_dir():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (killed / "adapter_config.json").exists()

    # refusals around an unfinished run
    assert main([*args]) == 2  # neither --resume nor --overwrite
    assert main([*args, "--resume", "--set", "seed=1"]) == 2  # a different config
    assert main([*args, "--resume", "--overwrite"]) == 2

    resumed = train("lora", overrides, killed, resume=True, progress=False)
    a, b = load_tensors(whole), load_tensors(resumed)
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name  # bit-identical on CPU
    steps = [
        json.loads(line)["step"] for line in (resumed / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == sorted(set(steps)) and steps[-1] == 24
    assert main([*args, "--resume"]) == 2  # finished: nothing to resume


def test_refusals_are_one_line_and_exit_2(
    tiny_llama: Path, built_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from logic_claims.adapters.train import main

    base = ["--config", "lora", "--output-dir", str(tmp_path / "out"), "--no-progress"]
    ok = set_args(small(tiny_llama, built_data))
    cases = [
        (["--set", "method=adalora"], "unknown method 'adalora'"),
        (["--set", "lerning_rate=1"], "unknown config key 'lerning_rate'"),
        (["--set", f"base_model={tmp_path / 'nope'}"], "base model not found"),
        (["--set", f"data_dir={tmp_path}"], "not a built dataset"),
        (["--resume"], "no checkpoint to resume from"),
        (["--set", "learning_rate=.inf"], "learning_rate must be a finite number"),
        (["--set", "learning_rate=nan"], "learning_rate must be a finite number"),
    ]
    for extra, message in cases:
        assert main([*base, *ok, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
    finished = tmp_path / "finished"
    finished.mkdir()
    (finished / "adapter_config.json").write_text("{}")
    assert main([*base, *ok, "--output-dir", str(finished)]) == 2
    assert "already holds an adapter" in capsys.readouterr().err
    # A folder of the user's, the base model and the data are never written into.
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("the user's own")
    for out, message in [
        (project, "holds README.md that no training run wrote"),
        (tiny_llama, "--output-dir is one of the inputs"),
        (built_data.parent, "--output-dir is a folder that holds the input"),
    ]:
        listing = sorted(p.name for p in Path(out).iterdir())
        assert main([*base, *ok, "--output-dir", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
        assert sorted(p.name for p in Path(out).iterdir()) == listing
    assert (project / "README.md").read_text() == "the user's own"
    assert not (tmp_path / "out").exists()  # nothing written by a refused run

    # the real CLI: one line on stderr, exit status 2
    proc = subprocess.run(
        [sys.executable, "-m", "logic_claims.harness.cli", "train", *base, "--set", "method=x"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "unknown method 'x'" in proc.stderr


# --------------------------------------------------------------------------- accelerate launch


def launch(config_file: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(config_file),
        "-m",
        "logic_claims.adapters.train",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, env=subprocess_env())


@pytest.mark.slow
def test_study_ds_config_on_cpu_falls_back_with_a_notice_and_lm_eval_scores_it(
    tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    """The acceptance command: `accelerate launch --config_file ds_zero3_cpu.yaml ...`."""
    import torch

    from logic_claims.harness.evaluate import run_eval

    if torch.cuda.is_available():
        pytest.skip("the fallback is for machines without a GPU")
    out = tmp_path / "pt"
    overrides = small(tiny_llama, built_data, max_steps=3)
    proc = launch(
        REPO / "ds_zero3_cpu.yaml",
        ["--config", "prompt_tuning", *set_args(overrides), "--output-dir", str(out)],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    notices = [line for line in proc.stderr.splitlines() if "notice:" in line]
    assert len(notices) == 1 and "DeepSpeed set aside" in notices[0] and "fp16" in notices[0]
    backend = json.loads((out / "train_config.json").read_text())["backend"]
    assert backend["name"] == "plain-accelerate" and backend["precision"] == "fp32"
    assert backend["requested"] == {"deepspeed": True, "mixed_precision": "fp16", "zero_stage": "3"}
    results = run_eval(
        str(tiny_llama),
        peft=out,
        tasks=["logic_claims_all"],
        limit=2,
        gen_kwargs={"max_gen_toks": 4},
    )
    assert 0.0 <= results["results"]["logic_claims_all"]["correct,none"] <= 1.0


@pytest.mark.slow
def test_zero3_gathers_partitioned_adapter_weights_on_save(
    tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    """ZeRO-3 on CPU with every parameter partitioned (persistence threshold 0, as a 7B
    model's would be): the saved adapter has full tensors that lm-eval loads."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from logic_claims.harness.evaluate import run_eval

    out = tmp_path / "lora-z3"
    overrides = small(
        tiny_llama,
        built_data,
        max_steps=4,
        cpu_backend="deepspeed",
        ds_param_persistence_threshold=0,
    )
    proc = launch(
        REPO / "ds_zero3_cpu.yaml",
        ["--config", "lora", *set_args(overrides), "--output-dir", str(out)],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    backend = json.loads((out / "train_config.json").read_text())["backend"]
    assert (backend["name"], backend["zero_stage"], backend["precision"]) == (
        "deepspeed",
        3,
        "fp32",
    )
    # DeepSpeed wrote the checkpoint (adapter partitions only)
    assert list((out / "checkpoints").glob("step-*/pytorch_model/*optim_states.pt"))

    expected = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_llama), out)
    shapes = {k: tuple(v.shape) for k, v in expected.state_dict().items() if "lora_" in k}
    saved = load_tensors(out)
    assert len(saved) == len(shapes) > 0
    for name, tensor in saved.items():
        assert tensor.numel() > 0, f"{name} saved without gathering: shape {tuple(tensor.shape)}"
        assert tuple(tensor.shape) in shapes.values()
    assert any(t.abs().sum() > 0 for n, t in saved.items() if "lora_B" in n)  # it trained
    results = run_eval(str(tiny_llama), peft=out, tasks=["logic_claims_mc_all"], limit=2)
    assert 0.0 <= results["results"]["logic_claims_mc_all"]["acc,none"] <= 1.0


@pytest.mark.slow
def test_throughput_benchmark_reports_every_field(tiny_llama: Path, built_data: Path) -> None:
    """The benchmark runs end to end (on the tiny model: its numbers mean nothing here)."""
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "train_throughput.py"),
            *("--model", str(tiny_llama), "--methods", "lora,prompt_tuning"),
            *("--steps", "1", "--warmup", "1", "--val-examples", "4", "--threads", "1"),
            *("--peak-seconds", "0.2", "--json"),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["matmul_peak_flops"] > 0
    for method in ("lora", "prompt_tuning"):
        r = report["methods"][method]
        for key in ("reference_examples_per_s", "ours_examples_per_s", "ratio", "peak_fraction"):
            assert r[key] > 0, key
        # ours does less work per example: no padding to 64, logits only on answers
        assert r["ours_flops_per_example"] < r["reference_flops_per_example"]


def test_a_diverging_run_stops_in_one_line_and_writes_no_adapter(
    tiny_llama: Path, built_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A legal but huge learning rate overflows LoRA's weights; the loss turns NaN."""
    from logic_claims.adapters.train import main

    out = tmp_path / "adapter"
    settings = set_args(small(tiny_llama, built_data, learning_rate=1e10, max_grad_norm="null"))
    args = ["--config", "lora", "--output-dir", str(out), "--no-progress", *settings]
    assert main(args) == 2
    captured = capsys.readouterr()
    last = captured.err.strip().splitlines()[-1]
    assert "Traceback" not in captured.err
    assert last.startswith("logic-claims train: error: ") and str(out) in last
    assert re.search(r"the training loss at step \d+ is not finite", last), last
    assert "adapter written" not in captured.out
    assert not out.exists()  # nothing of the run is left, not even the directory
