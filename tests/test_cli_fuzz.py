"""Fuzz the command line: every subcommand that reads a user's file or number, fed
hostile files and arguments (empty, binary, huge, deep, wrong types, surrogates, nested
YAML aliases, non-finite numbers).

The assertion for every example: exit code 0 or 2, at most one line on stderr, no
traceback, every input file unchanged, and a store that a refused command was pointed
at is unchanged too. Commands run in-process through the real entry point
(``logic_claims.harness.cli.main``); nothing here loads a model (``train`` gets a base
model that does not exist, ``compare`` runs with ``--dry-run``, ``eval``, ``ask`` and
``annotate judge`` get a folder that is not a model, checked before any loads;
``interpret`` gets an adapter config without weights).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
import sqlite3
import traceback
from pathlib import Path

import pytest
from annotation_helpers import ANSWERS_A, dump, new_store, write_samples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logic_claims.harness import cli as harness_cli

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)
LOOKS_LIKE_A_RATING = {
    "item_id": "x",
    "system": "A",
    "annotator": "ann",
    "dimension": "factual",
    "value": "1",
    "time": "2024-01-01T00:00:00",
}

# JSON values of every type, for fields that expect one type.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


@st.composite
def wrong_typed_records(draw: st.DrawFn) -> bytes:
    """JSON lines shaped like ratings, samples or Label Studio tasks, one field wrong."""
    base = draw(
        st.sampled_from(
            [
                LOOKS_LIKE_A_RATING,
                {"doc_id": 0, "doc": {"claim": "All birds fly."}, "resps": [["True"]]},
                {"id": 1, "data": {"item_id": "x"}, "annotations": [{"result": []}]},
            ]
        )
    )
    record = dict(base)
    key = draw(st.sampled_from([*record, "time", "value", "result"]))
    record[key] = draw(json_values)
    text = json.dumps(record, ensure_ascii=draw(st.booleans()), allow_nan=True)
    as_list = draw(st.booleans())
    return (f"[{text}]" if as_list else text + "\n").encode("utf-8")


def _surrogate_text(text: str) -> bytes:
    return json.dumps({**LOOKS_LIKE_A_RATING, "item_id": text}).encode()


HOSTILE_FILES = st.one_of(
    st.just(b""),
    st.just(b"\n\n  \n"),
    st.binary(max_size=300),
    st.just(b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
    st.just(b"\x00" * 64),
    st.just(b"[" * 30_000),
    st.just(b"{" * 30_000),
    st.just(b"- " * 5_000 + b"x"),
    st.just(("9" * 5_000).encode()),
    st.just(b"x" * 300_000),
    st.just(BILLION_LAUGHS.encode()),
    st.just(b"\xef\xbb\xbf"),
    st.just(b'a,b\n"unterminated\n'),
    st.just(b"item_id,system,annotator,factual\n" + b"x,A,ann,1\r" * 3),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(["\\ud800", "\\udfff", "a\\ud83d"]).map(_surrogate_text),
    wrong_typed_records(),
)

HOSTILE_NUMBERS = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", ".inf", "1e400", "-1", "0", "", " ", "x"]),
    st.sampled_from(["99999999999999999999999", "3.5", "0x10", "1_0", "٣", "\U0001d7e3"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small annotation store (eight items, three raters) that examples copy."""
    folder = tmp_path_factory.mktemp("fuzz-store")
    return new_store(folder, {"A": ANSWERS_A})


