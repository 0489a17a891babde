"""The logic_claims lm-eval tasks, run by lm-eval itself on real models."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logic_claims.harness.evaluate import run_eval
from logic_claims.tasks import TASKS_DIR
from logic_claims.tasks.scoring import outcome_metrics

REPO = Path(__file__).resolve().parents[1]
QUANTIFIERS = ("all", "not_all", "some", "no")


def test_generated_configs_are_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "gen", TASKS_DIR / "logic_claims" / "_generate_configs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for generated in tmp_path.iterdir():
        committed = TASKS_DIR / "logic_claims" / generated.name
        assert committed.read_text() == generated.read_text(), generated.name
    # no stale generated file left behind (a family or variant taken out of the table)
    folder = TASKS_DIR / "logic_claims"
    stale = {p.name for p in folder.glob("*.yaml") if p.read_text().startswith(module.HEADER)}
    assert stale == {p.name for p in tmp_path.iterdir()}
    # a contrast family's tasks: only the quantifiers it flips
    assert (tmp_path / "logic_claims_contrast_taxonomic_mc_all.yaml").is_file()
    assert not (tmp_path / "logic_claims_contrast_taxonomic_mc_some.yaml").exists()


def read_samples(out: Path, task: str) -> list[dict]:
    (path,) = out.rglob(f"samples_{task}_*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_results(out: Path) -> dict:
    (path,) = out.rglob("results_*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
def test_lm_eval_cli_runs_the_group_on_a_tiny_model(tiny_llama: Path, tmp_path: Path) -> None:
    """The documented command: `lm_eval ... --tasks logic_claims --include_path tasks`."""
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "lm_eval",
        "--model", "hf",
        "--model_args", f"pretrained={tiny_llama}",
        "--tasks", "logic_claims",
        "--include_path", str(REPO / "tasks"),
        "--limit", "2",
        "--device", "cpu",
        "--gen_kwargs", "max_gen_toks=8",
        "--log_samples",
        "--output_path", str(out),
    ]  # fmt: skip
    subprocess.run(command, check=True, env=os.environ.copy(), capture_output=True)
    results = read_results(out)
    group = results["results"]["logic_claims"]
    rates = [group[f"{m},none"] for m in ("correct", "tie", "wrong")]
    assert sum(rates) == pytest.approx(1.0)
    assert {f"logic_claims_{q}" for q in QUANTIFIERS} <= set(results["results"])
    assert {"logic_claims_universal", "logic_claims_existential"} <= set(results["groups"])
    for quantifier in QUANTIFIERS:
        samples = read_samples(out, f"logic_claims_{quantifier}")
        assert len(samples) == 2
        for sample in samples:
            doc = sample["doc"]
            # what the annotation module imports later
            assert {"id", "claim", "quantifier", "label", "target"} <= set(doc)
            assert doc["quantifier"] == quantifier  # a bare `no` in YAML would be False
            answer = sample["resps"][0][0]
            assert isinstance(answer, str)
            expected = outcome_metrics(answer, doc["label"])
            assert {k: sample[k] for k in expected} == expected


@pytest.mark.slow
def test_run_eval_log_likelihood_and_contrast_tasks(tiny_llama: Path, tmp_path: Path) -> None:
    results = run_eval(
        str(tiny_llama),
        tasks=["logic_claims_mc", "logic_claims_contrast_mc"],
        limit=3,
        output_dir=tmp_path,
        batch_size=4,
    )
    for group in ("logic_claims_mc", "logic_claims_contrast_mc"):
        assert 0.0 <= results["results"][group]["acc,none"] <= 1.0
    contrast = read_samples(tmp_path, "logic_claims_contrast_mc_all")
    assert {s["doc"]["split"] for s in contrast} == {"contrast"}
    for sample in contrast:
        # acc is 1 exactly when the gold choice has the higher log-likelihood
        (true_ll, _), (false_ll, _) = sample["filtered_resps"]  # logged as strings
        predicted = 0 if float(true_ll) > float(false_ll) else 1
        gold = 0 if sample["doc"]["label"] else 1
        assert sample["acc"] == int(predicted == gold)


@pytest.mark.slow
def test_run_eval_reads_a_built_data_dir(tiny_llama: Path, tmp_path: Path) -> None:
    from logic_claims.harness.cli import main

    source = tmp_path / "src"
    source.mkdir()
    (source / "negative.csv").write_text("generic,exemplar\nOwls hoot.,Baby owls do not hoot.\n")
    (source / "positive.csv").write_text("generic,exemplar\nOwls hoot.,Owls hoot at night.\n")
    built = tmp_path / "built"
    main(["data", "build", "--source", str(source), "--out", str(built), "--ratios", "0", "0", "1"])
    results = run_eval(
        str(tiny_llama),
        tasks=["logic_claims_all"],
        data_dir=built,
        output_dir=tmp_path / "out",
        gen_kwargs={"max_gen_toks": 4},
    )
    (sample,) = read_samples(tmp_path / "out", "logic_claims_all")
    assert sample["doc"]["claim"] == "All owls hoot."
    assert results["results"]["logic_claims_all"]["alias"] == "logic_claims_all"


@pytest.mark.slow
def test_embedded_model_end_to_end_with_chat_template(embedded_model: Path, tmp_path: Path):
    """SmolLM2-135M-Instruct answers two claims per quantifier through its chat template."""
    results = run_eval(
        "smollm2-135m-instruct",
        tasks=["logic_claims"],
        limit=2,
        apply_chat_template=True,
        output_dir=tmp_path,
        gen_kwargs={"max_gen_toks": 24},
    )
    group = results["results"]["logic_claims"]
    assert sum(group[f"{m},none"] for m in ("correct", "tie", "wrong")) == pytest.approx(1.0)
    samples = read_samples(tmp_path, "logic_claims_some")
    # the chat template wrapped the prompt: the model saw the claim inside a user turn
    prompt = samples[0]["arguments"]["gen_args_0"]["arg_0"]
    assert samples[0]["doc"]["claim"] in prompt and "<|im_start|>user" in prompt
    assert all(s["resps"][0][0].strip() for s in samples)  # it did answer
