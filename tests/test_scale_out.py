"""Two real processes under `accelerate launch` (DDP over gloo, DeepSpeed ZeRO-3 on the CPU)
against one: training (2 x batch b = 1 x batch 2b), kill -9 of a rank, resume, evaluation
(the same per-sample results, written once), the launch refusals and notices, and the
memory plan against DeepSpeed's own estimators.

Models are the shared tiny random llama (tests/conftest.py); each launched process runs one
thread. The heavier matrix (ZeRO-2, both methods on every backend, the embedded model) is
benchmarks/scale_out.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from logic_claims.harness import scale_out as so

REPO = Path(__file__).resolve().parents[1]
PLAN_CLI = [sys.executable, "-m", "logic_claims.harness.cli", "train", "--config", "lora"]
BATCH = 2  # per process; the one-process reference takes 2 * BATCH


def overrides(tiny: Path, data: Path, batch: int, **extra: Any) -> dict[str, Any]:
    """A run of a few seconds whose steps all have full batches (96 examples, 12 steps)."""
    return {
        "base_model": str(tiny),
        "data_dir": str(data),
        "max_train_examples": 96,
        "max_val_examples": 8,
        "batch_size": batch,
        "max_steps": 12,
        "logging_steps": 1,
        "eval_steps": 6,
        "save_steps": 4,
        **extra,
    }


def launch_train(backend: str, method: str, ov: dict[str, Any], out: Path, *extra: str):
    command = [*so.train_command(backend, 2, so.free_port(), method, ov, out), *extra]
    return subprocess.run(command, capture_output=True, text=True, env=so.one_thread_env())


@pytest.fixture(scope="module")
def references(tiny_llama: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """One process, batch 2 * BATCH, in this process: the runs two processes must equal."""
    from logic_claims.adapters.train import train

    root = tmp_path_factory.mktemp("one-process")
    return {
        method: train(
            method,
            overrides(tiny_llama, built_data, 2 * BATCH),
            root / method,
            progress=False,
        )
        for method in ("lora", "prompt_tuning")
    }


@pytest.fixture(scope="module")
def accumulated(tiny_llama: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """One process accumulating two batches of BATCH a step: the same arithmetic as two."""
    from logic_claims.adapters.train import train

    root = tmp_path_factory.mktemp("one-process-accumulating")
    ov = overrides(tiny_llama, built_data, BATCH, gradient_accumulation_steps=2)
    return {m: train(m, ov, root / m, progress=False) for m in ("lora", "prompt_tuning")}


@pytest.fixture(scope="module")
def ddp_runs(tiny_llama: Path, built_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two DDP processes of batch BATCH for each method (stderr kept for the asserts)."""
    root = tmp_path_factory.mktemp("two-processes")
    runs = {}
    for method in ("lora", "prompt_tuning"):
        proc = launch_train("ddp", method, overrides(tiny_llama, built_data, BATCH), root / method)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[method] = root / method
    return runs


# --------------------------------------------------------------------------- training


@pytest.mark.slow
def test_two_ddp_processes_take_the_steps_of_one_with_twice_the_batch(
    references: dict[str, Path], ddp_runs: dict[str, Path]
) -> None:
    for method, run in ddp_runs.items():
        report = so.compare_training(references[method], run)
        assert report["equal"], (method, report)
        backend = json.loads((run / "train_config.json").read_text())["backend"]
        assert (backend["name"], backend["num_processes"]) == ("plain-accelerate", 2)
        assert backend["launch_notice"] is None
        # written once: one adapter, nothing left aside
        assert sorted(p.name for p in run.glob("adapter*")) == [
            "adapter_config.json",
            "adapter_model.safetensors",
        ]
        assert not list(run.glob(".*tmp"))
        steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
        assert steps == list(range(1, 13))  # one line a step: one process wrote them


