"""`logic-claims compare`: config checks, statistics, report files, and the results cache."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from logic_claims.harness import compare, evaluate
from logic_claims.harness.cli import main
from logic_claims.harness.compare.config import CONFIGS_DIR
from logic_claims.harness.compare.results import collect, significance
from logic_claims.harness.report.compare import system_results
from logic_claims.tasks.errors import InputError

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed-results"


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("systems:\n  - {name: quantifier-rule}\ncolour: red\n", "unknown key 'colour'", 3),
        ("systems: []\n", "`systems:` must be a non-empty list", 1),
        ("systems:\n  - {name: a, modle: x}\n", "system 'a': unknown key 'modle'", 2),
        ("defaults:\n  modle: x\nsystems:\n  - {name: a}\n", "defaults: unknown key 'modle'", 2),
        (
            "systems:\n  - {name: quantifier-rule}\n  - {name: quantifier-rule}\n",
            "two systems named",
            3,
        ),
        ("baseline: b\nsystems:\n  - {name: quantifier-rule}\n", "baseline 'b' is not", 1),
        ("systems:\n  - {name: x, kind: rule}\n", "unknown rule 'x'", 2),
        ("systems:\n  - {name: a, adapter: /nonexistent}\n", "not a PEFT adapter", 2),
        ("limit: -3\nsystems:\n  - {name: quantifier-rule}\n", "limit must be a positive", 1),
        ("systems:\n  - {name: a\n", "not valid YAML", None),
        (
            "primary_test: t-test\nsystems:\n  - {name: quantifier-rule}\n",
            "primary_test must be one of sign-flip, clustered-mcnemar, got 't-test'",
            1,
        ),
        (
            "systems:\n  - {name: quantifier-rule}\nmcnemar: asymptotic\n",
            "mcnemar must be one of midp, exact",
            3,
        ),
    ],
)
def test_bad_configs_fail_with_file_and_line(
    tmp_path: Path, text: str, message: str, line: int | None
) -> None:
    path = write_config(tmp_path / "bad.yaml", text)
    with pytest.raises(InputError) as info:
        compare.load_config(path)
    assert message in str(info.value) and str(path) in str(info.value)
    if line is not None:
        assert f"{path}:{line}" in str(info.value)


RULE_SYSTEM = "systems:\n  - {name: quantifier-rule}\n"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (f"confidence_level: .nan\n{RULE_SYSTEM}", "confidence_level must be a finite number", 1),
        (f"confidence_level: 1.5\n{RULE_SYSTEM}", "confidence_level must be < 1", 1),
        (f"bootstrap: {{n_resamples: 0}}\n{RULE_SYSTEM}", "bootstrap: n_resamples must be >= 1", 1),
        (f"bootstrap: {{n_resamples: many}}\n{RULE_SYSTEM}", "n_resamples must be an", 1),
        (f"bootstrap: 5\n{RULE_SYSTEM}", "`bootstrap:` must be a mapping", 1),
        (f"seed: -1\n{RULE_SYSTEM}", "seed must be >= 0", 1),
        (f"seed: .inf\n{RULE_SYSTEM}", "seed must be an integer", 1),
        (f"limit: .nan\n{RULE_SYSTEM}", "limit must be a positive", 1),
        (f"limit: .inf\n{RULE_SYSTEM}", "limit must be a positive", 1),
        (f"limit: 2.5\n{RULE_SYSTEM}", "limit must be a positive whole count", 1),
        ("systems:\n  - {name: a, batch_size: 0}\n", "batch size must be an integer", 2),
        ("systems:\n  - {name: a, batch_size: lots}\n", "batch size must be an integer", 2),
        ("systems:\n  - {name: a, apply_chat_template: 'no'}\n", "true or false", 2),
        ("systems:\n  - {name: a, model: [x]}\n", "model must be a string", 2),
        (f"data_dir: [a, b]\n{RULE_SYSTEM}", "data_dir must be a path", 1),
        (f'output: "a\\0b"\n{RULE_SYSTEM}', "output must be a path", 1),
        (f"legacy: 5\n{RULE_SYSTEM}", "`legacy:` must be a list", 1),
        (f"seed: 4294967296\n{RULE_SYSTEM}", "seed must be <= 4294967295", 1),
        (f"bootstrap:\n  n_resample: 5\n{RULE_SYSTEM}", "did you mean n_resamples?", 2),
        (f"bootstrap: {{n_resamples: 1000001}}\n{RULE_SYSTEM}", "n_resamples must be <=", 1),
        ("systems:\n  - name: a\n    batch_size: 0\n", "system 'a': batch size must be", 3),
        ("defaults:\n  model: ''\nsystems:\n  - {name: a}\n", "model may not be empty", 2),
    ],
)
def test_settings_are_typed_finite_and_in_range(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    path = write_config(tmp_path / "bad.yaml", text)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        compare.load_config(path)
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(info.value) and len(str(info.value)) < 250


# Six levels of nine aliases: 9**6 = 531,441 values from a few hundred bytes.
LAUGHS = (
    "{"
    + ", ".join(
        ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        + [f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]" for a, b in zip("abcde", "bcdef", strict=True)]
    )
    + "}"
)


def test_configs_that_expand_are_binary_or_long_are_one_short_line(tmp_path: Path) -> None:
    import gzip

    bomb = write_config(tmp_path / "bomb.yaml", f"x-laughs: {LAUGHS}\nname: *f\n{RULE_SYSTEM}")
    with pytest.raises(InputError, match=r"bomb\.yaml: YAML expands to more than"):
        compare.load_config(bomb)
    for text in (f"? {'k' * 5000}\n: 1\n", f"baseline: {'k' * 5000}\n"):
        long_value = write_config(tmp_path / "long.yaml", text + RULE_SYSTEM)
        with pytest.raises(InputError, match="'kkk") as info:
            compare.load_config(long_value)
        assert len(str(info.value)) < 400
    for name, raw in {
        "config.yaml.gz": gzip.compress(RULE_SYSTEM.encode()),
        "picture.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(40),
    }.items():
        (tmp_path / name).write_bytes(raw)
        with pytest.raises(InputError, match=re.escape(f"{name}: not")) as info:
            compare.load_config(tmp_path / name)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--limit", "nan"), ("--limit", "-3"), ("--limit", "inf"), ("--batch-size", "0")],
)
def test_eval_options_are_checked_before_anything_runs(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from logic_claims.harness.cli import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["eval", option, value])
    assert info.value.code == 2
    assert f"argument {option}: " in capsys.readouterr().err


def test_shipped_configs_parse(built_data: Path) -> None:
    configs = CONFIGS_DIR
    names = {p.name for p in configs.glob("*.yaml")}
    assert {"demo.yaml", "study.yaml"} <= names
    study = compare.load_config(configs / "study.yaml", check_adapters=False)
    backends = {s.backend for s in study.systems if s.kind == "lm_eval"}
    assert "vllm" in backends and "hf-fast" in backends
    demo = compare.load_config(configs / "demo.yaml", check_adapters=False)
    assert {s.kind for s in demo.systems} == {"rule", "lm_eval"}


def test_anchor_keys_are_allowed_at_the_top_level_only(tmp_path: Path, built_data: Path) -> None:
    text = (
        f"data_dir: {built_data}\nx-limit: &n 3\n"
        + "systems:\n  - {name: quantifier-rule, limit: *n}\n"
    )
    config = compare.load_config(write_config(tmp_path / "a.yaml", text))
    assert config.systems[0].limit == 3
    nested = write_config(tmp_path / "b.yaml", "systems:\n  - {name: a, x-n: 3}\n")
    with pytest.raises(InputError, match=r"b\.yaml:2: system 'a': unknown key 'x-n'"):
        compare.load_config(nested)


def test_code_hash_covers_what_shapes_answers_only() -> None:
    from logic_claims.harness.compare.cache import code_files

    names = {name for name, _ in code_files()}
    assert {
        "tasks/logic_claims/utils.py",
        "tasks/logic_claims/_logic_claims.yaml",
        "tasks/logic_claims/logic_claims_all.yaml",
        "tasks/logic_claims/_gen_template_yaml",
        "tasks/prompt.py",
        "tasks/scoring.py",
        "tasks/retrieval.py",
        "tasks/claims.py",
        "tasks/models.py",
        "harness/baselines.py",
        "harness/evaluate.py",
        "harness/fast_lm.py",
    } <= names
    # settings, I/O, errors and sources change no answer: editing them keeps the cache
    assert not names & {
        "tasks/settings.py",
        "tasks/io.py",
        "tasks/errors.py",
        "tasks/sources.py",
        "tasks/logic_claims/_generate_configs.py",
        "tasks/logic_claims/README.md",
    }


# --------------------------------------------------------------------------- statistics


def answers(outcomes: str, start: int = 0) -> dict[str, tuple[str, str]]:
    """'cw.' -> {id: (quantifier, outcome)} with c=correct, w=wrong, .=tie."""
    names = {"c": "correct", "w": "wrong", ".": "tie"}
    return {f"d{start + i}": ("all", names[o]) for i, o in enumerate(outcomes)}


def clustered(outcomes: str, per_generic: int = 4) -> dict[str, Any]:
    """A split's answers (see :func:`answers`) with ``per_generic`` claims per generic."""
    gen = answers(outcomes)
    return {"gen": gen, "generic": {i: f"g{k // per_generic}" for k, i in enumerate(gen)}}


