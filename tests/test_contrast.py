"""Contrast families: built per split from that split's generics, balanced per quantifier
and family, each construction as documented; the construction rule's table from train only;
the per-family report table with generic-clustered intervals."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from logic_claims.harness import baselines
from logic_claims.harness.compare.config import Config
from logic_claims.harness.compare.families import family_scores
from logic_claims.tasks import data
from logic_claims.tasks.claims import DEFAULT_TRUTH, QUANTIFIERS
from logic_claims.tasks.contrast import (
    CONTRAST_SPLITS,
    FAMILIES,
    FAMILY_NAMES,
    Generic,
    parse_exception,
)
from logic_claims.tasks.sources import Row
from logic_claims.tasks.text import normalise


@pytest.fixture(scope="module")
def splits(built_data: Path) -> dict[str, list[dict]]:
    return {name: list(data.load_split(built_data, name)) for name in data.SPLITS}


def test_the_families_flip_every_quantifier_at_least_twice() -> None:
    assert len(FAMILIES) >= 4
    flips = Counter(q for f in FAMILIES for q in f.flips)
    assert {q: flips[q] >= 2 for q in QUANTIFIERS} == dict.fromkeys(QUANTIFIERS, True)


def test_each_family_is_built_from_its_own_split_generics_only(splits) -> None:
    generics = {
        split: {normalise(r["generic"]) for r in splits[split]} for split in CONTRAST_SPLITS
    }
    for split, name in CONTRAST_SPLITS.items():
        used = {normalise(r["generic"]) for r in splits[name]}
        assert used and used <= generics[split], name
        assert {r["split"] for r in splits[name]} == {name}
    # no test generic in any train family (nor in validation's)
    train_families = {normalise(r["generic"]) for r in splits["contrast_train"]}
    assert not train_families & generics["test"]
    assert not {normalise(r["generic"]) for r in splits["contrast_validation"]} & generics["test"]


def test_labels_are_balanced_per_quantifier_within_each_family(splits) -> None:
    for name in CONTRAST_SPLITS.values():
        by_family: dict[tuple[str, str], Counter[bool]] = defaultdict(Counter)
        for r in splits[name]:
            by_family[r["family"], r["quantifier"]][r["label"]] += 1
            # a family's own claims go against the quantifier; its partners follow it
            flipped = r["construction"] != "standard"
            assert r["label"] is (DEFAULT_TRUTH[r["quantifier"]] ^ flipped), r
            assert r["construction"] in ("standard", r["family"])
        for family in FAMILIES:
            for q in family.flips:
                counts = by_family.pop((family.name, q))
                assert counts[True] == counts[False] > 10, (name, family.name, q)
        assert not by_family, f"{name}: a family has claims of a quantifier it does not flip"


def test_every_prefix_of_a_quantifier_mixes_families_and_stays_balanced(splits) -> None:
    for q in QUANTIFIERS:
        records = [r for r in splits["contrast"] if r["quantifier"] == q]
        families = {f.name for f in FAMILIES if q in f.flips}
        assert {r["family"] for r in records[: 2 * len(families)]} == families
        for n in (2, 10, 50):
            rule = sum(DEFAULT_TRUTH[q] == r["label"] for r in records[:n])
            assert rule == n // 2


def test_manifest_counts_each_family_and_what_was_left_out(built_data: Path, splits) -> None:
    manifest = json.loads((built_data / data.MANIFEST).read_text())
    for name in CONTRAST_SPLITS.values():
        counts = manifest["contrast"][name]
        assert set(counts) == set(FAMILY_NAMES)
        for family, c in counts.items():
            mine = [r for r in splits[name] if r["family"] == family]
            assert c["claims"] == len(mine) == sum(c["per_quantifier"].values())
            assert "for balance" in c["left_out"]
    # something the builders could not parse is counted, not silently dropped
    test_counts = manifest["contrast"]["contrast"]
    assert test_counts["negated_exception"]["left_out"]["exception does not parse as 'K do not P'"]


def _generic(text: str, exceptions: list[str], instances: list[str] = ()) -> Generic:
    rows = [Row("negative", text, e, i) for i, e in enumerate(exceptions)]
    rows += [Row("positive", text, e, i) for i, e in enumerate(instances)]
    parsed = tuple((e, parse_exception(e)) for e in exceptions)
    return Generic(text, tuple(rows), parsed, {"birds", "snakes"})


@pytest.mark.parametrize(
    ("family", "generic", "expected"),
    [
        (
            "negated_exception",
            _generic("Birds fly.", ["Penguins do not fly."]),
            {("no", "No Penguins fly.", True), ("some", "Some Penguins fly.", False)},
        ),
        (
            "tautology",
            _generic("Owls hunt at night.", ["Barn owls do not hunt at night."]),
            {
                ("all", "All Barn owls that hunt at night hunt at night.", True),
                ("not_all", "Not all Barn owls that hunt at night hunt at night.", False),
            },
        ),
        (
            "contradiction",
            _generic("Birds are nocturnal.", ["Robins are not nocturnal."]),
            {
                ("no", "No birds that are not nocturnal are nocturnal.", True),
                ("some", "Some birds that are not nocturnal are nocturnal.", False),
            },
        ),
        (
            "taxonomic",
            _generic("Snakes lay eggs.", ["Milksnakes do not lay eggs.", "Frogs do not lay eggs."]),
            {
                ("all", "All Milksnakes are snakes.", True),
                ("not_all", "Not all Milksnakes are snakes.", False),
            },
        ),
        (
            "instance_entailment",
            _generic(
                "Birds feed on grain.", ["Owls do not feed on grain."], ["Birds feed on corn."]
            ),
            {
                ("all", "All birds that feed on corn feed on grain.", True),
                ("not_all", "Not all birds that feed on corn feed on grain.", False),
            },
        ),
    ],
)
def test_each_family_builds_its_documented_construction(
    family: str, generic: Generic, expected: set
) -> None:
    built = [o for o in FAMILIES[FAMILY_NAMES.index(family)].build(generic)]
    claims = {o[:3] for o in built if not isinstance(o, str)}
    assert claims == expected
    # "Frogs" do not name snakes: left out with a reason, not guessed
    if family == "taxonomic":
        assert [o for o in built if isinstance(o, str)] == [
            "exception's kind does not name the generic's kind (no taxonomy to check)"
        ]


def test_construction_rule_table_comes_from_train_only(built_data: Path, tmp_path: Path) -> None:
    """Flipping test's labels changes nothing; flipping train's flips the rule's answers."""
    for name in ("contrast_train.jsonl", "contrast.jsonl", data.MANIFEST):
        shutil.copy(built_data / name, tmp_path / name)
    answer = baselines.rule_answerer("construction-rule", tmp_path)
    contrast = data.load_split(tmp_path, "contrast")
    assert all(answer(r) == r["label"] for r in contrast)  # every family seen in train

    def rewrite(name: str) -> None:
        records = data.load_split(tmp_path, name)
        lines = [json.dumps({**r, "label": not r["label"]}) for r in records]
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")

    rewrite("contrast")
    unchanged = baselines.rule_answerer("construction-rule", tmp_path)
    assert all(unchanged(r) == answer(r) for r in contrast)
    rewrite("contrast_train")
    flipped = baselines.rule_answerer("construction-rule", tmp_path)
    assert all(flipped(r) != answer(r) for r in contrast)


def test_family_table_rates_and_clustered_intervals(built_data: Path) -> None:
    config = Config(
        path=Path("t.yaml"),
        name="t",
        systems=[],
        baseline="quantifier-rule",
        data_dir=built_data,
        output=Path("out"),
        cache=Path("cache"),
        legacy=[],
        annotations=None,
        n_resamples=500,
    )
    for system, expected in (("quantifier-rule", 0.5), ("construction-rule", 1.0)):
        scores = family_scores(baselines.rule_samples(system, built_data), config)
        assert set(scores) == set(FAMILY_NAMES)
        for family, kinds in scores.items():
            for cell in kinds.values():
                assert cell["rate"] == expected, (system, family)
                assert 1 < cell["generics"] < cell["n"]
                low, high = cell["ci"]["low"], cell["ci"]["high"]
                assert low <= expected <= high and (high - low < 0.2)
