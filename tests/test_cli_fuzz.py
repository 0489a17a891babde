"""Fuzz the command line: every subcommand that reads a user's file or number, fed
hostile files and arguments (empty, binary, huge, deep, wrong types, surrogates, nested
YAML aliases, non-finite numbers).

The assertion for every example: exit code 0 or 2, at most one line on stderr, no
traceback, every input file unchanged, and a store that a refused command was pointed
at is unchanged too. Commands run in-process through the real entry point
(``logic_claims.harness.cli.main``); nothing here loads a model (``train`` gets a base
model that does not exist, ``compare`` runs with ``--dry-run``).
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
}


def _place(content: bytes, folder: Path, case: str) -> Path:
    """Write the hostile content where the case reads it (data build reads two CSVs)."""
    inputs = folder / "inputs"
    inputs.mkdir()
    if case == "data build":
        (inputs / "negative.csv").write_bytes(content)
        (inputs / "positive.csv").write_bytes(content)
        return inputs / "negative.csv"
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
    "train --set learning_rate": "train --config lora --set learning_rate={n}"
    " --set base_model={work}/no-such-model --output-dir {work}/a",
    "train --set batch_size": "train --config lora --set batch_size={n}"
    " --set base_model={work}/no-such-model --output-dir {work}/a",
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
    store = _copy_store(store_template, work / "store.sqlite")
    before = _digests(source)
    argv = argv_of(NUMBER_CASES[case], n=number, work=work, store=store, source=source)
    code, _, err = run_cli(argv)
    check_refusal(argv, code, err)
    assert _digests(source) == before
    shutil.rmtree(work, ignore_errors=True)
