"""Results: lm-eval samples -> per-quantifier tables, tests against the baseline, the report.

Per quantifier, universal (all, not all), existential (some, no) and overall: correct / tie /
wrong rates of the generated answers (the study's rule) and log-likelihood accuracy of the
``*_mc`` tasks, each with a percentile bootstrap interval. Each system is tested against the
baseline with McNemar's exact test on the claims both answered (paired by claim id), with a
paired bootstrap interval of the difference, and Holm's correction over all tests of the
report. The bootstrap, McNemar and Holm are those of :mod:`logic_claims.annotations.stats`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from logic_claims.annotations import stats
from logic_claims.harness import study_outputs
from logic_claims.harness.compare import families
from logic_claims.harness.compare.config import Config
from logic_claims.tasks import data
from logic_claims.tasks.claims import CLAIM_TYPES, DEFAULT_TRUTH, QUANTIFIERS
from logic_claims.tasks.errors import InputError

GROUPS = {q: (q,) for q in QUANTIFIERS} | CLAIM_TYPES | {"overall": QUANTIFIERS}
SPLITS = ("test", "contrast")


def collect(system: str, samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{split: {"gen": {id: (quantifier, outcome)}, "mc": {id: (quantifier, acc)}}}."""
    out: dict[str, dict[str, dict[str, tuple[str, Any]]]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for task, records in samples.items():
        for sample in records:
            doc = sample["doc"]
            split = doc.get("split", "test")
            if "correct" in sample:
                kind = "gen"
                value: Any = next(o for o in ("correct", "tie", "wrong") if sample.get(o))
            elif "acc" in sample:
                kind, value = "mc", float(sample["acc"])
            else:
                continue
            ident = str(doc["id"])
            slot = out.setdefault(split, {}).setdefault(kind, {})
            if ident in slot:
                raise InputError(
                    f"system {system!r} answers claim {ident} twice on the {split} split "
                    f"({origin[split, kind, ident]} and {task}): give each prompt its own system"
                )
            slot[ident] = (doc["quantifier"], value)
            origin[split, kind, ident] = task
    return out


def mean_interval(values: Sequence[float], config: Config) -> dict[str, float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (None below two values).

    Constant values give the point interval (the bootstrap's own fallback).
    """
    import numpy as np

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    res = stats.bootstrap_interval(
        (x,),
        np.mean,
        n_resamples=config.n_resamples,
        confidence_level=config.confidence_level,
        rng=np.random.default_rng(config.seed),
        method="percentile",
    )
    return res.confidence_interval._asdict()


def gen_table(answers: dict[str, tuple[str, str]], config: Config) -> dict[str, Any]:
    """Per group: n, correct / tie / wrong counts and rates, the correct rate's interval."""
    rows = {}
    for group, quantifiers in GROUPS.items():
        outcomes = [o for q, o in answers.values() if q in quantifiers]
        n = len(outcomes)
        row: dict[str, Any] = {"n": n}
        for name in ("correct", "tie", "wrong"):
            row[name] = outcomes.count(name)
            row[f"{name}_rate"] = outcomes.count(name) / n if n else None
        row["correct_ci"] = mean_interval([o == "correct" for o in outcomes], config)
        rows[group] = row
    return rows


def mc_table(answers: dict[str, tuple[str, float]], config: Config) -> dict[str, Any]:
    """Per group: n and log-likelihood accuracy with its interval."""
    rows = {}
    for group, quantifiers in GROUPS.items():
        values = [v for q, v in answers.values() if q in quantifiers]
        n = len(values)
        rows[group] = {
            "n": n,
            "acc": sum(values) / n if n else None,
            "acc_ci": mean_interval(values, config),
        }
    return rows


def _paired_answers(
    collected: dict[str, dict[str, Any]], baseline: str
) -> Iterator[tuple[str, str, str, list[Any], list[Any]]]:
    """(split, metric, system, its answers, the baseline's) on the claims both answered."""
    base = collected[baseline]
    for split in SPLITS:
        for kind, metric in (("gen", "correct"), ("mc", "acc")):
            base_answers = base.get(split, {}).get(kind)
            if not base_answers:
                continue
            for system, per_split in collected.items():
                answers = per_split.get(split, {}).get(kind)
                if system == baseline or not answers:
                    continue
                shared = sorted(set(answers) & set(base_answers))
                if shared:
                    mine = [answers[i][1] for i in shared]
                    yield split, metric, system, mine, [base_answers[i][1] for i in shared]


def significance(
    collected: dict[str, dict[str, Any]], baseline: str, config: Config
) -> list[dict[str, Any]]:
    """McNemar exact test of each system vs the baseline, per split and metric; Holm."""
    tests = []
    for split, metric, system, mine, theirs in _paired_answers(collected, baseline):
        hit = "correct" if metric == "correct" else 1.0
        s = [int(value == hit) for value in mine]
        b = [int(value == hit) for value in theirs]
        res = stats.mcnemar_exact(s, b)  # a = the system, b = the baseline
        tests.append(
            {
                "split": split,
                "metric": metric,
                "system": system,
                "baseline": baseline,
                "n": len(s),
                "system_only": res.details["a_only"],
                "baseline_only": res.details["b_only"],
                "system_rate": sum(s) / len(s),
                "baseline_rate": sum(b) / len(b),
                "difference": (sum(s) - sum(b)) / len(s),
                "confidence_interval": mean_interval(
                    [x - y for x, y in zip(s, b, strict=True)], config
                ),
                "statistic": res.statistic,
                "pvalue": res.pvalue,
            }
        )
    for test, adjusted in zip(tests, stats.holm([t["pvalue"] for t in tests]), strict=True):
        test["pvalue_holm"] = adjusted
    return tests


def annotation_section(config: Config, names: list[str]) -> dict[str, Any]:
    """Factuality/justification scores and tests from the annotation module, if available."""
    if config.annotations is None:
        return {"status": "none"}
    from logic_claims.annotations.ratings import load_ratings  # pandas: only when needed
    from logic_claims.annotations.reports import compare_report, scores_report

    ratings = load_ratings(config.annotations)
    present = sorted(set(ratings["system"]))
    rated = [n for n in names if n in present] or present
    ratings = ratings[ratings["system"].isin(rated)]
    scores = scores_report(ratings, by=("system", "quantifier"))
    overall = scores_report(ratings, by=("system",))
    section: dict[str, Any] = {
        "status": "ok",
        "file": str(config.annotations),
        "systems": rated,
        "scores": scores,
        "overall": overall,
    }
    if len(rated) >= 2:
        baseline = config.baseline if config.baseline in rated else None
        tests = compare_report(ratings, rated, baseline=baseline, seed=config.seed)
        section["compare"] = tests
    else:
        section["note"] = "fewer than two rated systems: no tests between systems"
    return section


# --------------------------------------------------------------------------- report


def contrast_balance_note(samples: dict[str, dict[str, list[dict]]]) -> str | None:
    """A note when the contrast claims evaluated do not catch the quantifier rule.

    The contrast split is balanced as a whole; a ``limit`` takes the first claims of
    each quantifier, which need not be balanced, and then a high contrast score means
    little. Checked on the claims actually evaluated (by any system).
    """
    labels: dict[str, tuple[str, bool]] = {}
    for per_task in samples.values():
        for records in per_task.values():
            for sample in records:
                doc = sample["doc"]
                if doc.get("split") == "contrast":
                    labels[str(doc["id"])] = (doc["quantifier"], bool(doc["label"]))
    if not labels:
        return None
    hits = sum(DEFAULT_TRUTH[q] == label for q, label in labels.values())
    rate = hits / len(labels)
    if rate <= 0.5:
        return None
    return (
        f"The {len(labels)} contrast claims evaluated here do not catch the quantifier rule "
        f"(it scores {rate:.0%} on them; on the whole contrast split it scores at most 50%): "
        "with a limit, lm-eval takes the first claims of each quantifier of the split, so "
        "read the contrast rows with care or raise the limit."
    )


def build_report(config: Config, samples: dict[str, dict[str, list[dict]]]) -> dict[str, Any]:
    """The report (``report.json``) from every system's samples by task."""
    collected = {name: collect(name, s) for name, s in samples.items()}
    notes = list(config.notes)
    if note := contrast_balance_note(samples):
        notes.append(note)
    systems = {}
    for system in config.systems:
        per = collected[system.name]
        systems[system.name] = {
            "config": system.describe(),
            "splits": {
                split: {
                    "gen": gen_table(per[split]["gen"], config)
                    if "gen" in per.get(split, {})
                    else None,
                    "mc": mc_table(per[split]["mc"], config)
                    if "mc" in per.get(split, {})
                    else None,
                }
                for split in SPLITS
                if split in per
            },
        }
    return {
        "name": config.name,
        "config": str(config.path),
        "data_dir_manifest_sha256": data.manifest_sha256(config.data_dir),
        "baseline": config.baseline,
        "bootstrap": {
            "method": "percentile",
            "n_resamples": config.n_resamples,
            "confidence_level": config.confidence_level,
            "seed": config.seed,
        },
        "systems": systems,
        "significance": significance(collected, config.baseline, config),
        "families": families.family_table(samples, config),
        "legacy": [{"name": name, **study_outputs.summarise(path)} for name, path in config.legacy],
        "annotations": annotation_section(config, [s.name for s in config.systems]),
        "notes": notes,
    }