def _copy_store(template: Path, target: Path) -> Path:
    """Copy through SQLite's backup API: the store file is never opened outside SQLite."""
    source = sqlite3.connect(template)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return target


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """The real entry point in-process; an exception escaping ``main`` fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = harness_cli.main(argv)
        except SystemExit as exc:  # argparse refusing an argument
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            pytest.fail(f"{argv!r} raised:\n{traceback.format_exc()}")
    return code, out.getvalue(), err.getvalue()


def check_refusal(argv: list[str], code: int, err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code in (0, 2), f"{argv!r}: exit {code}\n{err[-2000:]}"
    assert "Traceback" not in err, f"{argv!r}:\n{err[-2000:]}"
    assert len(lines) <= 1, f"{argv!r}: {len(lines)} lines on stderr:\n{err[-2000:]}"
    if code == 2:
        assert lines and "error" in lines[0], f"{argv!r}: exit 2 without an error line"


# Reproducible runs: fixed examples, no saved failures, the per-example fixtures reused.
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Each case: argv with {file} (the hostile file), {work} (a fresh folder) and {store}.
CASES = {
    "legacy accuracy": "legacy accuracy {file}",
    "annotate new": "annotate new --samples {file} --per-item 1 --annotators a,b"
    " --store {work}/new.sqlite",
    "annotate status": "annotate status --store {file}",
    "annotate import csv": "annotate import --store {store} {file}",
    "annotate import jsonl": "annotate import --store {store} --format jsonl {file}",
    "annotate import labelstudio": "annotate import --store {store} --format labelstudio {file}",
    "annotate import-legacy": "annotate import-legacy --system x --annotator a --store {store}"
    " {file}",
    "annotate scores": "annotate scores {file}",
    "annotate agreement": "annotate agreement --json {file}",
    "annotate compare": "annotate compare --systems A,B {file}",
    "annotate calibrate": "annotate calibrate --judge a --n-boot 10 {file}",
    "train": "train --config {file} --set base_model={work}/no-such-model"
    " --output-dir {work}/adapter --no-progress",
    "compare": "compare --config {file} --out {work}/report --dry-run",
    "data build": "data build --source {folder} --out {work}/built",
    "annotate judge": "annotate judge --store {file} --model {work}/model --limit 1",
    "annotate calibrate store": "annotate calibrate --judge a --n-boot 10 {file}",
    "eval --data-dir": "eval --data-dir {folder} --model {work}/not-a-model"
    " --tasks logic_claims_mc",
    "view": "view {folder} --out {work}/page.html",
    "ask --claims csv": "ask --claims {file} --model {work}/not-a-model --out {work}/a.jsonl",
    "ask --claims jsonl": "ask --claims {file} --model {work}/not-a-model --out {work}/a.jsonl",
    "ask --claims text": "ask --claims {file} --model {work}/not-a-model --out {work}/a.jsonl",
    "interpret": "interpret {folder}",
}


def argv_of(template: str, **paths: object) -> list[str]:
    """Split the template at spaces first, so a value with spaces stays one argument."""
    return [part.format(**paths) for part in template.split(" ")]


# The name the hostile file gets (commands that read RATINGS go by the suffix).
SUFFIXES = {
    "compare": ".yaml",
    "train": ".yaml",
    "annotate status": ".sqlite",
    "annotate import csv": ".csv",
    "annotate scores": ".csv",
    "annotate agreement": ".csv",
    "annotate calibrate": ".csv",
    "annotate judge": ".sqlite",
    "annotate calibrate store": ".sqlite",
    "ask --claims csv": ".csv",
    "ask --claims text": ".txt",
}


def _place(content: bytes, folder: Path, case: str) -> Path:
    """Write the hostile content where the case reads it (data build reads two CSVs)."""
    inputs = folder / "inputs"
    inputs.mkdir()
    if case == "data build":
        (inputs / "negative.csv").write_bytes(content)
        (inputs / "positive.csv").write_bytes(content)
        return inputs / "negative.csv"
    if case == "eval --data-dir":  # a built dataset whose test split is the hostile file
        (inputs / "manifest.json").write_text("{}\n")
        (inputs / "test.jsonl").write_bytes(content)
        return inputs / "test.jsonl"
    if case == "view":  # read as an lm-eval --log_samples file
        path = inputs / "samples_logic_claims_all_2026-01-01T00-00-00.000000.jsonl"
        path.write_bytes(content)
        return path
    if case == "interpret":  # an adapter directory whose config is the hostile file
        (inputs / "adapter_config.json").write_bytes(content)
        return inputs / "adapter_config.json"
    if case == "annotate judge":  # what a model directory holds, to reach the store's checks
        (folder / "model").mkdir()
        (folder / "model" / "config.json").write_text('{"model_type": "llama"}\n')
        (folder / "model" / "model.safetensors").write_bytes(b"")
    path = inputs / f"hostile{SUFFIXES.get(case, '.jsonl')}"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
@settings(FUZZ, max_examples=25)
@given(content=HOSTILE_FILES)
def test_hostile_files_are_refused_in_one_line(
    case: str, content: bytes, store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("fuzz")
    hostile = _place(content, work, case)
    store = _copy_store(store_template, work / "store.sqlite")
    inputs_before = _digests(hostile.parent)
    store_before = dump(store)
    argv = argv_of(CASES[case], file=hostile, work=work, store=store, folder=hostile.parent)
    code, _, err = run_cli(argv)
    check_refusal(argv, code, err)
    assert _digests(hostile.parent) == inputs_before, f"{argv!r} changed its input"
    if code != 0:
        assert dump(store) == store_before, f"{argv!r} refused but changed the store"
    shutil.rmtree(work, ignore_errors=True)


# Each case: argv with {n} (the hostile number), {work}, {store} and {source}.
NUMBER_CASES = {
    "data build --seed": "data build --source {source} --out {work}/b --seed {n}",
    "data build --ratios": "data build --source {source} --out {work}/b --ratios {n} 1 1",
    "annotate new --per-item": "annotate new --samples {source}/samples.jsonl --per-item {n}"
    " --annotators a,b --store {work}/n.sqlite",
    "annotate new --limit": "annotate new --samples {source}/samples.jsonl --per-item 1"
    " --annotators a,b --store {work}/n.sqlite --limit {n}",
    "annotate serve --port": "annotate serve --store {store} --port {n} --host 256.0.0.1",
    "view --port": "view {source} --serve --port {n} --host 256.0.0.1 --out {work}/p.html",
    "train --set learning_rate": "train --config lora --set learning_rate={n}"
    " --set base_model={work}/no-such-model --output-dir {work}/a",
    "train --set batch_size": "train --config lora --set batch_size={n}"
    " --set base_model={work}/no-such-model --output-dir {work}/a",
    "annotate judge --batch-size": "annotate judge --store {store} --batch-size {n}"
    " --model {source}",
    "annotate judge --model-args": "annotate judge --store {store} --model {work}/model"
    " --model-args dtype={n}",
    "annotate calibrate --n-boot": "annotate calibrate --judge a --n-boot {n} {store}",
    "eval --model-args": "eval --model {work}/model --model-args dtype={n} --limit 1",
    "eval --limit": "eval --model {work}/model --limit {n}",
    "compare --plan --detect": "compare --config {source}/c.yaml --plan --detect {n}",
    "interpret --top-k": "interpret {work}/model --top-k {n}",
}


@pytest.mark.parametrize("case", sorted(NUMBER_CASES))
@settings(FUZZ, max_examples=20)
@given(number=HOSTILE_NUMBERS)
def test_hostile_numbers_are_refused_before_anything_runs(
    case: str, number: str, store_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp("fuzz-n")
    source = work / "source"
    source.mkdir()
    samples = write_samples(work / "samples", ANSWERS_A, model="A")
    shutil.copy(samples, source / "samples.jsonl")
    (source / "negative.csv").write_text("not,the,study,file\n")
    (source / "positive.csv").write_text("not,the,study,file\n")
    (source / "c.yaml").write_text("systems:\n  - {name: quantifier-rule}\n")
    (work / "model").mkdir()  # a model's config, no weights: a number checked after it
    (work / "model" / "config.json").write_text('{"model_type": "llama"}\n')
    store = _copy_store(store_template, work / "store.sqlite")
    before = _digests(source)
    argv = argv_of(NUMBER_CASES[case], n=number, work=work, store=store, source=source)
    code, _, err = run_cli(argv)
    check_refusal(argv, code, err)
    assert _digests(source) == before
    shutil.rmtree(work, ignore_errors=True)


# -- issue 19's reproductions: each one line (exit 2), or the right answer -------------------


def _bad_data_dir(folder: Path, built: Path, bad: dict) -> Path:
    """A built dataset whose test split's second record is ``bad`` (others left as built)."""
    data_dir = folder / "data"
    data_dir.mkdir()
    shutil.copy(built / "manifest.json", data_dir / "manifest.json")
    lines = (built / "test.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    lines[1] = json.dumps({**json.loads(lines[1]), **bad})
    (data_dir / "test.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data_dir


def _record_without_claim(folder: Path, built: Path) -> Path:
    data_dir = _bad_data_dir(folder, built, {})
    lines = (data_dir / "test.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    del record["claim"]
    lines[1] = json.dumps(record)
    (data_dir / "test.jsonl").write_text("\n".join(lines) + "\n")
    return data_dir


def _empty_model(folder: Path) -> Path:
    (folder / "model").mkdir()
    (folder / "model" / "config.json").write_text('{"model_type": "llama"}\n')
    (folder / "model" / "model.safetensors").write_bytes(b"")
    return folder / "model"


# Each: argv (with {work}, {data}, {model}, {notes}, {store}), the data dir's bad record
# (None: the built one), and what the one line says.
REPRODUCTIONS = {
    "judge --model EMPTYDIR": (
        "annotate judge --store {store} --model {work}/empty",
        None,
        "not a model directory (no config.json)",
    ),
    "eval --model notes.txt": ("eval --model {notes} --limit 1", None, "is a file"),
    "eval --model unknown/hub-id offline": (
        "eval --model no-such-org/no-such-model-19 --limit 1",
        None,
        "not in the Hugging Face cache",
    ),
    "eval --model-args dtype=nan": (
        "eval --model {model} --model-args dtype=nan --limit 1",
        None,
        "--model-args dtype: not a torch dtype",
    ),
    "judge --model-args dtype=nan": (
        "annotate judge --store {store} --model {model} --model-args dtype=nan",
        None,
        "--model-args dtype: not a torch dtype",
    ),
    "train --output-dir FILE": (
        "train --config lora --set base_model={model} --output-dir {notes} --no-progress",
        None,
        "is a file; --output-dir must be a new or empty directory",
    ),
    "eval --data-dir without claim": (
        "eval --data-dir {data} --model {model} --tasks logic_claims_mc --limit 1",
        "no claim",
        "test.jsonl:2: claim must be non-empty text, got None",
    ),
    "eval --data-dir claim 123": (
        "eval --data-dir {data} --model {model} --tasks logic_claims_mc --limit 1",
        {"claim": 123},
        "test.jsonl:2: claim must be non-empty text, got 123",
    ),
    "eval --data-dir label maybe": (
        "eval --data-dir {data} --model {model} --tasks logic_claims_mc --limit 1",
        {"label": "maybe"},
        "test.jsonl:2: label must be true or false, got 'maybe'",
    ),
    "eval --data-dir 10 MB claim": (
        "eval --data-dir {data} --model {model} --tasks logic_claims_mc --limit 1",
        {"claim": "All birds fly" + " and fly" * 1_250_000 + "."},
        "test.jsonl:2: claim of 10000014 characters; at most 4000 (MAX_CLAIM_CHARS)",
    ),
}


@pytest.mark.parametrize("case", sorted(REPRODUCTIONS))
def test_issue_19_reproductions_are_refused_in_one_line(
    case: str,
    tmp_path: Path,
    built_data: Path,
    store_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # as make test runs: no hub
    template, bad, problem = REPRODUCTIONS[case]
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("my notes\n")
    store = _copy_store(store_template, tmp_path / "store.sqlite")
    if bad == "no claim":
        data_dir = _record_without_claim(tmp_path, built_data)
    else:
        data_dir = _bad_data_dir(tmp_path, built_data, bad or {})
    paths = {
        "work": tmp_path, "data": data_dir, "model": _empty_model(tmp_path),
        "notes": tmp_path / "notes.txt", "store": store,
    }  # fmt: skip
    before, store_before = _digests(tmp_path / "data"), dump(store)
    argv = argv_of(template, **paths)
    code, _, err = run_cli(argv)
    check_refusal(argv, code, err)
    assert code == 2 and problem in err, f"{argv!r}: {err}"
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
    assert _digests(tmp_path / "data") == before and dump(store) == store_before


def test_compare_output_in_the_config_is_named_as_the_config_key(
    tmp_path: Path, built_data: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f"data_dir: {built_data}\noutput: /\nsystems:\n  - {{name: quantifier-rule}}\n"
    )
    code, _, err = run_cli(["compare", "--config", str(config)])
    check_refusal(["compare"], code, err)
    assert code == 2 and "`output:` of c.yaml is a folder that holds the input" in err, err
    assert "--out" not in err


def test_plan_for_a_tiny_difference_says_no_sample_size_is_practical(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("systems:\n  - {name: quantifier-rule}\n")
    code, out, err = run_cli(["compare", "--config", str(config), "--plan", "--detect", "1e-7"])
    assert code == 0 and not err, err
    assert "no practical sample size (more than 1,000,000 claims per split)" in out
    assert "e+" not in out
    code, out, _ = run_cli(
        ["compare", "--config", str(config), "--plan", "--json", "--detect", "1e-7"]
    )
    assert json.loads(out)["claims_needed"] is None


# -- the compare cache, tampered with ------------------------------------------------------


@pytest.fixture(scope="module")
def cache_config(tmp_path_factory: pytest.TempPathFactory, built_data: Path) -> tuple[Path, Path]:
    """A compare config with one lm-eval system (never run: --dry-run) and its entry's path."""
    from logic_claims.harness.compare import load_config
    from logic_claims.harness.compare.runner import plan

    folder = tmp_path_factory.mktemp("fuzz-cache")
    _empty_model(folder)
    config = folder / "c.yaml"
    config.write_text(
        f"data_dir: {built_data}\ncache: {folder / 'cache'}\nlimit: 1\nsystems:\n"
        f"  - {{name: quantifier-rule}}\n  - {{name: m, model: {folder / 'model'},"
        " tasks: [logic_claims_mc]}\n"
    )
    (job,) = plan(load_config(config, folder / "out"))
    return config, folder / "cache" / job.keys["logic_claims_mc"]


@settings(FUZZ, max_examples=40)
@given(content=HOSTILE_FILES, tamper=st.sampled_from(["entry", "subtasks", "samples"]))
def test_a_tampered_cache_entry_is_a_miss_in_one_line(
    content: bytes, tamper: str, cache_config: tuple[Path, Path]
) -> None:
    config, entry = cache_config
    shutil.rmtree(entry, ignore_errors=True)
    (entry / "samples").mkdir(parents=True)
    leaf = "logic_claims_mc_all"
    (entry / "samples" / f"{leaf}.jsonl").write_bytes(b'{"acc": 1.0}\n')
    record = {"subtasks": [leaf], "files": {f"samples/{leaf}.jsonl": "0" * 64}}
    if tamper == "entry":
        (entry / "entry.json").write_bytes(content)
    elif tamper == "subtasks":  # a hostile subtask name beside a sound digest
        name = content.decode("utf-8", "replace")[:200] or "../../etc/passwd_x"
        record = {"subtasks": [name], "files": {}}
        (entry / "entry.json").write_text(json.dumps(record))
    else:  # a samples file whose digest is not the recorded one
        (entry / "samples" / f"{leaf}.jsonl").write_bytes(content)
        (entry / "entry.json").write_text(json.dumps(record))
    argv = ["compare", "--config", str(config), "--dry-run", "--json"]
    code, out, err = run_cli(argv)
    check_refusal(argv, code, err)
    assert code == 0 and err.strip().endswith("recomputing"), err
    assert json.loads(out)["would_run"] == [{"system": "m", "tasks": ["logic_claims_mc"]}]
