"""Adapter training, the parts before any run: configs (types, ranges, refusals with file and
line) and the data and loss (the lm-eval prompt, the batch schedule, the packed loss equal to
PEFT's forward for every method).

Models are the shared tiny random llama (tests/conftest.py).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from logic_claims.adapters.config import TrainConfig, load_config, parse_set
from logic_claims.tasks.contrast import FAMILY_NAMES
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.prompt import INSTRUCTION, TARGET_DELIMITER, format_prompt

REPO = Path(__file__).resolve().parents[1]
METHODS = ("prompt_tuning", "lora", "ia3", "prefix_tuning")

# --------------------------------------------------------------------------- configs


def test_shipped_configs_load_and_prompt_tuning_is_the_studys() -> None:
    for name in ("prompt_tuning", "lora", "ia3", "prefix_tuning", "peft8", "peft4", "contrast_mix"):
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
        ({"contrast_ratio": 0.5, "contrast_families": ["rhymes"]}, "unknown 'rhymes'"),
        ({"contrast_ratio": 0.5, "contrast_families": []}, "contrast_families must be"),
        ({"contrast_families": ["tautology"]}, "contrast_ratio is 0"),
    ],
)
def test_bad_settings_are_one_line_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        load_config("lora", overrides)
    assert "\n" not in str(info.value)


def test_yaml_errors_name_the_file(tmp_path: Path) -> None:
    bad_key = tmp_path / "typo.yaml"
    bad_key.write_text("method: lora\nlerning_rate: 0.1\n")
    with pytest.raises(InputError, match=r"typo\.yaml:2: unknown config key 'lerning_rate'"):
        load_config(bad_key)
    bare_no = tmp_path / "no.yaml"
    bare_no.write_text("quantifiers: [all, no]\n")
    with pytest.raises(InputError, match='quantifiers: write no as "no" \\(quoted'):
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
        ("contrast_ratio=-0.1", "contrast_ratio must be >= 0"),
        ("contrast_ratio=.nan", "contrast_ratio must be a finite number"),
        ("contrast_ratio=11", "contrast_ratio must be <= 10"),
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


def test_contrast_mix_adds_train_family_claims_at_the_ratio(built_data: Path) -> None:
    from logic_claims.adapters.batches import select_records
    from logic_claims.adapters.inputs import mix_contrast
    from logic_claims.tasks.data import load_split

    held_out = "taxonomic"
    families = [f for f in FAMILY_NAMES if f != held_out]
    cfg = load_config("contrast_mix", {"max_train_examples": 400, "contrast_families": families})
    standard = select_records(load_split(built_data, "train"), cfg, train=True)
    mixed = mix_contrast(standard, built_data, cfg)
    assert mixed[: len(standard)] == standard
    added = mixed[len(standard) :]
    assert len(added) == round(cfg.contrast_ratio * 400) == 200
    # only the training families' own claims, from train generics, in equal turns
    assert Counter(r["construction"] for r in added) == dict.fromkeys(families, 50)
    assert {r["split"] for r in added} == {"contrast_train"}
    train_generics = {r["generic"] for r in load_split(built_data, "train")}
    assert {r["generic"] for r in added} <= train_generics
    # the standard recipe is untouched
    assert mix_contrast(standard, built_data, load_config("lora")) is standard


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
