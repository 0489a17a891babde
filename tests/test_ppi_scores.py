"""PPI scores on a real store: the study's judged answers, a recorded sample of generics
for people, a judge rater with noisy labels (real SQLite, the reports' own frame)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from logic_claims.annotations import design
from logic_claims.annotations.ppi_scores import ppi_comparisons, ppi_scores
from logic_claims.annotations.ratings import store_frame
from logic_claims.annotations.records import Rating
from logic_claims.annotations.store import Store
from logic_claims.annotations.study_judgments import import_study_judgments
from logic_claims.tasks.claims import generic_of
from logic_claims.tasks.errors import InputError

STUDY = Path(__file__).resolve().parents[2] / "shared/data/seed-results"


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A store of both study files (person "study"), plus judge "noisy" (90% kept)."""
    path = tmp_path_factory.mktemp("ppi") / "study.sqlite"
    for system in ("model4", "model6"):
        import_study_judgments(STUDY / f"human_{system}.csv", system, "study", path)
    rng = np.random.default_rng(0)
    with Store.open(path) as store:
        store.add_annotator("noisy")
        items = [r[0] for r in store.conn.execute("SELECT item_id FROM items ORDER BY item_id")]
        with store.transaction():
            ratings = []
            for item in items:
                store.assign(item, "noisy")
                for dim, value in store.current(item, "study").items():
                    keep = rng.random() < 0.9
                    flipped = value if keep else str(1 - int(value))
                    ratings.append((Rating(item, "noisy", dim, flipped), "test", None))
            store.rate_many(ratings)
        frame = store_frame(store)
    return frame


def people_sample(frame, sample: design.Design):
    """People's judgments only on the drawn generics (the judge's everywhere)."""
    generic = frame["claim"].map(generic_of)
    keep = (frame["annotator"] != "study") | generic.isin(sample.sampled)
    return frame[keep]


def generics(frame) -> dict[str, str]:
    return dict.fromkeys(frame["claim"].map(generic_of), "all")


def test_ppi_scores_per_system_with_a_recorded_sample(study):
    sample = design.draw(generics(study), 200, seed=1)
    report = ppi_scores(people_sample(study, sample), "noisy", sample)
    truth = study[study["annotator"] == "study"]
    assert [r["group"]["system"] for r in report["rows"]] == ["model4", "model6"]
    for row in report["rows"]:
        cell = row["dimensions"]["factual"]
        full = truth[
            (truth["system"] == row["group"]["system"]) & (truth["dimension"] == "factual")
        ]
        rate = (full["value"] == "1").mean()
        low, high = cell["confidence_interval"]
        assert low <= rate <= high
        assert cell["lambda"] > 0.2 and cell["effective_n"] > 1.2 * cell["n_labeled"]
        assert high - low < cell["people_interval"][1] - cell["people_interval"][0]
        assert cell["judge_missing"] == 0 and cell["people_missing"] == 0
    diffs = ppi_comparisons(people_sample(study, sample), "noisy", sample)
    assert {(d["a"], d["b"], d["dimension"]) for d in diffs} == {
        ("model4", "model6", "factual"), ("model4", "model6", "justified")
    }  # fmt: skip
    assert all(d["pvalue_holm"] >= d["pvalue"] for d in diffs)


def test_stratified_by_judge_verdict_weights_undo_the_oversampling(study):
    judge = study[study["annotator"] == "noisy"]
    verdicts = judge.groupby("item_id")["value"].apply(list).to_dict()
    strata = design.judge_strata(
        dict(zip(study["item_id"], study["claim"].map(generic_of), strict=True)), verdicts
    )
    sample = design.draw(strata, 120, seed=2, strata_by="judge:noisy")
    no, yes = sample.strata["judge-no"], sample.strata["judge-yes"]
    assert no.sampled == yes.sampled == 60 and no.probability != yes.probability  # equal allocation
    report = ppi_scores(people_sample(study, sample), "noisy", sample, by=[])
    truth = study[(study["annotator"] == "study") & (study["dimension"] == "justified")]
    rate = (truth.drop_duplicates("item_id")["value"] == "1").mean()
    cell = report["rows"][0]["dimensions"]["justified"]
    assert cell["confidence_interval"][0] <= rate <= cell["confidence_interval"][1]


def test_refusals(study):
    sample = design.draw(generics(study), 120, seed=1)
    with pytest.raises(InputError, match="judge 'nobody' rated no item"):
        ppi_scores(study, "nobody", sample)
    tiny = design.draw(generics(study), 3, seed=1)
    with pytest.raises(InputError, match="PPI needs at least 10"):
        ppi_scores(people_sample(study, tiny), "noisy", tiny, by=[])
    other = design.draw({**generics(study), "unicorns fly.": "all"}, 120, seed=1)
    with pytest.raises(InputError, match="does not match the store's items"):
        ppi_scores(study, "noisy", other)


def test_labels_other_than_0_1_are_refused(study):
    sample = design.draw(generics(study), 120, seed=1)
    extra = study[study["dimension"] == "factual"].head(30).assign(dimension="fluency", value="ok")
    with pytest.raises(InputError, match="PPI needs 0/1 labels; dimension 'fluency'"):
        ppi_scores(pd.concat([study, extra]), "noisy", sample)
