"""The people's sample (annotations/design.py): reproducible draws of whole generics,
equal allocation over strata, inclusion probabilities and weights, refusals."""

from __future__ import annotations

import pytest

from logic_claims.annotations import design
from logic_claims.tasks.errors import InputError

GENERICS = {f"g{i:03d}": ("rare" if i < 10 else "common") for i in range(200)}


def test_same_seed_same_sample_and_json_round_trip():
    a = design.draw(GENERICS, "40", seed=7, strata_by="judge:j")
    b = design.draw(GENERICS, 40, seed=7, strata_by="judge:j")
    c = design.draw(GENERICS, 40, seed=8, strata_by="judge:j")
    assert a.sampled == b.sampled and a.sampled != c.sampled
    assert design.Design.from_json(a.to_json()) == a


def test_equal_allocation_oversamples_the_rare_stratum_and_weights_undo_it():
    d = design.draw(GENERICS, 40, seed=1, strata_by="judge:j")
    assert d.strata["rare"].sampled == 10 and d.strata["common"].sampled == 30  # capped, rest over
    assert d.strata["rare"].probability == 1.0
    assert d.strata["common"].probability == pytest.approx(30 / 190)
    drawn = sorted(d.sampled)
    assert sum(GENERICS[g] == "rare" for g in drawn) == 10
    common = next(g for g in drawn if GENERICS[g] == "common")
    undrawn = next(g for g in GENERICS if g not in d.sampled)
    assert d.weight(common) == pytest.approx(190 / 30)
    assert d.weight(undrawn) == pytest.approx(1 / (1 - 30 / 190))
    # the Horvitz-Thompson count of generics in each stratum is exact
    assert sum(d.weight(g) for g in drawn) == pytest.approx(200)


def test_fraction_and_uniform():
    d = design.draw(dict.fromkeys(GENERICS, "all"), "0.1", seed=3)
    assert len(d.sampled) == 20 and d.strata["all"].probability == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("people", "message"),
    [("lots", "count or a fraction"), ("1", "at least 2"), ("201", "at most all"),
     ("2.5", "whole count"), ("0", "whole count")],
)  # fmt: skip
def test_bad_people_refused(people, message):
    with pytest.raises(InputError, match=message):
        design.draw(GENERICS, people, seed=1)


def test_design_that_does_not_match_the_store_is_refused():
    d = design.draw(GENERICS, 40, seed=1)
    d.check_matches(set(GENERICS))
    with pytest.raises(InputError, match=r"1 generic\(s\) added since .*annotate sample"):
        d.check_matches({*GENERICS, "new generic"})


def test_judge_strata_from_verdicts():
    items = {"a1": "birds fly.", "a2": "birds fly.", "b1": "cats purr.", "c1": "dogs bark."}
    verdicts = {"a1": ["1", "1"], "a2": ["1", "0"], "b1": ["1", "1"]}
    assert design.judge_strata(items, verdicts) == {
        "birds fly.": "judge-no", "cats purr.": "judge-yes", "dogs bark.": "unjudged",
    }  # fmt: skip


def test_every_stratum_gets_two_or_the_draw_is_refused():
    strata = {f"g{i}": f"s{i % 3}" for i in range(30)}
    assert all(s.sampled == 2 for s in design.draw(strata, 6, seed=1).strata.values())
    with pytest.raises(InputError, match="stratum 's2' would get 1; draw at least 2"):
        design.draw(strata, 5, seed=1)