def test_clustered_difference_by_hand(tmp_path: Path) -> None:
    """Five generics of four claims; the baseline gets the first two generics right.

    "worse" gets nothing right: per-generic differences (-4, -4, 0, 0, 0). The sign-flip
    test enumerates the 2^5 sign patterns: |sum| >= 8 in 1/4 of them (both nonzero
    generics flipped alike), so p = 0.5 exactly, while the mid-p McNemar on the 20 claims
    as if independent (b = 0, c = 8) gives 2 * 0.5**8 - 0.5**8 = 1/256. Clustering is the
    difference between "no evidence" and "p < 0.005". Durkalski's statistic:
    (-8)^2 / (16 + 16) = 2, p = P(chi2_1 >= 2) = 0.1573.
    """
    config = compare.Config(
        path=tmp_path / "c.yaml", name="t", systems=[], baseline="base", data_dir=tmp_path,
        output=tmp_path, cache=tmp_path, legacy=[], annotations=None,
    )  # fmt: skip
    collected = {
        "base": {"test": clustered("c" * 8 + "w" * 12)},
        "worse": {"test": clustered("w" * 20)},
        # 3 claims only "mixed" gets right, 3 only the baseline (a tie counts wrong),
        # all six in generic g1: its difference is 0, as every other generic's.
        "mixed": {"test": clustered("cccc" + "..." + "w" + "ccc" + "w" * 9)},
    }
    tests = significance(collected, "base", config)
    by_system = {t.system: t.to_json() for t in tests}
    worse, mixed = by_system["worse"], by_system["mixed"]
    assert (worse["system_only"], worse["baseline_only"], worse["n"]) == (0, 8, 20)
    assert worse["n_generics"] == 5
    assert worse["pvalue"] == pytest.approx(0.5)
    assert worse["difference"] == pytest.approx(-0.4)
    sensitivity = worse["tests"][1]
    assert sensitivity["role"] == "sensitivity"
    assert sensitivity["pvalue"] == pytest.approx(1 / 256)
    assert (mixed["system_only"], mixed["baseline_only"]) == (3, 4)
    assert mixed["pvalue"] == pytest.approx(1.0)
    # Holm over the two primary tests: 2 * 0.5 = 1, and 1 stays 1.
    assert worse["pvalue_holm"] == pytest.approx(1.0)
    assert worse["tests"][0]["pvalue_holm"] == worse["pvalue_holm"]
    # Five generics: too few for a 95% interval (issue 20), the reason instead; two
    # generics differ, so the sign-flip test cannot go below 2 / 2^2 and no MDD is given.
    assert worse["confidence_interval"]["low"] is None
    assert worse["withheld"]["confidence_interval"].startswith("5 generics: too few")
    assert worse["confidence_interval"]["withheld"] == worse["withheld"]["confidence_interval"]
    assert worse["min_attainable_p"] == worse["tests"][0]["min_attainable_p"] == 0.5
    assert worse["min_detectable_difference"] is None and worse["design_effect"] is None
    config.primary_test = "clustered-mcnemar"
    worse = next(t for t in significance(collected, "base", config) if t.system == "worse")
    assert worse.statistic == pytest.approx(2.0)
    assert worse.pvalue == pytest.approx(0.157299, abs=1e-6)


