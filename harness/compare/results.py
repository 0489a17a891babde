"""Results: lm-eval samples -> per-quantifier tables, tests against the baseline, the report.

Per quantifier, universal (all, not all), existential (some, no) and overall: correct / tie /
wrong rates of the generated answers (the study's rule) and log-likelihood accuracy of the
``*_mc`` tasks, each with a cluster bootstrap-t interval (generics resampled whole).

Against the baseline, one estimand per row: the paired difference in **per-claim
correctness** (system - baseline) on the claims both answered, where a generated answer
counts 1 when correct and 0 when tied or wrong (a tie is not a right answer), and a
log-likelihood answer 1 when the true label scores higher. Claims of one generic are one
cluster: the interval is a cluster bootstrap over generics, the primary test (config
``primary_test``) a sign-flip permutation test of per-generic differences or Durkalski's
clustered McNemar, Holm-corrected across every row of the report; McNemar on the claims
(mid-p, or exact with ``mcnemar: exact``) is shown as a sensitivity analysis. Each row
carries the design effect and the minimum detectable difference at 80% power. The
statistics are those of :mod:`logic_claims.annotations.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from logic_claims.annotations import stats
from logic_claims.annotations.stats.clustered import POWER_NOTE
from logic_claims.harness import study_outputs
from logic_claims.harness.compare import families
from logic_claims.harness.compare.config import Config
from logic_claims.harness.report.rows import (
    GenScores,
    McScores,
    Significance,
    SplitResult,
    SystemResult,
)
from logic_claims.tasks import data
from logic_claims.tasks.claims import CLAIM_TYPES, DEFAULT_TRUTH, QUANTIFIERS, generic_of
from logic_claims.tasks.errors import InputError
from logic_claims.tasks.scoring import OUTCOMES

GROUPS = {q: (q,) for q in QUANTIFIERS} | CLAIM_TYPES | {"overall": QUANTIFIERS}
SPLITS = ("test", "contrast")


def collect(system: str, samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """{split: {"gen": {id: (quantifier, outcome)}, "mc": {id: (quantifier, acc)},
    "generic": {id: the claim's generic (its cluster; the id itself when a doc has none)}}}."""
    out: dict[str, dict[str, dict[str, tuple[str, Any]]]] = {}
    origin: dict[tuple[str, str, str], str] = {}
    for task, records in samples.items():
        for sample in records:
            doc = sample["doc"]
            split = doc.get("split", "test")
            if "correct" in sample:
                kind = "gen"
                value: Any = next(o for o in OUTCOMES if sample.get(o))
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
            generics = out[split].setdefault("generic", {})
            generics[ident] = str(doc.get("generic") or f"claim {ident}")
    return out


def mean_interval(
    values: Sequence[float], config: Config, clusters: Sequence[str] | None = None
) -> dict[str, float] | None:
    """Bootstrap interval of the mean of ``values`` (None below two values).

    With ``clusters`` (each value's generic) the cluster bootstrap-t of
    :func:`stats.cluster_interval`, else a percentile bootstrap. Constant values give the
    point interval.
    """
    import numpy as np

    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return None
    how = {
        "n_resamples": config.n_resamples,
        "confidence_level": config.confidence_level,
        "rng": np.random.default_rng(config.seed),
    }
    if clusters is not None:
        return stats.cluster_interval(x, clusters, **how).confidence_interval._asdict()
    res = stats.bootstrap_interval((x,), np.mean, method="percentile", **how)
    return res.confidence_interval._asdict()


def _generics(ids: list[str], generics: dict[str, str] | None) -> list[str] | None:
    return None if generics is None else [generics.get(i, f"claim {i}") for i in ids]


def gen_table(
    answers: dict[str, tuple[str, str]], config: Config, generics: dict[str, str] | None = None
) -> dict[str, GenScores]:
    """Per group: n, correct / tie / wrong counts and rates, the correct rate's interval
    (clustered by generic when ``generics`` maps claim ids to them)."""
    rows = {}
    for group, quantifiers in GROUPS.items():
        ids = [i for i, (q, _) in answers.items() if q in quantifiers]
        outcomes = [answers[i][1] for i in ids]
        n = len(outcomes)
        counts: dict[str, Any] = {}
        for name in OUTCOMES:
            counts[name] = outcomes.count(name)
            counts[f"{name}_rate"] = outcomes.count(name) / n if n else None
        hits = [o == "correct" for o in outcomes]
        ci = mean_interval(hits, config, _generics(ids, generics))
        rows[group] = GenScores(n=n, **counts, correct_ci=ci)
    return rows


def mc_table(
    answers: dict[str, tuple[str, float]], config: Config, generics: dict[str, str] | None = None
) -> dict[str, McScores]:
    """Per group: n and log-likelihood accuracy with its interval (clustered as gen_table)."""
    rows = {}
    for group, quantifiers in GROUPS.items():
        ids = [i for i, (q, _) in answers.items() if q in quantifiers]
        values = [answers[i][1] for i in ids]
        n = len(values)
        rows[group] = McScores(
            n=n,
            acc=sum(values) / n if n else None,
            acc_ci=mean_interval(values, config, _generics(ids, generics)),
        )
    return rows


def system_result(
    system: str, describe: dict[str, Any], per: dict[str, Any], config: Config
) -> SystemResult:
    """One system's results per split (the splits it answered) from :func:`collect`."""
    splits = {}
    for split in SPLITS:
        if split not in per:
            continue
        part, generic = per[split], per[split].get("generic")
        splits[split] = SplitResult(
            gen=gen_table(part["gen"], config, generic) if "gen" in part else None,
            mc=mc_table(part["mc"], config, generic) if "mc" in part else None,
        )
    return SystemResult(system, describe, splits)


def _paired_answers(
    collected: dict[str, dict[str, Any]], baseline: str
) -> Iterator[tuple[str, str, str, list[Any], list[Any], list[str]]]:
    """(split, metric, system, its answers, the baseline's, generics) on the claims both
    answered, in claim-id order."""
    base = collected[baseline]
    for split in SPLITS:
        generic = base.get(split, {}).get("generic", {})
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
                    theirs = [base_answers[i][1] for i in shared]
                    yield (
                        split,
                        metric,
                        system,
                        mine,
                        theirs,
                        [generic.get(i, f"claim {i}") for i in shared],
                    )


def _test_dict(res: stats.TestResult, role: str) -> dict[str, Any]:
    """A test as the report lists it: name, role (primary or sensitivity), statistic, p."""
    return {"name": res.test, "role": role, "statistic": res.statistic, "pvalue": res.pvalue}


def _finite(x: float) -> float | None:
    """``x``, or None (JSON null) where it is undefined."""
    return x if math.isfinite(x) else None


def comparison_row(
    where: tuple[str, str, str, str],
    s: list[int],
    b: list[int],
    clusters: list[str],
    config: Config,
) -> Significance:
    """One system against the baseline on one split and metric (0/1 per claim);
    ``where``: (split, metric, system, baseline)."""
    res = stats.clustered_paired_comparison(
        s, b, clusters, primary=config.primary_test, mcnemar=config.mcnemar,
        n_resamples=config.n_resamples, confidence_level=config.confidence_level,
        seed=config.seed,
    )  # fmt: skip
    sens = res.sensitivity[0] if res.sensitivity else None
    split, metric, system, baseline = where
    return Significance(
        split=split,
        metric=metric,
        system=system,
        baseline=baseline,
        n=res.n_units,
        n_generics=res.n_clusters,
        system_only=sens.details["a_only"] if sens else None,
        baseline_only=sens.details["b_only"] if sens else None,
        system_rate=res.rate_a,
        baseline_rate=res.rate_b,
        difference=res.statistic,
        confidence_interval=res.confidence_interval._asdict(),
        interval_method=res.interval_method,
        primary_test=res.test,
        statistic=res.primary.statistic,
        pvalue=res.pvalue,
        design_effect=_finite(res.design_effect),
        discordance=res.discordance,
        min_detectable_difference=_finite(res.min_detectable_difference),
        tests=[_test_dict(res.primary, "primary")]
        + [_test_dict(t, "sensitivity") for t in res.sensitivity],
    )


def significance(
    collected: dict[str, dict[str, Any]], baseline: str, config: Config
) -> list[Significance]:
    """Each system vs the baseline, per split and metric: the clustered paired difference,
    the primary test (Holm across every row) and the sensitivity tests."""
    tests = []
    for split, metric, system, mine, theirs, clusters in _paired_answers(collected, baseline):
        hit = "correct" if metric == "correct" else 1.0
        s = [int(value == hit) for value in mine]
        b = [int(value == hit) for value in theirs]
        tests.append(comparison_row((split, metric, system, baseline), s, b, clusters, config))
    for test, adjusted in zip(tests, stats.holm([t.pvalue for t in tests]), strict=True):
        test.pvalue_holm = adjusted
        test.tests[0]["pvalue_holm"] = adjusted
    return tests


MCNEMAR_NAMES = {"midp": "mid-p", "exact": "exact"}
ESTIMAND = (
    "paired difference in per-claim correctness, system - baseline, on the claims both "
    "answered (a generated answer counts 1 if correct, 0 if tied or wrong; an LL answer 1 "
    "if the true label scores higher); claims of one generic form a cluster"
)


def statistics_settings(config: Config) -> dict[str, Any]:
    """What the comparison rows estimate and how they test it (declared in the config)."""
    return {
        "estimand": ESTIMAND,
        "primary_test": config.primary_test,
        "sensitivity": (
            f"McNemar {MCNEMAR_NAMES[config.mcnemar]} test on claims (clustering ignored)"
        ),
        "correction": "Holm across every primary comparison of this report",
        "power": f"minimum detectable difference at {POWER_NOTE} "
        "(Connor 1987, effective pairs = claims / design effect)",
    }


def legacy_run(name: str, path: Any, config: Config) -> dict[str, Any]:
    """A study run's summary with each group's correct rate interval, clustered by the
    generic read off each claim (the study's files name no generic)."""
    summary = {"name": name, **study_outputs.summarise(path)}
    scored = [study_outputs.score_record(r) for r in study_outputs.read_records(path)]
    for group, row in summary["groups"].items():
        chosen = [s for s in scored if group == "overall" or s.record.group == group]
        hits = [s.outcome == "correct" for s in chosen]
        clusters = [generic_of(s.record.claim) for s in chosen]
        row["correct_ci"] = mean_interval(hits, config, clusters)
    return summary


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
        tests = compare_report(
            ratings, rated, baseline=baseline, seed=config.seed,
            primary_test=config.primary_test, mcnemar=config.mcnemar,
        )  # fmt: skip
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
    systems = [
        system_result(system.name, system.describe(), collected[system.name], config)
        for system in config.systems
    ]
    return {
        "name": config.name,
        "config": str(config.path),
        "data_dir_manifest_sha256": data.manifest_sha256(config.data_dir),
        "baseline": config.baseline,
        "bootstrap": {
            "method": "bootstrap-t, resampling generics (all claims of a generic together)",
            "n_resamples": config.n_resamples,
            "confidence_level": config.confidence_level,
            "seed": config.seed,
        },
        "systems": {system.name: system.to_json() for system in systems},
        "statistics": statistics_settings(config),
        "significance": [row.to_json() for row in significance(collected, config.baseline, config)],
        "families": families.family_table(samples, config),
        "legacy": [legacy_run(name, path, config) for name, path in config.legacy],
        "annotations": annotation_section(config, [s.name for s in config.systems]),
        "notes": notes,
    }
