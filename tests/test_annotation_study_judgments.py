"""The study's own judgment files (human_model{4,6}.csv): importing them reproduces the
study's published numbers; bad lines name file and line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from annotation_helpers import (
    SEED_RESULTS,
    cli,
    dump,
    one_line_error,
)

from logic_claims.annotations.study_judgments import read_legacy, split_claim_output

# What the study's own script (peft/util/explanation_evaluation.py, get_evaluation_metric)
# prints for its two human-evaluation files: positives / items per universal (All, Not all)
# and existential (Some, No) claims.
PUBLISHED = {
    ("model4", "universal"): {"factual": (271, 316), "justified": (313, 316)},
    ("model4", "existential"): {"factual": (178, 190), "justified": (190, 190)},
    ("model6", "universal"): {"factual": (433, 526), "justified": (504, 526)},
    ("model6", "existential"): {"factual": (311, 318), "justified": (304, 318)},
}


def independent_count(path: Path) -> dict[str, dict[str, tuple[int, int]]]:
    """The study's rule, written again from its description: last three fields from the
    right; universal if the claim's first word is All or Not."""
    counts: dict[str, list[int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.strip().split(",")
        group = "universal" if fields[1].split()[0] in ("All", "Not") else "existential"
        c = counts.setdefault(group, [0, 0, 0])
        c[0] += int(fields[-3])
        c[1] += int(fields[-2])
        c[2] += 1
    return {g: {"factual": (c[0], c[2]), "justified": (c[1], c[2])} for g, c in counts.items()}


# -- the study's files ------------------------------------------------------------------


def test_import_legacy_reproduces_the_studys_explanation_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    store = tmp_path / "study.sqlite"
    for model in ("model4", "model6"):
        path = SEED_RESULTS / f"human_{model}.csv"
        argv = ["annotate", "import-legacy", path, "--system", model]
        code, out, _ = cli(*argv, "--annotator", "study", "--store", store, capsys=capsys)
        assert code == 0
        n = len(path.read_text().splitlines())
        assert f"imported {n} judged answers of system {model}" in out
        assert f"{2 * n} new judgments" in out
    code, out, _ = cli(
        "annotate", "scores", store, "--by", "system,quantifier", "--json", capsys=capsys
    )
    assert code == 0
    report = json.loads(out)
    rows = {(r["group"]["system"], r["group"]["quantifier"]): r for r in report["rows"]}
    for model in ("model4", "model6"):
        recount = independent_count(SEED_RESULTS / f"human_{model}.csv")
        for group in ("universal", "existential"):
            for dim in ("factual", "justified"):
                got = rows[model, group]["dimensions"][dim]
                k, n = PUBLISHED[model, group][dim]
                assert (got["positive"], got["n_items"]) == (k, n)
                assert got["rate"] == pytest.approx(k / n)
                assert recount[group][dim] == (k, n)
    # Per quantifier, the four add up to the two groups.
    assert rows["model4", "all"]["n_items"] + rows["model4", "not_all"]["n_items"] == 316
    # The same numbers through --by claim_type and from the exported CSV.
    csv_out = tmp_path / "study.csv"
    assert cli("annotate", "export", "--store", store, "--out", csv_out, capsys=capsys)[0] == 0
    code, out, _ = cli("annotate", "scores", csv_out, "--by", "system,claim_type", "--json",
                       capsys=capsys)  # fmt: skip
    rows2 = {(r["group"]["system"], r["group"]["claim_type"]): r for r in json.loads(out)["rows"]}
    for key, dims in PUBLISHED.items():
        for dim, (k, n) in dims.items():
            assert (rows2[key]["dimensions"][dim]["positive"], rows2[key]["n_items"]) == (k, n)


def test_legacy_reimport_is_idempotent_and_a_changed_file_is_a_conflict(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    lines = (SEED_RESULTS / "human_model4.csv").read_text().splitlines()[:20]
    legacy = tmp_path / "h.csv"
    legacy.write_text("\n".join(lines) + "\n")
    store = tmp_path / "s.sqlite"
    argv = ["annotate", "import-legacy", legacy, "--system", "m4", "--annotator", "study"]
    assert cli(*argv, "--store", store, capsys=capsys)[0] == 0
    before = dump(store)
    code, out, _ = cli(*argv, "--store", store, capsys=capsys)
    assert code == 0 and "0 new judgments, 40 already there" in out
    changed = lines[:]
    fields = changed[6].split(",")
    fields[-3] = "1" if fields[-3] == "0" else "0"
    changed[6] = ",".join(fields)
    legacy.write_text("\n".join(changed) + "\n")
    code, _, err = cli(*argv, "--store", store, capsys=capsys)
    assert code == 2
    one_line_error(err, f"{legacy}:7:", "conflict: study already rated item")
    assert dump(store) == before


def test_legacy_split_between_claim_and_output() -> None:
    assert split_claim_output("All birds, like owls, fly.,False, penguins, a bird, do not.") == (
        "All birds, like owls, fly.",
        "False, penguins, a bird, do not.",
    )
    # A claim that ends with " ." and an output that does not start with the verdict.
    assert split_claim_output("Not all ants bite .,a.") == ("Not all ants bite .", "a.")
    assert split_claim_output("Birds fly.,True") is None


def test_legacy_bad_lines_name_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = "1,All birds fly.,False, penguins do not fly.,1,1,"
    cases = {
        "2,All birds fly.,False, penguins do not fly.,2,1,": "factual must be 0 or 1, got '2'",
        "2,Birds fly.,True, they do.,1,1,": "no claim found",
        "x,All birds fly.,False, no.,1,1,": "first field must be the study's index",
        "2,All birds fly.,False,1,1": "expected index,claim,output,factual,justified,",
    }
    store = tmp_path / "s.sqlite"
    for bad, problem in cases.items():
        path = tmp_path / "h.csv"
        path.write_text(f"{good}\n{bad}\n")
        argv = ["annotate", "import-legacy", path, "--system", "m", "--annotator", "a"]
        code, _, err = cli(*argv, "--store", store, capsys=capsys)
        assert code == 2
        one_line_error(err, f"{path}:2:", problem)
        assert not store.exists()
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    code, _, err = cli("annotate", "import-legacy", empty, "--system", "m", "--annotator", "a",
                       "--store", store, capsys=capsys)  # fmt: skip
    assert code == 2
    one_line_error(err, f"{empty}:", "empty file")


def test_legacy_lines_split_where_the_study_split_them(tmp_path: Path) -> None:
    # The study read its files with ``for line in open(...)``: \n, \r\n and \r end a
    # line; U+2028, U+0085 and a form feed inside an output do not.
    path = tmp_path / "h.csv"
    text = (
        "1,All birds fly.,False, hawks\u2028and owls\x85do not\x0cfeed on grain.,1,1,\r\n"
        "2,Some cats purr.,True, tabbies purr.,1,0,\r"
        "3,No dogs bark.,False, beagles bark.,1,1,\n"
    )
    path.write_bytes(text.encode("utf-8"))
    rows = read_legacy(path, "m")
    assert [(r.line, r.index, r.justified) for r in rows] == [(1, "1", "1"), (2, "2", "0"),
                                                             (3, "3", "1")]  # fmt: skip
    assert rows[0].item.answer == "False, hawks\u2028and owls\x85do not\x0cfeed on grain."


def test_legacy_items_keep_their_quantifier_and_gold_label() -> None:
    rows = read_legacy(SEED_RESULTS / "human_model6.csv", "m6")
    assert len(rows) == 844
    counts = {
        q: sum(r.item.quantifier == q for r in rows) for q in ("all", "not_all", "some", "no")
    }
    assert counts == {"all": 263, "not_all": 263, "some": 159, "no": 159}
    labels = {r.item.quantifier: r.item.label for r in rows}
    assert labels == {"all": False, "not_all": True, "some": True, "no": False}
    odd = next(r for r in rows if r.line == 729)
    assert (odd.item.claim, odd.item.answer) == (
        "Not all caterpillars obtain protection by associating themselves with ants .",
        "a.",
    )