def test_pairs_only_the_claims_both_answered(tmp_path: Path) -> None:
    config = compare.Config(
        path=tmp_path / "c.yaml", name="t", systems=[], baseline="base", data_dir=tmp_path,
        output=tmp_path, cache=tmp_path, legacy=[], annotations=None,
    )  # fmt: skip
    collected = {
        "base": {"test": {"gen": answers("cccc")}},
        "other": {"test": {"gen": answers("ww", start=2) | answers("w", start=9)}},
    }
    (test,) = significance(collected, "base", config)
    assert test.n == 2 and test.baseline_only == 2


def test_plan_says_what_a_difference_needs_before_anything_runs(
    tmp_path: Path, built_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Connor (1987): delta 0.1 at discordance 0.3 needs 233.09 pairs; times a design
    effect of 2 -> 467 claims, in generics of the test split's claims per generic. With
    limit 4 (the first 4 claims of each quantifier: 16) even a difference as large as the
    discordance is out of reach."""
    config = write_config(
        tmp_path / "plan.yaml",
        f"name: plan\ndata_dir: {built_data}\nlimit: 4\nsystems:\n"
        "  - {name: quantifier-rule}\n  - {name: lm, adapter: /not/trained/yet}\n",
    )
    argv = ["compare", "--config", str(config), "--plan", "--detect", "0.1"]
    assert main([*argv, "--design-effect", "2", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["claims_needed"] == 467 and 2 <= plan["claims_per_generic"] <= 4
    assert plan["generics_needed"] == math.ceil(467 / plan["claims_per_generic"])
    assert plan["config_claims_per_split"] == 16 and 4 <= plan["config_generics"] <= 16
    assert plan["config_min_detectable_difference"] is None
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "350 claims per split, about" in text  # design effect 1.5
    assert "This config evaluates 16 test claims of" in text
    assert not (tmp_path / "reports").exists()
    assert main([*argv[:-1], "0.5"]) == 2
    assert "exceeds --discordance 0.3" in capsys.readouterr().err
    assert main([*argv[:-1], "nan"]) == 2


def test_one_system_two_prompts_on_a_split_is_an_error() -> None:
    doc = {"id": "x1", "split": "test", "quantifier": "all"}
    samples = {
        "logic_claims_all": [{"doc": doc, "correct": 1, "tie": 0, "wrong": 0}],
        "logic_claims_yesno_all": [{"doc": doc, "correct": 0, "tie": 1, "wrong": 0}],
    }
    with pytest.raises(InputError, match="answers claim x1 twice"):
        collect("s", samples)


# --------------------------------------------------------------------------- reports


def test_rule_systems_report_with_study_runs(
    tmp_path: Path, built_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "rules.yaml",
        f"""\
name: rules
data_dir: {built_data}
cache: {tmp_path / "cache"}
baseline: quantifier-rule
systems:
  - {{name: quantifier-rule}}
  - {{name: majority-class}}
legacy:
  - {{name: "study PEFT(8)", file: {SEED / "model4.txt"}}}
""",
    )
    out = tmp_path / "report"
    assert main(["compare", "--config", str(config), "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ran"] == []
    report = json.loads((out / "report.json").read_text())
    assert report == json.loads(json.dumps(printed["report"]))
    # The per-system tables read typed rows, and report.json is written from the same rows.
    systems = system_results(report)
    assert {s.name: s.to_json() for s in systems} == report["systems"]
    assert systems[0].splits["test"].gen["overall"].rate("correct") == 1.0
    rule = report["systems"]["quantifier-rule"]["splits"]
    assert rule["test"]["gen"]["overall"]["correct_rate"] == 1.0
    assert rule["contrast"]["gen"]["overall"]["correct_rate"] <= 0.5
    assert rule["contrast"]["mc"]["universal"]["acc"] <= 0.5
    majority = report["systems"]["majority-class"]["splits"]["test"]["gen"]["overall"]
    assert majority["correct_rate"] == 0.5
    # "true" for every claim is right on exactly two of each generic's four claims, so
    # every resample of generics gives 0.5. No point interval: Wilson's at one trial per
    # generic (a rate that does not vary between these generics may between others).
    low, high = majority["correct_ci"]["low"], majority["correct_ci"]["high"]
    assert 0.3 < low < 0.5 < high < 0.7 and low + high == pytest.approx(1.0)
    main_test = next(
        t for t in report["significance"] if t["split"] == "test" and t["metric"] == "correct"
    )
    assert main_test["system"] == "majority-class" and main_test["system_only"] == 0
    # Every generic loses: no sign pattern of 2000 gives a sum as far out as the data,
    # so each tail is 1/2001 (the data counted once) and the two-sided p twice that.
    assert main_test["pvalue"] == pytest.approx(2 / 2001)
    assert main_test["tests"][1]["pvalue"] < 1e-6  # the sensitivity McNemar on claims
    # A generic yields up to four test claims (two when only one kind of exemplar exists).
    assert main_test["n"] / 4 <= main_test["n_generics"] < main_test["n"]
    # Every generic loses exactly half its claims: the clustered estimate cannot vary, so
    # the design effect is undefined (not 0), and so is the MDD (not 0).
    assert main_test["design_effect"] is None and main_test["min_detectable_difference"] is None
    (study,) = report["legacy"]
    assert study["groups"]["universal"]["correct"] == 316
    md = (out / "report.md").read_text()
    assert "| study PEFT(8) | model4.txt | 506 | 316 / 0 / 0 | 190 / 0 / 0 |" in md
    title = "## Paired difference in per-claim correctness, system - baseline (quantifier-rule)"
    assert title in md and "sensitivity: McNemar p" in md
    html = (out / "report.html").read_text()
    assert "<table>" in html and "data:image/png;base64," in html
    assert (out / "chart.png").read_bytes().startswith(b"\x89PNG")


def test_report_replaces_only_a_previous_report_and_never_an_input(
    tmp_path: Path, built_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(
        tmp_path / "rules.yaml",
        f"data_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: 3\n{RULE_SYSTEM}",
    )
    report = tmp_path / "report"
    assert main(["compare", "--config", str(config), "--out", str(report)]) == 0
    assert main(["compare", "--config", str(config), "--out", str(report)]) == 0  # replaced
    capsys.readouterr()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    (report / "todo.txt").write_text("mine too")
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for out, problem in [
        (notes, "not a previous report"),
        (report, "did not write ('todo.txt')"),
        (a_file, "is a file"),
        (tmp_path, "holds the input"),
        (built_data, "one of the inputs"),
    ]:
        assert main(["compare", "--config", str(config), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert problem in err and "\n" not in err, err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_annotations_columns_from_the_annotation_module(tmp_path: Path, built_data: Path) -> None:
    ratings = tmp_path / "ratings.csv"
    rows = ["item_id,system,annotator,factual,justified,quantifier,claim"]
    for i in range(6):
        claim = f"All things {i} are fine."
        rows.append(f"a{i},quantifier-rule,ann1,1,{int(i < 3)},all,{claim}")
        rows.append(f"b{i},majority-class,ann1,{int(i < 2)},0,all,{claim}")
    ratings.write_text("\n".join(rows) + "\n", encoding="utf-8")
    config = write_config(
        tmp_path / "ann.yaml",
        f"""\
data_dir: {built_data}
cache: {tmp_path / "cache"}
limit: 3
annotations: {ratings}
systems:
  - {{name: quantifier-rule}}
  - {{name: majority-class}}
""",
    )
    result = compare.compare(compare.load_config(config, tmp_path / "out"))
    section = result.report["annotations"]
    assert section["status"] == "ok"
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Human judgments: factuality and justification" in md
    assert "| quantifier-rule | 100.0%" in md
    assert "tests between systems" in md


# --------------------------------------------------------------------------- cache


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    import torch
    from peft import PromptTuningConfig, TaskType, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(base),
        PromptTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=2),
    )
    model.save_pretrained(out)
    return out


@pytest.mark.slow
def test_rerun_runs_nothing_and_a_changed_adapter_reruns_only_its_system(
    tmp_path: Path, built_data: Path, tiny_llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = make_adapter(tiny_llama, tmp_path / "adapter-one", seed=1)
    two = make_adapter(tiny_llama, tmp_path / "adapter-two", seed=2)
    config_path = write_config(
        tmp_path / "tiny.yaml",
        f"""\
name: tiny
data_dir: {built_data}
cache: {tmp_path / "cache"}
limit: 2
baseline: quantifier-rule
defaults: {{model: {tiny_llama}, gen_kwargs: {{max_gen_toks: 4}}}}
systems:
  - {{name: quantifier-rule}}
  - {{name: one, adapter: {one}, tasks: [logic_claims, logic_claims_contrast_mc]}}
  - {{name: two, adapter: {two}, tasks: [logic_claims_explain]}}
""",
    )
    calls: list[tuple[str, ...]] = []
    real_run_eval = evaluate.run_eval

    def counting_run_eval(*args: object, **kwargs: object) -> dict:
        calls.append(tuple(kwargs["tasks"]))  # type: ignore[arg-type]
        return real_run_eval(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(evaluate, "run_eval", counting_run_eval)
    out = tmp_path / "report"

    first = compare.compare(compare.load_config(config_path, out))
    assert sorted(calls) == [
        ("logic_claims", "logic_claims_contrast_mc"),
        ("logic_claims_explain",),
    ]
    entries = sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith("."))
    assert len(entries) == 3  # one cache entry per (system, task)
    one_main = first.report["systems"]["one"]["splits"]["test"]["gen"]["overall"]
    assert one_main["n"] == 8  # --limit 2 on each of the 4 quantifiers
    assert first.report["significance"]  # paired with the rule on the same claim ids
    report_files = {p.name: p.read_bytes() for p in out.iterdir()}

    calls.clear()
    second = compare.compare(compare.load_config(config_path, out))
    assert calls == [] and second.ran == []
    assert {p.name: p.read_bytes() for p in out.iterdir()} == report_files

    make_adapter(tiny_llama, two, seed=3)  # retrain adapter two: new content
    calls.clear()
    third = compare.compare(compare.load_config(config_path, out))
    assert calls == [("logic_claims_explain",)]
    assert third.ran == [{"system": "two", "tasks": ["logic_claims_explain"]}]
    after = sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith("."))
    assert len(after) == 4 and set(entries) < set(after)


def test_limited_contrast_that_misses_the_rule_gets_a_note(
    tmp_path: Path, built_data: Path
) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        f"data_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: 2\n"
        "systems:\n  - {name: quantifier-rule}\n  - {name: majority-class}\n"
        "legacy:\n  - {name: gone, file: /nonexistent/model9.txt}\n",
    )
    report = compare.compare(compare.load_config(config, tmp_path / "out")).report
    rule = report["systems"]["quantifier-rule"]["splits"]["contrast"]["gen"]["overall"]
    notes = "\n".join(report["notes"])
    # Whether the first claims of each quantifier catch the rule depends on the split's
    # order; the note must say so exactly when they do not.
    assert ("do not catch the quantifier rule" in notes) == (rule["correct_rate"] > 0.5)
    assert "'gone' was left out: /nonexistent/model9.txt not found" in notes
    assert "## Notes" in (tmp_path / "out" / "report.md").read_text()


def _tiny_mc_config(tmp_path: Path, built_data: Path, tiny_llama: Path) -> Path:
    return write_config(
        tmp_path / "mc.yaml",
        f"""\
data_dir: {built_data}
cache: {tmp_path / "cache"}
limit: 1
systems:
  - {{name: quantifier-rule}}
  - {{name: tiny, model: {tiny_llama}, tasks: [logic_claims_mc]}}
""",
    )


def _entry(tmp_path: Path) -> Path:
    (entry,) = [p for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")]
    return entry


def test_a_hand_edited_cache_entry_is_recomputed_with_a_notice(
    tmp_path: Path, built_data: Path, tiny_llama: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _tiny_mc_config(tmp_path, built_data, tiny_llama)
    out = tmp_path / "report"
    first = compare.compare(compare.load_config(config, out))
    accuracy = first.report["systems"]["tiny"]["splits"]["test"]["mc"]["overall"]
    entry = _entry(tmp_path)
    recorded = json.loads((entry / "entry.json").read_text())
    assert set(recorded["files"]) == {f"samples/{t}.jsonl" for t in recorded["subtasks"]}
    capsys.readouterr()

    for samples in (entry / "samples").glob("*.jsonl"):  # every answer made right
        rows = [json.loads(line) for line in samples.read_text().splitlines()]
        samples.write_text("".join(json.dumps({**r, "acc": 1.0}) + "\n" for r in rows))
    again = compare.compare(compare.load_config(config, out))
    assert again.ran == [{"system": "tiny", "tasks": ["logic_claims_mc"]}]
    assert "differ from the recorded digest; recomputing" in capsys.readouterr().err
    assert again.report["systems"]["tiny"]["splits"]["test"]["mc"]["overall"] == accuracy

    third = compare.compare(compare.load_config(config, out))  # the rewritten entry is good
    assert third.ran == []


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{broken", "unreadable entry.json"),
        ('{"subtasks": 5}', "subtasks is not a list"),
        ('{"subtasks": ["../../etc/passwd_x"]}', "is not a plain task name"),
        ('{"subtasks": ["logic_claims_mc_all"], "key": {}}', "key material is not this"),
        ("[]", "not a JSON object"),
    ],
)
def test_a_corrupt_cache_entry_is_a_miss_not_a_traceback(
    tmp_path: Path,
    built_data: Path,
    tiny_llama: Path,
    content: str,
    why: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = compare.load_config(_tiny_mc_config(tmp_path, built_data, tiny_llama), tmp_path / "o")
    (job,) = compare.runner.plan(config)
    entry = config.cache / job.keys["logic_claims_mc"]
    (entry / "samples").mkdir(parents=True)
    (entry / "entry.json").write_text(content)
    capsys.readouterr()
    (job,) = compare.runner.plan(config)
    assert job.missing == ["logic_claims_mc"]
    err = capsys.readouterr().err.strip()
    assert why in err and err.endswith("recomputing") and len(err.splitlines()) == 1


def test_report_md_escapes_html_and_markdown_in_table_cells(
    tmp_path: Path, built_data: Path
) -> None:
    config = write_config(
        tmp_path / "c.yaml",
        f"data_dir: {built_data}\ncache: {tmp_path / 'cache'}\nlimit: 2\nsystems:\n"
        "  - {name: quantifier-rule}\n"
        "  - {name: '<script>alert(1)</script>|*x*', rule: majority-class}\n",
    )
    compare.compare(compare.load_config(config, tmp_path / "out"))
    md = (tmp_path / "out" / "report.md").read_text()
    assert "<script>" not in md
    assert "| &lt;script&gt;alert(1)&lt;/script&gt;\\|\\*x\\* |" in md


def test_md_table_cells_render_as_text_and_numbers_stay_readable() -> None:
    """A CommonMark renderer shows a hostile cell as its text (no tag, no link), and an
    interval's brackets are left as written in the raw Markdown."""
    from markdown_it import MarkdownIt

    from logic_claims.harness.report.render import md_table

    hostile = "<b>x</b> [click](http://e) ![i](u) a|b *y*"
    md = md_table([[hostile, "50.0% [47.9, 52.2]"]], ["system", "accuracy"])
    assert "| 50.0% [47.9, 52.2] |" in md
    html = MarkdownIt("commonmark").enable("table").render(md)
    assert "<a " not in html and "<img" not in html and "<b>" not in html
    assert "[click](http://e)" in html and "a|b *y*" in html.replace("&lt;", "<")