@pytest.mark.slow
def test_two_ddp_processes_take_the_steps_of_one_accumulating_two_batches_to_the_bit(
    accumulated: dict[str, Path], ddp_runs: dict[str, Path]
) -> None:
    """The same micro-batches, summed in the same order: no rounding between the two."""
    import torch
    from safetensors.torch import load_file

    for method, run in ddp_runs.items():
        assert so._losses(run) == so._losses(accumulated[method]), method
        a = load_file(accumulated[method] / "adapter_model.safetensors")
        b = load_file(run / "adapter_model.safetensors")
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), method
        steps = json.loads((accumulated[method] / "train_config.json").read_text())["total_steps"]
        assert steps == 12  # a step is two batches: 96 examples, 12 steps, as two processes


@pytest.mark.slow
def test_deepspeed_accumulates_as_the_training_config_says_and_refuses_another_launch_value(
    tiny_llama: Path, built_data: Path, accumulated: dict[str, Path], tmp_path: Path
) -> None:
    """ZeRO-2, one process accumulating two batches: DeepSpeed's own accumulation takes the
    step of Accelerate's. A launch config asking for other accumulation: one line, exit 2."""
    ov = overrides(tiny_llama, built_data, BATCH, gradient_accumulation_steps=2)
    out = tmp_path / "zero2"
    command = so.train_command("zero2", 1, so.free_port(), "lora", ov, out)
    proc = subprocess.run(command, capture_output=True, text=True, env=so.one_thread_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = so.compare_training(accumulated["lora"], out)
    assert report["equal"], report
    at = command.index("--gradient_accumulation_steps")
    command[at + 1] = "4"
    other = tmp_path / "refused"
    proc = subprocess.run([*command[:-3], "--output-dir", str(other), "--no-progress"],
                          capture_output=True, text=True, env=so.one_thread_env())  # fmt: skip
    assert proc.returncode != 0  # the trainer exits 2; the launcher says 1 after its report
    lines = [x for x in proc.stderr.splitlines() if x.startswith("logic-claims train: error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "DeepSpeed gradient_accumulation_steps is 4, the training config's 2" in lines[0]
    assert "exitcode  : 2" in proc.stderr
    assert not other.exists()


def test_a_step_takes_the_same_examples_however_it_is_split(
    tiny_llama: Path, built_data: Path
) -> None:
    from logic_claims.adapters.batches import load_data
    from logic_claims.adapters.config import load_config
    from logic_claims.tasks.errors import InputError

    def indices(world: int, batch: int, accumulate: int, step: int) -> list[list[int]]:
        """Every process's micro-batches at ``step``, rank by rank."""
        cfg = load_config("lora", {"max_train_examples": 24, "batch_size": batch,
                                   "gradient_accumulation_steps": accumulate})  # fmt: skip
        return [
            micro
            for rank in range(world)
            for micro in load_data(cfg, str(tiny_llama), built_data, world, rank).step_indices(step)
        ]

    for step in (0, 2):
        two_processes = indices(2, 2, 1, step)
        assert len(two_processes) == 2 and all(len(m) == 2 for m in two_processes)
        assert indices(1, 2, 2, step) == two_processes  # the same micro-batches, in order
        assert [two_processes[0] + two_processes[1]] == indices(1, 4, 1, step)  # one of four
        assert indices(2, 1, 2, step) == indices(1, 1, 4, step)
    cfg = load_config("lora", {"max_train_examples": 24, "batch_size": 4,
                               "gradient_accumulation_steps": 4})  # fmt: skip
    with pytest.raises(InputError, match=r"for 2 processes x 4 gradient accumulation steps"):
        load_data(cfg, str(tiny_llama), built_data, world=2, rank=0)  # 6 batches, 8 a step


@pytest.mark.slow
def test_two_machines_of_one_process_each_train_as_two_processes_on_one(
    tiny_llama: Path, built_data: Path, ddp_runs: dict[str, Path], tmp_path: Path
) -> None:
    """Two launchers on this host as machines 0 and 1 (``--num_machines 2 --machine_rank R
    --main_process_ip``, the multi-node rendezvous over TCP): the adapter of two processes
    on one machine, to the bit, written once, and neither says it was left alone."""
    import torch
    from safetensors.torch import load_file

    out, port = tmp_path / "two-machines", so.free_port()
    ov, launchers = overrides(tiny_llama, built_data, BATCH), []
    for rank in (0, 1):
        command = so.train_command("ddp", 2, port, "lora", ov, out)
        at = command.index("--num_machines")
        command[at : at + 2] = ["--num_machines", "2", "--machine_rank", str(rank),
                                "--main_process_ip", "127.0.0.1"]  # fmt: skip
        launchers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, text=True,
                                          env=so.one_thread_env()))  # fmt: skip
    errors = [p.communicate(timeout=600)[1] for p in launchers]
    assert [p.returncode for p in launchers] == [0, 0], [e[-2000:] for e in errors]
    assert not any("notice: accelerate launch asked" in e for e in errors)
    backend = json.loads((out / "train_config.json").read_text())["backend"]
    assert backend["num_processes"] == 2 and backend["launch_notice"] is None
    a = load_file(ddp_runs["lora"] / "adapter_model.safetensors")
    b = load_file(out / "adapter_model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 12  # one writer


@pytest.mark.slow
def test_study_zero3_config_with_two_processes_equals_one_and_lm_eval_loads_it(
    tiny_llama: Path, built_data: Path, references: dict[str, Path], tmp_path: Path
) -> None:
    """ds_zero3_cpu.yaml unchanged with --num_processes 2 (DeepSpeed refused the batch sizes
    before: `train_batch_size ... 2 != 2 * 1 * 2`), every parameter partitioned."""
    from logic_claims.harness.evaluate import run_eval

    out = tmp_path / "z3"
    ov = overrides(tiny_llama, built_data, BATCH, ds_param_persistence_threshold=0)
    proc = launch_train("zero3", "lora", ov, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    backend = json.loads((out / "train_config.json").read_text())["backend"]
    assert (backend["name"], backend["zero_stage"], backend["num_processes"]) == (
        "deepspeed",
        3,
        2,
    )
    report = so.compare_training(references["lora"], out)
    assert report["equal"], report
    results = run_eval(str(tiny_llama), peft=out, tasks=["logic_claims_mc_all"], limit=2)
    assert 0.0 <= results["results"]["logic_claims_mc_all"]["acc,none"] <= 1.0


def _rank_pid(launcher: int, rank: str) -> int | None:
    """The pid of the launched process of ``rank`` among ``launcher``'s descendants."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, launcher):
            ancestor = parents.get(ancestor)
        if ancestor != launcher:
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env and b"LOCAL_RANK=" + rank.encode() in env:
            return pid
    return None


@pytest.mark.slow
def test_kill_9_of_one_rank_stops_the_other_and_resume_needs_the_same_world(
    tiny_llama: Path,
    built_data: Path,
    ddp_runs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import torch
    from safetensors.torch import load_file

    from logic_claims.adapters.train import main

    out = tmp_path / "killed"
    ov = overrides(tiny_llama, built_data, BATCH)
    command = so.train_command("ddp", 2, so.free_port(), "lora", ov, out)
    proc = subprocess.Popen(
        command, env=so.one_thread_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while not (out / "checkpoints" / "step-0000004" / "trainer_state.json").is_file():
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    victim = _rank_pid(proc.pid, "1")
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    proc.wait(timeout=60)  # no hang: the other rank and the launcher stop
    assert time.monotonic() - killed_at < 60 and proc.returncode != 0
    assert not (out / "adapter_config.json").exists()
    state = json.loads((out / "checkpoints" / "step-0000004" / "trainer_state.json").read_text())
    assert (state["step"], state["world_size"]) == (4, 2)

    # another world size: one line, exit 2, the checkpoint untouched
    args = ["--config", "lora", "--output-dir", str(out), "--no-progress", "--resume"]
    args += [a for k, v in ov.items() for a in ("--set", f"{k}={v}")]
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "written by 2 process(es), this run has 1" in err and "\n" not in err, err
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before

    # the same world size: bit for bit the uninterrupted two-process run
    resumed = subprocess.run(
        [*so.train_command("ddp", 2, so.free_port(), "lora", ov, out), "--resume"],
        capture_output=True,
        text=True,
        env=so.one_thread_env(),
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = load_file(ddp_runs["lora"] / "adapter_model.safetensors")
    b = load_file(out / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_more_processes_than_batches_is_refused_before_anything_is_written(
    tiny_llama: Path, built_data: Path
) -> None:
    from logic_claims.adapters.batches import load_data
    from logic_claims.adapters.config import load_config
    from logic_claims.tasks.errors import InputError

    cfg = load_config("lora", {"max_train_examples": 4, "batch_size": 4})
    with pytest.raises(InputError, match=r"too few training examples \(4\) for 2 processes"):
        load_data(cfg, str(tiny_llama), built_data, world=2, rank=0)
    assert load_data(cfg, str(tiny_llama), built_data, world=1, rank=0).total_steps == 1


# --------------------------------------------------------------------------- evaluation


def launch_eval(processes: int, args: list[str], *launcher: str):
    command = so.eval_command(processes, so.free_port(), args)
    if launcher:  # replace the DDP options (the launch commands that start one process)
        command = [*command[:3], *launcher, *command[command.index("-m", 3) :]]
    return subprocess.run(command, capture_output=True, text=True, env=so.one_thread_env())


@pytest.mark.slow
def test_two_processes_evaluate_like_one_and_write_once(tiny_llama: Path, tmp_path: Path) -> None:
    from logic_claims.harness.evaluate import run_eval

    tasks = "logic_claims_mc_all,logic_claims_all"
    run_eval(
        str(tiny_llama),
        tasks=tasks.split(","),
        limit=3,  # odd: the two shares differ in size (lm-eval pads the shorter)
        output_dir=tmp_path / "one",
        gen_kwargs={"max_gen_toks": 4},
    )
    args = ["--model", str(tiny_llama), "--tasks", tasks, "--limit", "3"]
    args += ["--gen-kwargs", "max_gen_toks=4", "--output", str(tmp_path / "two")]
    proc = launch_eval(2, args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("|logic_claims_mc_all|") == 1  # one table, from rank 0
    assert len(list((tmp_path / "two").rglob("results_*.json"))) == 1
    two = so.read_samples(tmp_path / "two")
    assert {task: len(s) for task, s in two.items()} == {
        "logic_claims_mc_all": 3,
        "logic_claims_all": 3,
    }
    report = so.compare_samples(so.read_samples(tmp_path / "one"), two)
    assert report["mc_identical"] and report["generation_agreement"] == 1.0, report


@pytest.mark.slow
def test_limit_below_the_world_size_and_a_launch_that_starts_one_process(
    tiny_llama: Path, tmp_path: Path
) -> None:
    args = ["--model", str(tiny_llama), "--tasks", "logic_claims_mc_all", "--limit", "1"]
    proc = launch_eval(2, [*args, "--output", str(tmp_path / "two")])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--limit 1 is below the 2 processes: process 0 evaluates alone" in proc.stderr
    assert [len(s) for s in so.read_samples(tmp_path / "two").values()] == [1]

    # `--cpu --num_processes 2` runs one process: it says so
    cpu = ("--cpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no")
    proc = launch_eval(2, args, *cpu)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "asked for 2 processes but started this one alone (--cpu" in proc.stderr


def cached_samples(config: Any) -> dict[str, list[dict[str, Any]]]:
    """Every cached subtask's samples of a compare config, as lm-eval wrote them."""
    from logic_claims.harness.compare.runner import load_job_samples, plan

    return {k: v for job in plan(config) for k, v in load_job_samples(job, config).items()}


@pytest.mark.slow
def test_compare_under_two_processes_writes_the_report_of_one_once(
    tiny_llama: Path, built_data: Path, tmp_path: Path
) -> None:
    from logic_claims.harness import compare

    path = tmp_path / "tiny.yaml"
    path.write_text(
        f"name: tiny\ndata_dir: {built_data}\nlimit: 3\nbaseline: quantifier-rule\n"
        f"defaults: {{model: {tiny_llama}, gen_kwargs: {{max_gen_toks: 4}}}}\nsystems:\n"
        "  - {name: quantifier-rule}\n  - {name: tiny, tasks: [logic_claims_mc, logic_claims]}\n"
    )
    one = compare.load_config(path, tmp_path / "one")
    one.cache = tmp_path / "cache-one"
    compare.compare(one)
    command = [*so.launch_prefix("ddp", 2, so.free_port()), "-m", "logic_claims.harness.cli"]
    command += ["compare", "--config", str(path), "--out", str(tmp_path / "two")]
    command += ["--cache", str(tmp_path / "cache-two")]
    proc = subprocess.run(command, capture_output=True, text=True, env=so.one_thread_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    # one process said, cached and wrote; the report is one process's, byte for byte
    assert proc.stderr.count("compare: running tiny") == 1 and proc.stdout.count("wrote ") == 1
    report = (tmp_path / "two" / "report.json").read_bytes()
    assert report == (tmp_path / "one" / "report.json").read_bytes()
    two = compare.load_config(path, tmp_path / "two")
    two.cache = tmp_path / "cache-two"
    assert sorted(p.name for p in two.cache.iterdir()) == sorted(
        p.name for p in one.cache.iterdir()
    )  # one entry per (system, task), nothing left aside
    samples = cached_samples(two)
    assert [len(s) for s in samples.values()] == [3] * 8  # 2 tasks x 4 quantifiers
    result = so.compare_samples(cached_samples(one), samples)
    assert result["mc_identical"] and result["generation_agreement"] == 1.0, result


def test_hf_backend_on_several_cpu_processes_is_refused_in_one_line(tiny_llama: Path) -> None:
    """The refusal comes before any model or process group: the launcher's variables suffice."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("hf splits the work across GPUs itself")
    env = {**so.one_thread_env(), "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0"}
    args = ["eval", "--backend", "hf", "--model", str(tiny_llama), "--limit", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "logic_claims.harness.cli", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "--backend hf under 2 processes" in lines[0], proc.stderr


def lm_eval_args(tiny: Path, limit: str, out: Path) -> list[str]:
    """``logic-claims lm-eval`` arguments: hf-fast on the tiny model, the MC task."""
    from logic_claims.tasks import TASKS_DIR

    args = ["--model", "hf-fast", "--model_args", f"pretrained={tiny}"]
    args += ["--include_path", str(TASKS_DIR), "--tasks", "logic_claims_mc_all", "-L", limit]
    return [*args, "--output_path", str(out), "--log_samples"]


def test_lm_eval_cli_runs_with_hf_fast_registered(tiny_llama: Path, tmp_path: Path) -> None:
    args = lm_eval_args(tiny_llama, "2", tmp_path / "out")
    proc = subprocess.run(
        [sys.executable, "-m", "logic_claims.harness.cli", "lm-eval", *args],
        capture_output=True,
        text=True,
        env=so.one_thread_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "logic_claims_mc_all" in proc.stdout
    assert [len(s) for s in so.read_samples(tmp_path / "out").values()] == [2]


@pytest.mark.slow
def test_lm_eval_cli_with_a_limit_below_the_world_size(tiny_llama: Path, tmp_path: Path) -> None:
    """lm-eval failed on the process without a document (`build_requests() did not find any
    docs!`); now process 0 evaluates alone, as `logic-claims eval` does."""
    command = [*so.launch_prefix("ddp", 2, so.free_port()), "-m", "logic_claims.harness.cli"]
    command += ["lm-eval", *lm_eval_args(tiny_llama, "1", tmp_path / "out")]
    proc = subprocess.run(command, capture_output=True, text=True, env=so.one_thread_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "--limit 1 is below the 2 processes: process 0 evaluates alone" in proc.stderr
    assert proc.stdout.count("|logic_claims_mc_all|") == 1
    assert len(list((tmp_path / "out").rglob("results_*.json"))) == 1
    assert [len(s) for s in so.read_samples(tmp_path / "out").values()] == [1]


# --------------------------------------------------------------------------- --plan


def test_plan_model_states_are_deepspeeds_estimates_when_every_parameter_trains() -> None:
    from deepspeed.runtime.zero.stage3 import estimate_zero3_model_states_mem_needs
    from deepspeed.runtime.zero.stage_1_and_2 import estimate_zero2_model_states_mem_needs

    from logic_claims.adapters.plan import model_states

    for total, largest in [(6_738_415_616, 131_072_000), (134_515_008, 28_311_552)]:
        for gpus, nodes in [(1, 1), (2, 1), (8, 1), (8, 4)]:
            for offload in (False, True):
                cpu, gpu = estimate_zero2_model_states_mem_needs(total, gpus, nodes, offload)
                mine = model_states(
                    total, total, largest, 2, "optimizer" if offload else "none", gpus, nodes
                )
                assert mine == (gpu, cpu), (total, gpus, nodes, offload)
            one_gpu = estimate_zero2_model_states_mem_needs(total, 1, 1, False)
            assert model_states(total, total, largest, 0, "none", gpus, nodes)[0] == one_gpu[1]
            for offload, params, name in [
                (False, False, "none"),
                (True, False, "optimizer"),
                (True, True, "optimizer+params"),
            ]:
                cpu, gpu, _ = estimate_zero3_model_states_mem_needs(
                    total, largest, gpus, nodes, offload, params, zero_init=True
                )
                mine = model_states(total, total, largest, 3, name, gpus, nodes)
                assert mine == (gpu, cpu), (total, gpus, nodes, name)


def test_plan_counts_the_study_shapes_without_weights_and_refuses_an_unknown_model(
    tmp_path: Path,
) -> None:
    from logic_claims.adapters.config import load_config
    from logic_claims.adapters.plan import plan

    result = plan(load_config("peft8", {"base_model": "meta-llama/Llama-2-7b-chat-hf"}), 8, 2)
    counts = result["parameters"]
    # Llama-2-7B: 6,738,415,616 parameters; 8 virtual tokens x 4096 trained
    assert (counts["total"], counts["trainable"]) == (6_738_415_616 + 8 * 4096, 8 * 4096)
    assert counts["largest_layer"] == 32000 * 4096  # the embedding (or the head)
    rows = {(r["zero_stage"], r["offload"]): r for r in result["rows"]}
    # ZeRO-3 on 16 GPUs: the largest module gathered, the frozen 16-bit weights and the
    # prompt's 18 bytes a parameter shared by all; ZeRO-2 keeps every weight on each GPU
    assert rows[(3, "none")]["model_states_per_gpu_bytes"] == 4 * 32000 * 4096 + int(
        (2 * 6_738_415_616 + 18 * 8 * 4096) / 16
    )
    assert rows[(2, "none")]["model_states_per_gpu_bytes"] == 2 * counts["total"] + int(
        18 * 8 * 4096 / 16
    )
    proc = subprocess.run(
        [*PLAN_CLI, "--set", f"base_model={tmp_path}", "--plan"],
        capture_output=True,
        text=True,
        env=so.one_thread_env(),
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--plan: no config.json" in proc.stderr
