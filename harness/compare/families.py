"""Per contrast family: each system's score on the claims of one construction family.

The contrast split's records carry ``family`` (``tasks/contrast.py``): a family's own
claims and the standard claims paired with them, balanced per quantifier, so the
quantifier rule scores 0.5 on every family and the construction rule near 1.0 on the
families its train table has seen. The estimand of each cell is the share of the
family's claims answered correctly (gen: the study's rule, ``correct``; mc: ``acc``),
with the compare report's cluster interval (``annotations.stats.cluster_interval``: the
claims of one generic are one cluster, resampled whole).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from logic_claims.annotations import stats
from logic_claims.harness.compare.config import Config
from logic_claims.tasks.contrast import FAMILY_NAMES


def cluster_rate(by_generic: dict[str, list[float]], config: Config) -> dict[str, Any]:
    """n, rate and the generic-clustered interval of the rate (None below 2 generics;
    withheld, with the reason, below 6): :func:`stats.cluster_interval`, the compare
    report's one clustered interval."""
    values = [v for vs in by_generic.values() for v in vs]
    clusters = [g for g, vs in by_generic.items() for _ in vs]
    n = len(values)
    rate = float(np.mean(values)) if n else None
    ci = None
    if len(by_generic) >= 2:
        res = stats.cluster_interval(
            values,
            clusters,
            n_resamples=config.n_resamples,
            confidence_level=config.confidence_level,
            rng=np.random.default_rng(config.seed),
            rate=True,
        )
        ci = stats.interval_json(res.confidence_interval, res.withheld)
    return {"n": n, "generics": len(by_generic), "rate": rate, "ci": ci}


def family_scores(
    samples: dict[str, list[dict[str, Any]]], config: Config
) -> dict[str, dict[str, Any]]:
    """{family: {"gen"|"mc": cluster_rate}} of one system's contrast-split samples."""
    answers: dict[tuple[str, str], dict[str, tuple[str, float]]] = defaultdict(dict)
    for records in samples.values():
        for sample in records:
            doc = sample["doc"]
            if doc.get("split") != "contrast" or doc.get("family") not in FAMILY_NAMES:
                continue
            if "correct" in sample:
                kind, value = "gen", float(bool(sample["correct"]))
            elif "acc" in sample:
                kind, value = "mc", float(sample["acc"])
            else:
                continue
            answers[doc["family"], kind][str(doc["id"])] = (doc["generic"], value)
    out: dict[str, dict[str, Any]] = {}
    for (family, kind), by_id in sorted(answers.items()):
        by_generic: dict[str, list[float]] = defaultdict(list)
        for generic, value in by_id.values():
            by_generic[generic].append(value)
        out.setdefault(family, {})[kind] = cluster_rate(by_generic, config)
    return out


def family_table(
    samples: dict[str, dict[str, list[dict[str, Any]]]], config: Config
) -> dict[str, dict[str, dict[str, Any]]]:
    """{system: {family: {"gen"|"mc": ...}}} for every system with contrast samples."""
    table = {name: family_scores(s, config) for name, s in samples.items()}
    return {name: scores for name, scores in table.items() if scores}
