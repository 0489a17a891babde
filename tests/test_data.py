"""The dataset builder on the published CSVs and on small hand-written ones."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from logic_claims.harness.cli import main
from logic_claims.tasks import data, sources
from logic_claims.tasks.claims import QUANTIFIERS, WORDS
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.text import normalise

RULE = {"all": False, "not_all": True, "some": True, "no": False}


@pytest.fixture(scope="module")
def full(source_dir: Path) -> data.BuildResult:
    return data.build(source_dir)


def test_generic_counts_as_documented(full: data.BuildResult) -> None:
    generics = full.manifest["generics"]
    assert generics["as_written"] == 12307
    assert generics["case_and_space_normalised"] == 12302
    # Also merging "Gerbils are diurnal ." with "Gerbils are diurnal.":
    assert generics["normalised"] == 12273
    assert sum(generics["per_split"].values()) == 12273


def test_splits_are_disjoint_by_generic(full: data.BuildResult) -> None:
    split_of_generic: dict[str, set[str]] = defaultdict(set)
    for split in ("train", "validation", "test"):
        for record in full.splits[split]:
            split_of_generic[normalise(record["generic"])].add(split)
    assert all(len(splits) == 1 for splits in split_of_generic.values())
    sizes = Counter(next(iter(s)) for s in split_of_generic.values())
    assert 0.88 < sizes["train"] / sum(sizes.values()) < 0.92


def test_labels_follow_the_study(full: data.BuildResult) -> None:
    for split in ("train", "validation", "test"):
        for record in full.splits[split]:
            assert record["label"] is RULE[record["quantifier"]]
            assert record["claim"].startswith(WORDS[record["quantifier"]] + " ")
            assert record["target"].startswith("True, " if record["label"] else "False, ")


def test_evaluation_splits_hold_one_claim_per_generic_and_quantifier(
    full: data.BuildResult,
) -> None:
    for split in ("validation", "test"):
        keys = Counter((r["generic"], r["quantifier"]) for r in full.splits[split])
        assert max(keys.values()) == 1
    # train keeps every exemplar: more claims than generics x quantifiers
    train_keys = Counter((r["generic"], r["quantifier"]) for r in full.splits["train"])
    assert max(train_keys.values()) > 1


def test_quantifier_rule_is_perfect_on_test_and_at_chance_on_contrast(
    full: data.BuildResult,
) -> None:
    def accuracy(records: list[dict]) -> float:
        return sum(RULE[r["quantifier"]] == r["label"] for r in records) / len(records)

    assert accuracy(full.splits["test"]) == 1.0
    assert accuracy(full.splits["contrast"]) <= 0.5
    for quantifier in QUANTIFIERS:
        records = [r for r in full.splits["contrast"] if r["quantifier"] == quantifier]
        labels = Counter(r["label"] for r in records)
        assert labels[True] == labels[False] > 100, quantifier
        # every prefix is balanced too, so `--limit N` evaluates a fair contrast sample
        for n in (2, 4, 10, 51):
            assert accuracy(records[:n]) <= 0.5 + 1 / n, (quantifier, n)


def test_contrast_comes_from_test_generics_only(full: data.BuildResult) -> None:
    test_generics = {normalise(r["generic"]) for r in full.splits["test"]}
    assert {normalise(r["generic"]) for r in full.splits["contrast"]} <= test_generics
    for family, counts in full.manifest["contrast"]["contrast"].items():
        assert counts["claims"] > 0 and sum(counts["left_out"].values()) > 0, family


def test_ids_are_unique_and_the_build_is_deterministic(source_dir: Path, full: data.BuildResult):
    again = data.build(source_dir)
    for split in data.SPLITS:
        ids = [r["id"] for r in full.splits[split]]
        assert len(ids) == len(set(ids))
        assert ids == [r["id"] for r in again.splits[split]]


def write_csv(directory: Path, name: str, text: str | bytes) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))


SMALL_NEGATIVE = """generic,exemplar
Birds fly.,Penguins do not fly.
Birds fly.,"Young birds, sadly, do not fly."
Americans eat turkey.,Vegetarian Americans do not eat turkey.
Americans eat turkey.,Vegans do not eat turkey.
Dogs bark.,Basenjis do not bark.
Cats purr.,"Big cats, such as lions, do not purr."
"""
SMALL_POSITIVE = """generic,exemplar
Birds fly.,Birds fly south.
Dogs bark.,Sled dogs bark at cats.
"""


@pytest.fixture
def small_source(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    write_csv(source, "negative.csv", SMALL_NEGATIVE)
    write_csv(source, "positive.csv", SMALL_POSITIVE)
    return source


def test_claims_keep_proper_nouns_and_lower_common_nouns(small_source: Path) -> None:
    result = data.build(small_source, ratios=(0.0, 0.0, 1.0))
    claims = {r["claim"] for r in result.splits["test"]}
    assert "All birds fly." in claims and "No birds fly." in claims
    assert "Not all dogs bark." in claims and "Some dogs bark." in claims
    # Capitalised mid-sentence ("Vegetarian Americans"): a proper noun, case kept.
    assert "All Americans eat turkey." in claims
    assert "All cats purr." in claims  # "cats" is lower case in "bark at cats"
    targets = {r["target"] for r in result.splits["test"]}
    # Never seen mid-sentence: unsure, so the case is left as written.
    assert "False, Basenjis do not bark." in targets
    assert "False, birds fly south." in targets  # "No birds fly." cites the instance
    assert "True, birds fly south." in targets


def test_split_is_stable_when_data_grows(source_dir: Path, tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    for name in sources.SOURCE_FILES:
        lines = (source_dir / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (small / name).write_text("".join(lines[:2000]), encoding="utf-8")
    part, whole = data.build(small), data.build(source_dir)

    def split_map(result: data.BuildResult) -> dict[str, str]:
        return {
            normalise(r["generic"]): split
            for split in ("train", "validation", "test")
            for r in result.splits[split]
        }

    part_map, whole_map = split_map(part), split_map(whole)
    assert part_map and all(whole_map[g] == s for g, s in part_map.items())


def test_cli_build_writes_every_split_and_manifest(small_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "built"
    assert main(["data", "build", "--source", str(small_source), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{s}.jsonl" for s in data.SPLITS] + ["manifest.json"]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 0
    assert manifest["sources"]["negative.csv"]["sha256"] == sources.sha256_file(
        small_source / "negative.csv"
    )
    total = sum(manifest["counts"][s]["claims"] for s in ("train", "validation", "test"))
    assert total == 2 * (6 + 2)  # every row gives two claims here (no duplicates)


BAD_INPUTS = {
    "missing column": ("negative.csv", "generic,example\nBirds fly.,x\n", "missing column"),
    "empty file": ("negative.csv", "", "empty file"),
    "not utf-8": ("positive.csv", b"generic,exemplar\nBirds fly.,Birds \xff fly.\n", "not UTF-8"),
    "unparsable": ("negative.csv", 'generic,exemplar\nBirds fly.,"Penguins" do not\n', "CSV"),
    "wrong field count": ("negative.csv", "generic,exemplar\nBirds fly.,a,b\n", "fields"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_cleanly(
    case: str, small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    name, text, problem = BAD_INPUTS[case]
    write_csv(small_source, name, text)
    out = tmp_path / "out"
    assert main(["data", "build", "--source", str(small_source), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(small_source / name) in err and problem in err
    if case not in ("empty file", "missing column"):
        assert f"{name}:2:" in err  # the line of the bad row
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["src"]  # no temp directories left


def test_unwritable_out_fails_cleanly(
    small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code = main(["data", "build", "--source", str(small_source), "--out", str(blocker / "out")])
    assert code == 2
    assert "cannot create directory" in capsys.readouterr().err
    assert blocker.read_text() == "not a directory"


def test_existing_output_is_replaced_only_on_success(small_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["data", "build", "--source", str(small_source), "--out", str(out)]) == 0
    before = (out / "manifest.json").read_text()
    write_csv(small_source, "negative.csv", "")
    assert main(["data", "build", "--source", str(small_source), "--out", str(out)]) == 2
    assert (out / "manifest.json").read_text() == before


def build_cli(source: Path, out: Path | str, *extra: str) -> int:
    return main(["data", "build", "--source", str(source), "--out", str(out), *extra])


def one_error_line(capsys: pytest.CaptureFixture) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("extra", ["notes only", "a build and notes"])
def test_out_holding_files_a_build_did_not_write_is_refused(
    extra: str, small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    if extra == "a build and notes":
        assert build_cli(small_source, out) == 0
        capsys.readouterr()
    out.mkdir(exist_ok=True)
    (out / "notes.txt").write_text("my notes")
    before = snapshot(out)
    assert build_cli(small_source, out) == 2
    err = one_error_line(capsys)
    assert str(out) in err and ("not a previous data build" in err or "notes.txt" in err)
    assert snapshot(out) == before


def test_out_that_is_a_file_is_refused(
    small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "claims.jsonl"
    out.write_text("keep me\n")
    assert build_cli(small_source, out) == 2
    assert "is a file" in one_error_line(capsys)
    assert out.read_text() == "keep me\n"


@pytest.mark.parametrize("where", ["the source", "above the source"])
def test_out_equal_to_or_above_the_source_is_refused(
    where: str, small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = small_source if where == "the source" else small_source.parent
    before = snapshot(tmp_path)
    assert build_cli(small_source, out) == 2
    assert "input" in one_error_line(capsys)
    assert snapshot(tmp_path) == before
    with pytest.raises(InputError, match="input"):  # the library call is guarded too
        data.write_dataset(data.build(small_source, ratios=(0.5, 0.25, 0.25)), out)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out", ["loop", "loop/inner", "dangling", "/proc/logic-claims-out"])
def test_out_that_cannot_be_a_directory_fails_in_one_line(
    out: str, small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    if out.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "dangling").symlink_to("nothing-here")
    target = out if out.startswith("/") else tmp_path / out
    assert build_cli(small_source, target) == 2
    assert str(target) in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling", "loop", "src"]


def test_a_link_to_a_previous_build_is_rebuilt_through_the_link(
    small_source: Path, tmp_path: Path
) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    assert build_cli(small_source, real, "--seed", "1") == 0
    link.symlink_to(real)
    assert build_cli(small_source, link, "--seed", "2") == 0
    assert link.is_symlink()
    assert json.loads((real / "manifest.json").read_text())["seed"] == 2


@pytest.mark.parametrize(
    "ratios", [("nan", "0", "1"), ("nan", "nan", "nan"), ("0.5", "0.5", "inf"), ("1", "1", "-1")]
)
def test_ratios_must_be_finite_non_negative_and_sum_to_one(
    ratios: tuple[str, str, str], small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    assert build_cli(small_source, out, "--ratios", *ratios) == 2
    assert "--ratios" in one_error_line(capsys)
    assert not out.exists()
    with pytest.raises(InputError, match="finite"):
        data.build(small_source, ratios=tuple(float(r) for r in ratios))


def test_download_is_verified_by_sha256(
    source_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(source_dir, mirror)
    monkeypatch.setenv("LOGIC_CLAIMS_DATA_URL", mirror.as_uri())
    monkeypatch.setenv("LOGIC_CLAIMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LOGIC_CLAIMS_DATA")
    fetched = sources.resolve_source(None)
    assert sources.sha256_file(fetched / "positive.csv") == sources.SOURCE_FILES["positive.csv"]

    shutil.rmtree(tmp_path / "cache")
    with (mirror / "positive.csv").open("a") as fh:
        fh.write("Birds fly.,Birds fly high.\n")
    with pytest.raises(InputError, match="sha256 mismatch"):
        sources.resolve_source(None)
    assert not list((tmp_path / "cache").rglob("positive.csv"))


def test_stats_command_writes_json_and_histogram(small_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "stats"
    assert main(["data", "stats", "--source", str(small_source), "--out", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["negative"]["rows"] == 6
    assert stats["negative"]["generic"]["words"]["min"] == 2  # "Birds fly."
    assert (out / "length_histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_out_that_is_a_file_fails_in_one_line(
    small_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    assert main(["data", "stats", "--source", str(small_source), "--out", str(blocker)]) == 2
    assert "cannot create directory" in one_error_line(capsys)
    assert blocker.read_text() == "mine"
