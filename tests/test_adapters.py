"""Adapter training: configs, the loss, every method end to end through lm-eval's peft=,
ZeRO-3 saving, resume after kill -9, and every refusal.

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

from logic_claims.adapters.config import TrainConfig, load_config, parse_set
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import INSTRUCTION, TARGET_DELIMITER, format_prompt

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


# --------------------------------------------------------------------------- configs


def test_shipped_configs_load_and_prompt_tuning_is_the_studys() -> None:
    for name in ("prompt_tuning", "lora", "ia3", "prefix_tuning", "peft8", "peft4"):
        assert load_config(name).method in METHODS
    study = load_config(REPO / "adapters" / "configs" / "prompt_tuning.yaml")
    assert (study.method, study.num_virtual_tokens, study.prompt_init) == (
        "prompt_tuning",
        8,
        "text",
    )
    assert study.prompt_init_text == INSTRUCTION
    assert (study.learning_rate, study.batch_size, study.lr_schedule) == (3e-2, 12, "linear")
    assert load_config("peft4").num_virtual_tokens == 4
    assert load_config("peft8").examples_per_generic == 1


def test_overrides_are_typed() -> None:
    cfg = load_config(
        "lora",
        parse_set(["max_steps=7", "learning_rate=1e-4", "target_modules=q_proj,v_proj", "seed=3"]),
    )
    assert (cfg.max_steps, cfg.learning_rate, cfg.target_modules, cfg.seed) == (
        7,
        1e-4,
        ["q_proj", "v_proj"],
        3,
    )
    assert load_config({"method": "ia3", "max_grad_norm": None}).max_grad_norm is None
    assert load_config(TrainConfig(seed=5), {"seed": 6}).seed == 6


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lerning_rate": 1}, "unknown config key 'lerning_rate'"),
        ({"method": "adalora"}, "unknown method 'adalora'"),
        ({"max_steps": "many"}, "max_steps must be an integer"),
        ({"gradient_checkpointing": "yes"}, "must be true or false"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
        ({"quantifiers": ["most"]}, "quantifiers must be"),
        ({"method": "prefix_tuning", "gradient_checkpointing": True}, "gradient_checkpointing"),
    ],
)
def test_bad_settings_are_one_line_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_config("lora", overrides)
    assert "\n" not in str(info.value)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad_key = tmp_path / "typo.yaml"
    bad_key.write_text("method: lora\nlerning_rate: 0.1\n")
    with pytest.raises(InputError, match=r"typo\.yaml: unknown config key 'lerning_rate'"):
        load_config(bad_key)
    bare_no = tmp_path / "no.yaml"
    bare_no.write_text("quantifiers: [all, no]\n")
    with pytest.raises(InputError, match='"no" \\(quoted\\)'):
        load_config(bare_no)
    with pytest.raises(InputError, match="--set expects key=value"):
        parse_set(["max_steps"])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("learning_rate=.inf", "learning_rate must be a finite number"),
        ("learning_rate=nan", "learning_rate must be a finite number"),
        ("learning_rate=-.inf", "learning_rate must be a finite number"),
        ("learning_rate=1e400", "learning_rate must be a finite number"),
        ("learning_rate=" + "9" * 400, "learning_rate is out of range"),
        ("weight_decay=-0.1", "weight_decay must be >= 0"),
        ("weight_decay=.nan", "weight_decay must be a finite number"),
        ("max_grad_norm=0", "max_grad_norm must be > 0"),
        ("max_grad_norm=.inf", "max_grad_norm must be a finite number"),
        ("lora_dropout=1", "lora_dropout must be < 1"),
        ("lora_dropout=-0.5", "lora_dropout must be >= 0"),
        ("lora_alpha=0", "lora_alpha must be >= 1"),
        ("lora_r=0", "lora_r must be >= 1"),
        ("max_length=0", "max_length must be >= 1"),
        ("max_val_examples=-1", "max_val_examples must be >= 0"),
        ("seed=-1", "seed must be >= 0"),
        ("seed=4294967296", "seed must be <= 4294967295"),
        ("max_steps=1.0e+100", "max_steps must be <= 2147483647"),
        ("batch_size=3.5", "batch_size must be an integer"),
        ("ds_param_persistence_threshold=-1", "ds_param_persistence_threshold must be >= 0"),
        ("prompt_init_text=' '", "prompt_init_text may not be empty"),
    ],
)
def test_numeric_settings_are_finite_and_in_range(setting: str, message: str) -> None:
    config = "prompt_tuning" if setting.startswith("prompt_init_text") else "lora"
    with pytest.raises(InputError, match=message) as info:
        load_config(config, parse_set([setting]))
    assert "\n" not in str(info.value) and len(str(info.value)) < 200


def test_every_numeric_setting_has_a_checked_range() -> None:
    import dataclasses
    import typing

    from logic_claims.adapters.config import FLOAT_RANGES, INT_RANGES

    hints = typing.get_type_hints(TrainConfig)
    numeric = {
        f.name
        for f in dataclasses.fields(TrainConfig)
        if {int, float} & {hints[f.name], *typing.get_args(hints[f.name])}
    }
    assert numeric == set(INT_RANGES) | set(FLOAT_RANGES)
    for name in numeric:  # every default is inside its own range
        load_config(TrainConfig(), {name: getattr(TrainConfig(), name)})


# Six levels of nine aliases: 9**6 = 531,441 values from a few hundred bytes.
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcde", "bcdef", strict=True)
)


def test_config_yaml_that_expands_or_is_binary_is_one_line(tmp_path: Path) -> None:
    import gzip

    flow = "{" + LAUGHS.strip().replace("\n", ", ") + "}"
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(f"method: lora\nseed: {flow}\n")
    with pytest.raises(InputError, match=r"bomb\.yaml: YAML expands to more than") as info:
        load_config(bomb)
    assert len(str(info.value)) < 200
    with pytest.raises(InputError, match="expands to more than"):
        parse_set([f"seed={flow}"])
    assert parse_set(["target_modules=[q_proj"]) == {"target_modules": "[q_proj"}  # a string
    binaries = {
        "random.yaml": bytes(range(128, 256)) * 3,
        "config.yaml.gz": gzip.compress(b"method: lora\n"),
        "picture.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40),
    }
    for name, raw in binaries.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(InputError, match=re.escape(f"{name}: not")) as info:
            load_config(tmp_path / name)
        assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- data and loss


def test_examples_are_the_lm_eval_prompt_then_the_gold_answer(
    tiny_llama: Path, built_data: Path
) -> None:
    from transformers import AutoTokenizer

    from logic_claims.adapters.batches import collate, encode, select_records
    from logic_claims.tasks.data import load_split

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    cfg = load_config("lora", {"max_val_examples": 8})
    records = select_records(load_split(built_data, "validation"), cfg, train=False)
    examples, dropped = encode(tokenizer, records, cfg)
    assert dropped == 0 and len(examples) == 8
    for record, example in zip(records, examples, strict=True):
        context = tokenizer.decode(example.ids[: example.n_context])
        answer = tokenizer.decode(example.ids[example.n_context : -1])
        assert context == format_prompt(record["claim"])
        assert answer == TARGET_DELIMITER + record["target"]
        assert example.ids[-1] == tokenizer.eos_token_id
    # packed: the shared instruction once, then every example's rest with no padding
    batch = collate(examples[:4], tokenizer.pad_token_id)
    prefix = batch["prefix_ids"].shape[1]
    assert 0 < prefix < min(e.n_context for e in examples[:4])
    shared = tokenizer.decode(batch["prefix_ids"][0])
    assert shared.startswith(INSTRUCTION)
    assert all(format_prompt(r["claim"]).startswith(shared) for r in records[:4])
    assert batch["input_ids"].numel() == sum(len(e.ids) - prefix for e in examples[:4])
    for index, example in enumerate(examples[:4]):
        where = batch["segments"] == index
        assert batch["input_ids"][where].tolist() == list(example.ids[prefix:])
        assert batch["positions"][where].tolist() == list(range(prefix, len(example.ids)))
        targets = batch["targets"][where].tolist()
        # each position predicts the next token, and only answer tokens count
        answer_from = example.n_context - 1 - prefix
        assert targets[answer_from:] == [*example.ids[example.n_context :], -100]
        assert set(targets[:answer_from]) == {-100}
    # sixteen examples: four balanced rows of four, hardly any padding
    many = collate(examples[:8] * 2, tokenizer.pad_token_id)
    assert many["input_ids"].shape[0] == 4
    assert (many["segments"] == -1).sum() < many["segments"].numel() * 0.1


def test_epoch_batches_are_a_deterministic_permutation(tiny_llama: Path, built_data: Path) -> None:
    from transformers import AutoTokenizer

    from logic_claims.adapters.batches import encode, epoch_batches, select_records
    from logic_claims.tasks.data import load_split

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    cfg = load_config("lora", {"max_train_examples": 700})
    examples, _ = encode(
        tokenizer, select_records(load_split(built_data, "train"), cfg, train=True), cfg
    )
    first = epoch_batches(examples, 12, seed=0, epoch=0)
    assert first == epoch_batches(examples, 12, seed=0, epoch=0)
    assert first != epoch_batches(examples, 12, seed=0, epoch=1)
    assert first != epoch_batches(examples, 12, seed=1, epoch=0)
    assert sorted(i for b in first for i in b) == list(range(len(examples)))
    assert [len(b) for b in first] == [12] * 58 + [4]


@pytest.mark.parametrize("method", METHODS)
def test_answer_loss_equals_peft_forward_and_shared_prefix_keeps_gradients(
    method: str, tiny_llama: Path, built_data: Path
) -> None:
    """Our loss (logits at answer positions only; packed, shared prefix run once) is
    PEFT's own ``model(..., labels=...).loss``, and packed and padded batches give the
    same gradients."""
    import torch
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from logic_claims.adapters.batches import TENSOR_KEYS, collate, encode, select_records
    from logic_claims.adapters.methods import peft_config
    from logic_claims.adapters.packed_forward import answer_loss
    from logic_claims.tasks.data import load_split

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    cfg = load_config(method, {"max_val_examples": 5})
    records = select_records(load_split(built_data, "validation"), cfg, train=False)
    examples, _ = encode(tokenizer, records, cfg)
    torch.manual_seed(0)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_llama), peft_config(cfg, str(tiny_llama))
    )
    for name, param in model.named_parameters():
        if "lora_B" in name:  # LoRA starts as a no-op; make it matter
            torch.nn.init.normal_(param, std=0.5)
    width = max(len(e.ids) for e in examples)
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([list(e.ids) + [pad] * (width - len(e.ids)) for e in examples])
    labels = torch.tensor(
        [
            [-100] * e.n_context + list(e.ids[e.n_context :]) + [-100] * (width - len(e.ids))
            for e in examples
        ]
    )
    lengths = torch.tensor([len(e.ids) for e in examples])
    mask = (torch.arange(width)[None] < lengths[:, None]).long()
    reference = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss

    grads = []
    for packed in (False, True):
        batch = collate(examples, pad, packed=packed)
        assert (batch["prefix_ids"].shape[1] > 0) == packed
        model.zero_grad()
        loss_sum, n = answer_loss(model, **{k: batch[k] for k in TENSOR_KEYS})
        assert n.item() == sum(len(e.ids) - e.n_context for e in examples)
        torch.testing.assert_close(loss_sum / n, reference, rtol=1e-5, atol=1e-5)
        (loss_sum / n).backward()
        grads.append([p.grad.clone() for p in model.parameters() if p.requires_grad])
    assert grads[0] and all(g.abs().sum() > 0 for g in grads[1])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


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
    from logic_claims.tasks.data import sha256_file

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
