"""`logic-claims legacy accuracy`: the study's output files scored as the study scored them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from logic_claims.harness import study_outputs as legacy
from logic_claims.harness.cli import main
from logic_claims.tasks.errors import InputError

SEED = Path(__file__).resolve().parents[2] / "shared" / "data" / "seed-results"


def seed_file(name: str) -> Path:
    path = SEED / name
    if not path.is_file():
        pytest.fail(f"the study's output files are expected under {SEED}")
    return path


def independent_counts(path: Path) -> dict[str, tuple[int, int, int]]:
    """A second, deliberately different reading of the file: one regex over the whole
    text (no line loop), the output taken up to its first period after joining lines."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    pattern = re.compile(
        r"<QUERY>\s*(?P<q>.*?)<MODEL OUTPUT>(?P<m>.*?)<EXPECTED OUTPUT>(?P<e>.*?)(?=<QUERY>|\Z)",
        re.S,
    )
    counts = {"universal": [0, 0, 0], "existential": [0, 0, 0]}
    for match in pattern.finditer(text):
        claim = match.group("q").strip()
        joined = "".join(line.strip() for line in match.group("m").splitlines())
        first = joined.split(".")[0].lower()
        expected = match.group("e").lower()
        said = (first.count("true") > first.count("false")) - (
            first.count("false") > first.count("true")
        )
        gold = 1 if expected.count("true") > expected.count("false") else -1
        group = "universal" if claim[:3] in ("All", "Not") else "existential"
        counts[group][0 if said == gold else 1 if said == 0 else 2] += 1
    return {g: tuple(c) for g, c in counts.items()}


def triple(summary: dict, group: str) -> tuple[int, int, int]:
    g = summary["groups"][group]
    return g["correct"], g["tie"], g["wrong"]


def test_model1_matches_the_studys_published_accuracy() -> None:
    # The study's own results file (upstream peft/results.txt) reports for model1:
    # "Accuracy achieved: correct=139: total=155 accuracy=0.896774193548387".
    summary = legacy.summarise(seed_file("model1.txt"))
    assert summary["records"] == 155
    assert summary["groups"]["overall"]["correct"] == 139


@pytest.mark.parametrize(
    ("name", "universal", "existential"),
    [
        # PEFT(8): 8 virtual tokens, universal + existential training claims.
        ("model4.txt", (316, 0, 0), (190, 0, 0)),
        # PEFT(4): 4 virtual tokens, the larger training set.
        ("model6.txt", (523, 2, 1), (311, 0, 7)),
        # The other 4-token run on model4's data, for the record.
        ("model5.txt", (203, 2, 111), (188, 0, 2)),
    ],
)
def test_peft_runs_reproduce_the_correctness_tables(
    name: str, universal: tuple, existential: tuple
) -> None:
    path = seed_file(name)
    summary = legacy.summarise(path)
    assert triple(summary, "universal") == universal
    assert triple(summary, "existential") == existential
    assert independent_counts(path) == {"universal": universal, "existential": existential}
    # Every expected verdict agrees with the claim's quantifier in the published files.
    check = summary["gold_check"]
    assert check["disagree"] == 0 and check["checked"] == summary["records"]


def test_the_human_judgment_files_match_the_peft_runs() -> None:
    # Why model4/model6 are the published PEFT(8)/PEFT(4): they are the two runs the
    # study had judged, one judgment row per output record.
    for run, judged in (("model4.txt", "human_model4.csv"), ("model6.txt", "human_model6.csv")):
        rows = seed_file(judged).read_bytes().count(b"\n")
        assert rows == len(legacy.read_records(seed_file(run)))


def test_multiline_outputs_garbage_bytes_and_the_first_period(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_bytes(
        b"<QUERY>\t\t\t All birds fly.\n"
        b"<MODEL OUTPUT>\t\t Fal\xff\n"  # garbage byte, and the verdict runs onto the next line
        b"se, penguins do not fly. True true true.\n"
        b"<EXPECTED OUTPUT>\t False, penguins do not fly.\n"
        b"\n"
        b"<QUERY>\t\t\t Some cats purr.\n"
        b"<MODEL OUTPUT>\t\t It is hard to say\n"
        b"\n"
        b"whether that is true or false. True.\n"
        b"<EXPECTED OUTPUT>\t True, house cats purr.\n"
        b"\n"
        b"<QUERY>\t\t\t Not all dogs bark.\n"
        b"<MODEL OUTPUT>\t\t True\r\n"  # CRLF line ends
        b"<EXPECTED OUTPUT>\t True, basenjis do not bark.\r\n"
    )
    records = legacy.read_records(path)
    assert [r.line for r in records] == [1, 6, 12]
    # The study glued continuation lines on without a separator; the bad byte is U+FFFD.
    assert records[0].output == "Fal\ufffdse, penguins do not fly. True true true."
    assert records[1].output == "It is hard to saywhether that is true or false. True."
    scored = [legacy.score_record(r) for r in records]
    # "Fal?se" is neither word and the "true"s come after the first period: a tie.
    assert [s.outcome for s in scored] == ["tie", "tie", "correct"]
    summary = legacy.summarise(path)
    assert triple(summary, "universal") == (1, 1, 0)
    assert triple(summary, "existential") == (0, 1, 0)
    assert summary["quantifiers"]["not_all"]["correct"] == 1


def test_gold_disagreeing_with_the_quantifier_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_text(
        "<QUERY>\t\t\t All squares have four sides.\n"
        "<MODEL OUTPUT>\t\t True, by definition.\n"
        "<EXPECTED OUTPUT>\t True, all squares have four sides.\n",
        encoding="utf-8",
    )
    summary = legacy.summarise(path)
    # Scored against the expected output, as the study did; the disagreement is flagged.
    assert summary["groups"]["overall"]["correct"] == 1
    assert summary["gold_check"]["disagree"] == 1
    assert summary["gold_check"]["disagreements"][0]["line"] == 1
    assert "disagrees with the quantifier in 1 of 1" in legacy.format_summary(summary)


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ("", "no <QUERY> records", None),
        ("hello\n<QUERY>\t x\n", "text before the first <QUERY>", 1),
        ("<MODEL OUTPUT>\t x\n", "<MODEL OUTPUT> before any <QUERY>", 1),
        ("<QUERY>\t All x.\n<MODEL OUTPUT>\t True\n\n", "record without <EXPECTED OUTPUT>", 1),
        (
            "<QUERY>\t All x.\n<MODEL OUTPUT>\t a\n<MODEL OUTPUT>\t b\n",
            "second <MODEL OUTPUT>",
            3,
        ),
    ],
)
def test_bad_files_fail_with_file_and_line(
    tmp_path: Path, content: str, message: str, line: int | None
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as info:
        legacy.read_records(path)
    text = str(info.value)
    assert message in text and str(path) in text
    if line is not None:
        assert f":{line}" in text


def test_cli_tables_json_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    model4, model6 = seed_file("model4.txt"), seed_file("model6.txt")
    assert main(["legacy", "accuracy", str(model4), str(model6)]) == 0
    out = capsys.readouterr().out
    assert "universal      316   316 (100.0%)" in out
    assert "existential    318   311 ( 97.8%)" in out
    assert main(["legacy", "accuracy", "--json", str(model6)]) == 0
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["groups"]["universal"]["wrong"] == 1
    assert main(["legacy", "accuracy", str(tmp_path / "missing.txt")]) == 2
    assert "cannot read" in capsys.readouterr().err
