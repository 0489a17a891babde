"""`annotate sample`, `annotate status` and `annotate scores|compare --judge` end to end on
the study's 1,350 judged answers (real store, the real judge loop with a control decider
that keeps 90% of the person's labels, the real CLI), and the refusals of issue 21."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from annotation_helpers import cli, dump, one_line_error

from logic_claims.annotations import design
from logic_claims.annotations.store import Store
from logic_claims.annotations.study_judgments import import_study_judgments
from logic_claims.harness.judge import JudgeSettings, judge_store

STUDY = Path(__file__).resolve().parents[2] / "shared/data/seed-results"
INFO = JudgeSettings("smollm2-135m-instruct").record()
JUDGE = "noisy-judge"


@pytest.fixture(scope="module")
def judged(tmp_path_factory) -> Path:
    """Both study files (person "study") and a control judge: the person's label, flipped
    for 10% of (item, dimension) at random (seeded)."""
    path = tmp_path_factory.mktemp("ppi_cli") / "study.sqlite"
    for system in ("model4", "model6"):
        import_study_judgments(STUDY / f"human_{system}.csv", system, "study", path)
    with Store.open(path) as store:
        truth = {}
        for item in [r[0] for r in store.conn.execute("SELECT item_id FROM items")]:
            row = store.item(item)
            for dim, value in store.current(item, "study").items():
                truth[dim, row["claim"], row["answer"]] = value
    rng = np.random.default_rng(0)

    def decide(requests):
        out = []
        for dim, claim, answer in requests:
            value = truth[dim.name, claim, answer]
            out.append(value if rng.random() < 0.9 else str(1 - int(value)))
        return out

    judge_store(path, decide, INFO, JUDGE, batch_size=256)
    return path


def test_sample_status_scores_and_compare_with_a_judge(judged, tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    shutil.copy(judged, path)
    code, out, err = cli("annotate", "scores", path, "--judge", JUDGE, capsys=capsys)
    assert code == 2
    one_line_error(err, str(path), "has no recorded random sample for people")
    code, out, _ = cli("annotate", "sample", "--store", path, "--people", "150", "--seed", "3",
                       "--annotators", "study", capsys=capsys)  # fmt: skip
    assert code == 0 and "people judge 150 of 632 generics" in out
    with Store.open(path) as store:
        drawn = design.load_design(store)
    assert drawn.seed == 3 and len(drawn.sampled) == 150
    assert drawn.strata["all"].probability == pytest.approx(150 / 632)
    code, out, _ = cli("annotate", "status", "--store", path, capsys=capsys)
    assert "people's sample: 150 generics" in out and "(100%)" in out
    code, out, _ = cli("annotate", "scores", path, "--judge", JUDGE, "--by", "system", "--json",
                       capsys=capsys)  # fmt: skip
    assert code == 0
    ppi = json.loads(out)["ppi"]
    assert [r["group"]["system"] for r in ppi["rows"]] == ["model4", "model6"]
    factual = ppi["rows"][1]["dimensions"]["factual"]
    assert factual["lambda"] > 0 and factual["effective_n"] > factual["n_labeled"]
    html = tmp_path / "scores.html"
    code, out, _ = cli("annotate", "scores", path, "--judge", JUDGE, "--html", html, capsys=capsys)
    assert "Prediction-powered scores" in out and "effective n" in out
    assert "<h2>Prediction-powered scores (people&#39;s sample + judge)</h2>" in html.read_text()
    code, out, _ = cli("annotate", "compare", path, "--systems", "model4,model6",
                       "--judge", JUDGE, capsys=capsys)  # fmt: skip
    assert code == 0 and "Prediction-powered differences" in out and "model4 - model6" in out


def test_stratified_sample_by_the_judge(judged, tmp_path, capsys):
    path = tmp_path / "s.sqlite"
    shutil.copy(judged, path)
    argv = ["--people", "0.2", "--seed", "1", "--strata", f"judge:{JUDGE}", "--annotators", "study"]
    code, out, _ = cli("annotate", "sample", "--store", path, *argv, capsys=capsys)
    assert code == 0 and "stratum judge-no" in out and "stratum judge-yes" in out
    code, out, _ = cli("annotate", "scores", path, "--judge", JUDGE, "--json", capsys=capsys)
    assert code == 0 and json.loads(out)["ppi"]["design"]["strata_by"] == f"judge:{JUDGE}"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["scores", "{store}", "--judge", "study", "--assume-random"], "is a person"),
        (["scores", "{store}", "--judge", "nobody", "--assume-random"], "not a rater of this set"),
        (["sample", "--store", "{store}", "--people", "1", "--seed", "1"], "at least 2"),
        (["sample", "--store", "{store}", "--people", "9000", "--seed", "1"], "at most all"),
        (["sample", "--store", "{store}", "--people", "5", "--seed", "1", "--strata", "mood"],
         "--strata must be system or judge:NAME"),
        (["sample", "--store", "{store}", "--people", "5", "--seed", "1", "--annotators",
          JUDGE], "is a model judge"),
        (["scores", "{store}", "--assume-random"], "--assume-random goes with --judge"),
    ],
)  # fmt: skip
def test_refusals_one_line_nothing_written(judged, tmp_path, capsys, argv, problem):
    path = tmp_path / "s.sqlite"
    shutil.copy(judged, path)
    before = dump(path)
    argv = [a.replace("{store}", str(path)) for a in argv]
    code, _, err = cli("annotate", *argv, capsys=capsys)
    assert code == 2 and err.count("\n") == 1 and problem in err, err
    assert dump(path) == before


def test_assume_random_on_a_store_people_judged_whole_is_refused(judged, tmp_path, capsys):
    """--assume-random takes what people judged as the sample; here that is every item,
    so the judge has nothing to add: one line, nothing written."""
    path = tmp_path / "s.sqlite"
    shutil.copy(judged, path)
    before = dump(path)
    code, _, err = cli("annotate", "scores", path, "--judge", JUDGE, "--assume-random",
                       capsys=capsys)  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    assert "the judge rated no item outside people's sample" in err
    assert dump(path) == before


def test_compare_config_judge_key_adds_the_ppi_columns(judged, tmp_path, built_data, capsys):
    """`annotations: {store: S, judge: NAME}` in a compare config: the report's
    human-judgment section gets the PPI table; a person as judge is refused before any run."""
    from logic_claims.harness import compare
    from logic_claims.harness.cli import main

    path = tmp_path / "s.sqlite"
    shutil.copy(judged, path)
    assert cli("annotate", "sample", "--store", path, "--people", "150", "--seed", "2",
               "--annotators", "study")[0] == 0  # fmt: skip
    text = f"""\
data_dir: {built_data}
cache: {tmp_path / "cache"}
limit: 3
annotations: {{store: {path}, judge: {JUDGE}}}
systems:
  - {{name: quantifier-rule}}
  - {{name: majority-class}}
"""
    config = tmp_path / "ann.yaml"
    config.write_text(text, encoding="utf-8")
    result = compare.compare(compare.load_config(config, tmp_path / "out"))
    assert result.report["annotations"]["ppi"]["judge"] == JUDGE
    md = (tmp_path / "out" / "report.md").read_text()
    assert "## Prediction-powered scores (people's sample + judge)" in md
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace(f"judge: {JUDGE}", "judge: study"), encoding="utf-8")
    capsys.readouterr()
    assert main(["compare", "--config", str(bad), "--out", str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "is a person" in err and err.count("\n") == 1
    assert not (tmp_path / "out2").exists()


def test_a_judge_that_rated_part_of_the_items(tmp_path, capsys):
    """PPI over the items both cover, with the count of the judge's missing items said."""
    path = tmp_path / "part.sqlite"
    for system in ("model4", "model6"):
        import_study_judgments(STUDY / f"human_{system}.csv", system, "study", path)
    judge_store(path, lambda reqs: ["1" for _ in reqs], INFO, JUDGE, limit=900)
    assert cli("annotate", "sample", "--store", path, "--people", "150", "--seed", "3")[0] == 0
    capsys.readouterr()
    code, out, err = cli("annotate", "scores", path, "--judge", JUDGE, "--json", capsys=capsys)
    assert code == 0, err
    cell = json.loads(out)["ppi"]["rows"][0]["dimensions"]["factual"]
    assert code == 0 and cell["judge_missing"] > 0
    assert cell["n_labeled"] + cell["n_unlabeled"] + cell["judge_missing"] <= 1350
    assert cell["lambda"] == 0.0  # a constant judge: people alone
    code, out, _ = cli("annotate", "scores", path, "--judge", JUDGE, capsys=capsys)
    assert "not rated by the judge" in out
