"""Three reports over human judgments: scores, agreement, comparisons between systems.

Input: a pandas DataFrame with one row per judgment and the columns ``item_id``, ``system``,
``annotator``, ``dimension``, ``value`` (a label such as ``"0"``/``"1"``), plus optional item
metadata ``quantifier`` (all/not_all/some/no), ``claim``, ``label``, ``pair_id``. A missing
rating is an absent row. An item is one system's answer to one claim; the same claim answered by
two systems gives two items that share ``claim`` (or ``pair_id``, which wins when present). An
answer given word for word by two systems may be one item judged once and listed under both
systems (the store does this): it then counts once per system in scores and comparisons, and once
in agreement.

- :func:`scores_report` - rate of the positive label per group, Wilson intervals.
- :func:`agreement_report` - per dimension: percent agreement, Krippendorff's alpha (bootstrap
  interval), Fleiss' kappa, pairwise Cohen's kappa, Gwet's AC1, label prevalence.
- :func:`compare_report` - per dimension and pair of systems: difference in rate with an
  interval, permutation test, McNemar (paired) or Fisher (unpaired), Holm correction.

Each returns a plain dict (``json.dumps``-able: no numpy types, NaN as ``None``);
:func:`render_text` and :func:`render_html` turn any of them into text or a self-contained page.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from logic_claims.annotations import stats
from logic_claims.tasks.claims import CLAIM_TYPES, quantifier_of
from logic_claims.tasks.claims import ORDER as QUANTIFIER_ORDER
from logic_claims.tasks.errors import InputError

REQUIRED_COLUMNS = ("item_id", "system", "annotator", "dimension", "value")
DEFAULT_DIMENSIONS = ("factual", "justified")
BINARY_LABELS = ("0", "1")
EXTREME_PREVALENCE = 0.8

Labels = Mapping[str, Sequence[str]] | None


# --------------------------------------------------------------------------- input


def _label(value: Any) -> str:
    """One spelling per label: 1, 1.0 and "1" are the same judgment."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _normalise_quantifier(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return value
    return str(value).strip().lower().replace(" ", "_").replace("-", "_")


def prepare(ratings: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise the ratings table; raise :class:`InputError` on a contract breach.

    Rows with an empty value are dropped (not rated). The same (item, annotator, dimension)
    twice with different values is a conflict and an error: the store resolves those, the
    statistics must not pick one silently. An item may be listed under several systems.
    """
    if not isinstance(ratings, pd.DataFrame):
        raise InputError(f"ratings must be a pandas DataFrame, not {type(ratings).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in ratings.columns]
    if missing:
        raise InputError(
            f"ratings lack column(s) {', '.join(missing)}; need {', '.join(REQUIRED_COLUMNS)}"
        )
    df = ratings.copy()
    df = df[df["value"].notna() & (df["value"].astype(str).str.strip() != "")]
    for column in REQUIRED_COLUMNS:
        if df[column].isna().any():
            raise InputError(f"ratings have an empty {column} in a rated row")
    if df.empty:
        raise InputError("no ratings: the table has no rated rows")
    df["value"] = df["value"].map(_label)
    for column in ("item_id", "system", "annotator", "dimension"):
        df[column] = df[column].map(lambda v: str(v).strip())
    if "quantifier" in df.columns:
        df["quantifier"] = df["quantifier"].map(_normalise_quantifier)
    df = df.drop_duplicates(subset=["item_id", "system", "annotator", "dimension", "value"])
    key = ["item_id", "annotator", "dimension"]
    # System left out of the key: one judgment of an item listed under two systems is one value.
    distinct = df.drop_duplicates(subset=[*key, "value"])
    clash = distinct[distinct.duplicated(subset=key, keep=False)]
    if not clash.empty:
        first = clash.iloc[0]
        values = sorted(clash[(clash[key] == first[key]).all(axis=1)]["value"])
        raise InputError(
            f"conflicting ratings: item {first['item_id']!r}, annotator {first['annotator']!r}, "
            f"dimension {first['dimension']!r} has values {values} "
            f"({len(clash.groupby(key))} such conflicts)"
        )
    return df.reset_index(drop=True)


def dimensions_of(df: pd.DataFrame) -> list[str]:
    """Default dimensions first (factual, justified), then the others alphabetically."""
    present = set(df["dimension"])
    return [d for d in DEFAULT_DIMENSIONS if d in present] + sorted(
        present - set(DEFAULT_DIMENSIONS)
    )


def labels_of(df: pd.DataFrame, dimension: str, labels: Labels = None) -> list[str]:
    """The dimension's label set: given, else ``["0", "1"]`` for 0/1 data, else the labels seen."""
    seen = sorted(set(df.loc[df["dimension"] == dimension, "value"]))
    if labels is not None and dimension in labels:
        declared = [_label(v) for v in labels[dimension]]
        unknown = sorted(set(seen) - set(declared))
        if unknown:
            raise InputError(
                f"dimension {dimension!r} has value(s) {unknown} outside its labels {declared}"
            )
        return declared
    if set(seen) <= set(BINARY_LABELS):
        return list(BINARY_LABELS)
    return seen


UNIT = ["system", "item_id"]


def item_metadata(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (system, item): the metadata columns (first non-empty value per item).

    Indexed by (system, item_id), with ``system`` also a column for grouping. ``quantifier`` is
    derived from ``claim`` when the column is absent or empty.
    """
    extra = [c for c in df.columns if c not in ("annotator", "dimension", "value", *UNIT)]
    meta = df.groupby(UNIT, sort=False)[extra].first()
    meta.insert(0, "system", meta.index.get_level_values("system"))
    if "claim" in meta.columns:
        derived = meta["claim"].map(lambda c: quantifier_of(c) if isinstance(c, str) else None)
        if "quantifier" in meta.columns:
            meta["quantifier"] = meta["quantifier"].where(meta["quantifier"].notna(), derived)
        else:
            meta["quantifier"] = derived
    return meta


def _positive_for(positive: str | Mapping[str, str], dimension: str) -> str:
    if isinstance(positive, Mapping):
        return _label(positive.get(dimension, "1"))
    return _label(positive)


def _check_positive(df: pd.DataFrame, dims: Iterable[str], positive, labels: Labels) -> None:
    for dim in dims:
        pos = _positive_for(positive, dim)
        dim_labels = labels_of(df, dim, labels)
        if pos not in dim_labels:
            raise InputError(
                f"positive label {pos!r} is not a label of dimension {dim!r} "
                f"(labels: {dim_labels}); pass positive={{{dim!r}: LABEL}}"
            )


def item_scores(df: pd.DataFrame, dimension: str, positive: str) -> pd.DataFrame:
    """Per (system, item) of one dimension: ``n`` ratings, ``share`` positive, ``majority``.

    ``majority`` is 1 when the positive label is the single most frequent label, 0 when it is
    not among the most frequent, and 1/t when it ties with t - 1 other labels (0.5 for a binary
    tie); ``tie`` flags those items.
    """
    sub = df[df["dimension"] == dimension]
    counts = pd.crosstab([sub["system"], sub["item_id"]], sub["value"])
    n = counts.sum(axis=1)
    pos = counts[positive] if positive in counts.columns else pd.Series(0, index=counts.index)
    top = counts.max(axis=1)
    n_top = counts.eq(top, axis=0).sum(axis=1)
    is_top = pos.eq(top)
    majority = np.where(is_top, 1.0 / n_top, 0.0)
    return pd.DataFrame(
        {
            "n": n.astype(int),
            "positive": pos.astype(int),
            "share": pos / n,
            "majority": majority,
            "tie": is_top & (n_top > 1),
        },
        index=counts.index,
    )


def _interval(ci: stats.ConfidenceInterval) -> dict[str, float]:
    return {"low": ci.low, "high": ci.high}


def _jsonable(obj: Any) -> Any:
    """Plain Python for json.dumps: numpy scalars unwrapped, NaN/inf -> None, tuples -> lists."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, np.ndarray)):
        return [_jsonable(v) for v in (obj.tolist() if isinstance(obj, np.ndarray) else obj)]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


# --------------------------------------------------------------------------- scores


COMBINE_NOTES = {
    ("majority", "half"): (
        "Each item counts once: its raters are combined by majority vote. An item whose raters "
        "tie counts as half an item with the label (0.5), so denominators stay the number of "
        "items. With one rater per item this is that rater's judgment."
    ),
    ("majority", "drop"): (
        "Each item counts once: its raters are combined by majority vote. Items whose raters "
        "tie are left out of that rate (counted under 'ties')."
    ),
    ("mean", "half"): (
        "Each item counts once with the share of its raters who gave the label (the mean of the "
        "raters' 0/1 judgments); the rate is the mean of those shares over items. The Wilson "
        "interval treats each item as one trial, which is conservative for shares."
    ),
}
COMBINE_NOTES["mean", "drop"] = COMBINE_NOTES["mean", "half"]


def _group_sort_key(key: tuple, by: Sequence[str]) -> tuple:
    parts = []
    for column, value in zip(by, key, strict=True):
        if column in ("quantifier", "claim_type") and value in QUANTIFIER_ORDER:
            parts.append((0, QUANTIFIER_ORDER.index(value), ""))
        else:
            parts.append((1, 0, str(value)))
    return tuple(parts)


def scores_report(
    ratings: pd.DataFrame,
    by: Sequence[str] = ("system",),
    positive: str | Mapping[str, str] = "1",
    combine: str = "majority",
    *,
    ties: str = "half",
    labels: Labels = None,
    confidence_level: float = 0.95,
) -> dict[str, Any]:
    """Rate of the positive label per group and dimension, with Wilson intervals.

    ``by``: item columns to group by (``[]`` = one overall row). Grouping by ``quantifier``
    also adds ``universal`` (all + not_all) and ``existential`` (some + no) rows.
    ``combine``: ``"majority"`` (per-item majority vote; ``ties="half"`` counts a tie as 0.5,
    ``ties="drop"`` leaves tied items out) or ``"mean"`` (per-item share of positive ratings).
    """
    if combine not in ("majority", "mean"):
        raise InputError(f"combine must be 'majority' or 'mean', not {combine!r}")
    if ties not in ("half", "drop"):
        raise InputError(f"ties must be 'half' or 'drop', not {ties!r}")
    by = [str(b).strip() for b in by if str(b).strip()]
    df = prepare(ratings)
    n_units = int(df.drop_duplicates(UNIT).shape[0])
    per_rater = "annotator" in by
    if per_rater:
        # One rater's view per row (nothing to combine): split each item by its rater, so an
        # item counts once per annotator who judged it; useful to spot a lenient rater.
        df = df.assign(_rater=df["annotator"], item_id=df["item_id"] + "\x1f" + df["annotator"])
        by = ["_rater" if b == "annotator" else b for b in by]
    meta = item_metadata(df)
    unknown = [b for b in by if b not in meta.columns]
    if unknown:
        raise InputError(
            f"cannot group by {', '.join(unknown)}: no such column in the ratings "
            f"(item columns: {', '.join(meta.columns)})"
        )
    dims = dimensions_of(df)
    _check_positive(df, dims, positive, labels)
    groups = meta[by].astype(object).where(meta[by].notna(), "(none)") if by else None
    if groups is not None:  # "system" is an index level too: rename the levels to group by column
        groups.index = groups.index.set_names(["_system", "_item_id"])

    per_dim: dict[str, pd.DataFrame] = {}
    for dim in dims:
        scores = item_scores(df, dim, _positive_for(positive, dim))
        scores["score"] = scores["majority"] if combine == "majority" else scores["share"]
        per_dim[dim] = scores

    # group key -> (system, item_id) units; the quantifier classes are extra groups over them
    members: dict[tuple, list[tuple[str, str]]] = {}
    if by:
        grouper = by[0] if len(by) == 1 else by  # a one-element list would give 1-tuples
        for key, index in groups.groupby(grouper, sort=False).groups.items():
            members[key if isinstance(key, tuple) else (key,)] = list(index)
        if "quantifier" in by:
            qpos = by.index("quantifier")
            for key, units in list(members.items()):
                for name, parts in CLAIM_TYPES.items():
                    if key[qpos] in parts:
                        ckey = (*key[:qpos], name, *key[qpos + 1 :])
                        members[ckey] = members.get(ckey, []) + units
    else:
        members[()] = list(meta.index)

    rows = []
    for key in sorted(members, key=lambda k: _group_sort_key(k, by)):
        index = pd.MultiIndex.from_tuples(members[key], names=UNIT)
        names = ["annotator" if b == "_rater" else b for b in by]
        row: dict[str, Any] = {"group": dict(zip(names, key, strict=True)), "dimensions": {}}
        n_items = 0
        for dim in dims:
            s = per_dim[dim].reindex(index).dropna(subset=["n"])
            n_ties = int(s["tie"].sum()) if combine == "majority" else 0
            if combine == "majority" and ties == "drop":
                s = s[~s["tie"].astype(bool)]
            k, n = float(s["score"].sum()), len(s)
            res = stats.wilson_interval(k, n, confidence_level=confidence_level)
            row["dimensions"][dim] = {
                "n_items": n,
                "n_ratings": int(s["n"].sum()),
                "positive": k,
                "rate": res.statistic,
                "confidence_interval": _interval(res.confidence_interval),
                "ties": n_ties,
            }
            n_items = max(n_items, n)
        row["n_items"] = n_items
        rows.append(row)

    return _jsonable(
        {
            "report": "scores",
            "by": ["annotator" if b == "_rater" else b for b in by],
            "dimensions": dims,
            "positive": {d: _positive_for(positive, d) for d in dims},
            "combine": combine,
            "ties": ties,
            "combine_note": (
                "Grouped by annotator: each row counts one rater's own judgments, one per item."
                if per_rater
                else COMBINE_NOTES[combine, ties]
            ),
            "interval": (
                f"Wilson score {confidence_level:.0%} interval (statsmodels proportion_confint, "
                "method='wilson'), one trial per item"
            ),
            "confidence_level": confidence_level,
            "n_items": n_units,
            "n_ratings": len(df),
            "n_annotators": int(df["annotator"].nunique()),
            "rows": rows,
        }
    )


# --------------------------------------------------------------------------- agreement


def _result_dict(res: stats.AgreementResult) -> dict[str, Any]:
    return {
        "statistic": res.statistic,
        "confidence_interval": _interval(res.confidence_interval),
        "standard_error": res.standard_error,
        "pvalue": res.pvalue,
        "observed_agreement": res.observed_agreement,
        "chance_agreement": res.chance_agreement,
        "n_items": res.n_items,
        "n_pairable": res.n_pairable,
        "method": res.method,
        **({"details": res.details} if res.details else {}),
    }


def prevalence_note(dimension: str, prevalence: Mapping[str, float], threshold: float) -> str:
    label, share = max(prevalence.items(), key=lambda kv: kv[1])
    return (
        f"{dimension}: {share:.0%} of the ratings are {label!r}. With prevalence this extreme, "
        "kappa-type statistics (Cohen's and Fleiss' kappa, Krippendorff's alpha) can be low even "
        "when raters almost always agree, because the agreement they expect by chance, estimated "
        "from the skewed label shares, is already close to 1: the 'kappa paradox' (Feinstein & "
        "Cicchetti 1990, J Clin Epidemiol 43:543-549). Read them together with percent agreement "
        "and Gwet's AC1, whose chance agreement stays small under skewed prevalence "
        f"(Gwet 2008). Threshold for this note: a label above {threshold:.0%} or below "
        f"{1 - threshold:.0%} of the ratings."
    )


def agreement_report(
    ratings: pd.DataFrame,
    *,
    labels: Labels = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    confidence_level: float = 0.95,
    extreme: float = EXTREME_PREVALENCE,
    min_pair_items: int = 2,
) -> dict[str, Any]:
    """Inter-rater agreement per dimension; every statistic accepts items rated by a subset.

    ``labels``: dimension -> its full label set (default: 0/1 for 0/1 data, else the labels
    seen); AC1 depends on the number of possible labels. ``n_boot``/``seed``: Krippendorff's
    alpha bootstrap over items. ``extreme``: prevalence above this (or below 1 - this) adds
    the kappa-paradox note. ``min_pair_items``: pairs of raters sharing fewer items get no
    Cohen's kappa.
    """
    df = prepare(ratings)
    dims = dimensions_of(df)
    blocks = []
    notes: list[str] = []
    for dim in dims:
        # An item listed under two systems was judged once: count it once here.
        sub = df[df["dimension"] == dim].drop_duplicates(subset=["item_id", "annotator"])
        dim_labels = labels_of(df, dim, labels)
        wide = sub.pivot(index="item_id", columns="annotator", values="value")
        raters = list(wide.columns)
        table, _ = stats.counts_table(wide, dim_labels)
        per_item = table.sum(axis=1)
        counts = sub["value"].value_counts()
        prevalence = {lab: float(counts.get(lab, 0) / len(sub)) for lab in dim_labels}
        block: dict[str, Any] = {
            "dimension": dim,
            "labels": dim_labels,
            "n_items": len(wide),
            "n_pairable": int((per_item >= 2).sum()),
            "n_raters": len(raters),
            "n_ratings": len(sub),
            "raters_per_item": {
                "min": int(per_item.min()),
                "mean": float(per_item.mean()),
                "max": int(per_item.max()),
            },
            "prevalence": prevalence,
            "notes": [],
        }
        coefficients = {
            "percent_agreement": stats.percent_agreement(table, confidence_level=confidence_level),
            "krippendorff_alpha": stats.krippendorff_alpha(
                table, n_boot=n_boot, confidence_level=confidence_level, seed=seed
            ),
            "fleiss_kappa": stats.fleiss_kappa(table, confidence_level=confidence_level),
            "gwet_ac1": stats.gwet_ac1(table, confidence_level=confidence_level),
        }
        for name, res in coefficients.items():
            block[name] = _result_dict(replace(res, n_raters=len(raters)))
        pairs = []
        for ra, rb in itertools.combinations(raters, 2):
            both = wide[[ra, rb]].dropna()
            if len(both) < min_pair_items:
                continue
            res = stats.cohen_kappa(
                both[ra].tolist(),
                both[rb].tolist(),
                categories=dim_labels,
                confidence_level=confidence_level,
            )
            pairs.append({"raters": [ra, rb], **_result_dict(res)})
        finite = [p["statistic"] for p in pairs if math.isfinite(p["statistic"])]
        block["cohen_kappa"] = {
            "pairs": pairs,
            "mean": float(np.mean(finite)) if finite else math.nan,
            "mean_note": "mean of the pairwise kappas (Light's kappa, Light 1971)",
            "min_pair_items": min_pair_items,
        }
        if block["n_pairable"] == 0:
            block["notes"].append(
                f"{dim}: no item was rated by two or more raters, so agreement cannot be "
                "measured. Assign each item to two or more raters (annotate new --per-item 2)."
            )
        else:
            # One threshold on the most frequent label: for 0/1 data "> 0.8" and "< 0.2" are
            # the same condition, and with many labels a rare one is no paradox.
            if max(prevalence.values()) > extreme:
                block["notes"].append(prevalence_note(dim, prevalence, extreme))
            if not math.isfinite(block["fleiss_kappa"]["statistic"]):
                block["notes"].append(
                    f"{dim}: every rating uses the same label, so chance-corrected coefficients "
                    "are 0/0 (undefined); only percent agreement is meaningful."
                )
            if block["n_pairable"] < 30:
                block["notes"].append(
                    f"{dim}: only {block['n_pairable']} item(s) were rated twice or more; the "
                    "intervals are wide and the coefficients unstable."
                )
        notes.extend(block["notes"])
        blocks.append(block)
    return _jsonable(
        {
            "report": "agreement",
            "dimensions": blocks,
            "settings": {
                "n_boot": n_boot,
                "seed": seed,
                "confidence_level": confidence_level,
                "extreme_prevalence": extreme,
            },
            "definitions": {
                "percent_agreement": (
                    "share of agreeing rater pairs per item, averaged over items rated twice or "
                    "more; linearised interval (Gwet 2014, ch. 5)"
                ),
                "krippendorff_alpha": (
                    "nominal alpha, krippendorff package; percentile bootstrap over items"
                ),
                "fleiss_kappa": (
                    "Fleiss (1971); items with fewer raters handled as in Gwet (2014, ch. 2); "
                    "linearised t interval"
                ),
                "gwet_ac1": "Gwet (2008) AC1; missing ratings as in Gwet (2014); t interval",
                "cohen_kappa": (
                    "per pair of raters over the items both rated; statsmodels cohens_kappa, "
                    "asymptotic SE"
                ),
            },
            "notes": notes,
        }
    )


# --------------------------------------------------------------------------- compare


def _pair_key(meta: pd.DataFrame) -> str | None:
    for column in ("pair_id", "claim"):
        if column in meta.columns and meta[column].notna().any():
            return column
    return None


def _unit_scores(
    df: pd.DataFrame, meta: pd.DataFrame, dimension: str, positive: str, key: str | None
) -> pd.Series:
    """Share of positive ratings per unit: per item, or per (system, key) when pairing.

    Two items of one system with the same claim (a claim asked twice) are pooled into one unit,
    so each claim is one pair.
    """
    sub = df[df["dimension"] == dimension]
    if key is None:
        unit = sub["item_id"]
    else:
        lookup = meta[key].reindex(pd.MultiIndex.from_frame(sub[UNIT]))
        unit = pd.Series(lookup.to_numpy(), index=sub.index, dtype=object)
        unit = unit.where(unit.notna(), "item:" + sub["item_id"])
    frame = pd.DataFrame(
        {
            "system": sub["system"].to_numpy(),
            "unit": unit.to_numpy(),
            "pos": (sub["value"] == positive).to_numpy(),
        }
    )
    return frame.groupby(["system", "unit"])["pos"].mean()


WHY_PAIRED = (
    "Both systems were judged on the same claims, so each claim is a pair and the tests compare "
    "the two answers to one claim: the paired permutation test swaps the systems' scores within "
    "a claim (it uses every rater's judgment); McNemar's exact test uses the per-claim majority "
    "labels and only the claims where the two systems differ."
)
WHY_UNPAIRED = (
    "The systems were judged on different claims (or too few shared ones), so their items are "
    "independent samples: the permutation test reshuffles items between the systems; Fisher's "
    "exact test compares the two systems' counts of majority labels."
)


def compare_report(
    ratings: pd.DataFrame,
    systems: Sequence[str],
    baseline: str | None = None,
    *,
    positive: str | Mapping[str, str] = "1",
    paired: bool | str = "auto",
    labels: Labels = None,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Do two or more systems differ in the rate of the positive label, per dimension?

    Pairs: ``baseline`` vs each other system (difference = other - baseline), else every pair
    in the order given (difference = first - second). ``paired="auto"`` pairs two systems on
    ``pair_id`` (or ``claim``) when at least half of the smaller system's claims were judged
    for both; ``True``/``False`` force it. Holm's correction runs over all comparisons
    (dimensions x pairs), separately for the permutation tests and the exact tests.
    """
    systems = [str(s).strip() for s in systems if str(s).strip()]
    if len(set(systems)) < 2:
        raise InputError("compare needs at least two different systems (--systems A,B)")
    if baseline is not None and baseline not in systems:
        systems = [baseline, *systems]
    df = prepare(ratings)
    present = sorted(set(df["system"]))
    for s in systems:
        if s not in present:
            raise InputError(f"system {s!r} has no ratings; systems present: {', '.join(present)}")
    if paired not in ("auto", True, False):
        raise InputError(f"paired must be 'auto', True or False, not {paired!r}")
    meta = item_metadata(df)
    dims = dimensions_of(df)
    _check_positive(df, dims, positive, labels)
    key = _pair_key(meta)
    if baseline is not None:
        pairs = [(s, baseline) for s in systems if s != baseline]
    else:
        pairs = list(itertools.combinations(dict.fromkeys(systems), 2))

    keys_of: dict[str, set] = {}
    if key is not None:
        for s in systems:
            keys_of[s] = set(meta.loc[(meta["system"] == s) & meta[key].notna(), key])

    comparisons: list[dict[str, Any]] = []
    for a, b in pairs:
        shared = keys_of[a] & keys_of[b] if key is not None else set()
        smaller = min(len(keys_of.get(a, ())), len(keys_of.get(b, ()))) if key else 0
        if paired == "auto":
            use_paired = len(shared) >= 2 and len(shared) >= 0.5 * smaller
        else:
            use_paired = bool(paired)
        if use_paired and not shared:
            raise InputError(
                f"systems {a!r} and {b!r} share no claim"
                + (f" ({key})" if key else " (no claim or pair_id column)")
                + ", so they cannot be compared paired"
            )
        for dim in dims:
            pos = _positive_for(positive, dim)
            scores = _unit_scores(df, meta, dim, pos, key if use_paired else None)
            per_system = {s: g.droplevel(0) for s, g in scores.groupby(level=0)}
            entry: dict[str, Any] = {"dimension": dim, "system_a": a, "system_b": b}
            if a not in per_system or b not in per_system:
                lacking = a if a not in per_system else b
                entry.update(skipped=f"{lacking} has no {dim} ratings")
                comparisons.append(entry)
                continue
            sa, sb = per_system[a], per_system[b]
            if use_paired:
                common = sa.index.intersection(sb.index)
                if len(common) == 0:
                    entry.update(skipped=f"no claim has {dim} ratings for both systems")
                    comparisons.append(entry)
                    continue
                res = stats.paired_comparison(
                    sa[common].to_numpy(),
                    sb[common].to_numpy(),
                    n_resamples=n_resamples,
                    confidence_level=confidence_level,
                    seed=seed,
                )
                design = (
                    f"paired on {key}: {len(common)} claims judged for both; "
                    f"{len(sa) - len(common)} of {a}'s and {len(sb) - len(common)} of {b}'s "
                    "have no partner and are left out"
                )
                why = WHY_PAIRED
            else:
                res = stats.unpaired_comparison(
                    sa.to_numpy(),
                    sb.to_numpy(),
                    n_resamples=n_resamples,
                    confidence_level=confidence_level,
                    seed=seed,
                )
                design = f"unpaired: {len(sa)} items of {a}, {len(sb)} items of {b}"
                if key is not None and shared:
                    design += f" ({len(shared)} shared {key} values: too few to pair)"
                why = WHY_UNPAIRED
            exact = res.exact_test
            entry.update(
                paired=res.paired,
                design=design,
                why=why,
                n_a=res.n_a,
                n_b=res.n_b,
                rate_a=res.rate_a,
                rate_b=res.rate_b,
                difference={
                    "estimate": res.statistic,
                    "confidence_interval": _interval(res.confidence_interval),
                    "measure": (
                        f"rate of {pos!r} in {a} minus in {b}; rate = mean over "
                        + ("claims" if res.paired else "items")
                        + " of the share of raters giving it"
                    ),
                    "method": res.interval_method,
                },
                tests=[
                    {
                        "name": res.test,
                        "role": "primary",
                        "statistic": res.statistic,
                        "pvalue": res.pvalue,
                    },
                    {
                        "name": exact.test + " on per-unit majority labels",
                        "role": "exact",
                        "statistic": exact.statistic,
                        "pvalue": exact.pvalue,
                        "details": exact.details,
                    },
                ],
            )
            comparisons.append(entry)

    done = [c for c in comparisons if "tests" in c]
    for role_index in (0, 1):
        adjusted = stats.holm([c["tests"][role_index]["pvalue"] for c in done])
        for c, p in zip(done, adjusted, strict=True):
            c["tests"][role_index]["pvalue_holm"] = p
    return _jsonable(
        {
            "report": "compare",
            "systems": systems,
            "baseline": baseline,
            "dimensions": dims,
            "positive": {d: _positive_for(positive, d) for d in dims},
            "pair_key": key,
            "correction": (
                f"Holm (statsmodels multipletests method='holm') across all {len(done)} "
                "comparisons (dimensions x system pairs), separately for the permutation tests "
                "and for the exact tests"
            ),
            "settings": {
                "n_resamples": n_resamples,
                "confidence_level": confidence_level,
                "seed": seed,
                "paired": paired,
            },
            "comparisons": comparisons,
        }
    )


# --------------------------------------------------------------------------- text


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _p(x: float | None) -> str:
    if x is None:
        return "n/a"
    return "<0.0001" if x < 1e-4 else f"{x:.4f}"


def _peq(x: float | None) -> str:
    """``p=0.0123`` or ``p<0.0001``."""
    text = _p(x)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def _pts(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f}"


def _ci(ci: Mapping[str, float | None] | None, fmt=_num) -> str:
    if not ci or ci.get("low") is None:
        return "[n/a]"
    return f"[{fmt(ci['low'])}, {fmt(ci['high'])}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return lines


def _scores_rows(report: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    by = report["by"]
    header = [*by, "items"] + [f"{d} ({report['positive'][d]})" for d in report["dimensions"]]
    rows = []
    for row in report["rows"]:
        cells = [str(row["group"][b]) for b in by] + [str(row["n_items"])]
        for d in report["dimensions"]:
            cell = row["dimensions"][d]
            text = f"{_pct(cell['rate'])} {_ci(cell['confidence_interval'], _pct)}"
            if cell["n_items"] != row["n_items"]:
                text += f" n={cell['n_items']}"
            if cell["ties"]:
                text += f" ties={cell['ties']}"
            cells.append(text)
        rows.append(cells)
    return header, rows


def _text_scores(report: Mapping[str, Any]) -> list[str]:
    header, rows = _scores_rows(report)
    lines = [
        f"Scores: {report['n_items']} items, {report['n_ratings']} ratings, "
        f"{report['n_annotators']} annotator(s)",
        f"How raters are combined: {report['combine_note']}",
        f"Intervals: {report['interval']}.",
        "",
    ]
    return lines + _table(header, rows)


COEFFICIENTS = (
    ("percent_agreement", "percent agreement"),
    ("krippendorff_alpha", "Krippendorff's alpha"),
    ("fleiss_kappa", "Fleiss' kappa"),
    ("gwet_ac1", "Gwet's AC1"),
)


def _text_agreement(report: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for block in report["dimensions"]:
        rpi = block["raters_per_item"]
        lines.append(
            f"{block['dimension']}: {block['n_items']} items ({block['n_pairable']} rated by 2+ "
            f"raters), {block['n_raters']} raters, {block['n_ratings']} ratings, "
            f"{rpi['min']}-{rpi['max']} raters per item (mean {rpi['mean']:.2f})"
        )
        prev = ", ".join(f"{lab!r} {_pct(p)}" for lab, p in block["prevalence"].items())
        lines.append(f"  label prevalence: {prev}")
        rows = []
        for name, title in COEFFICIENTS:
            r = block[name]
            rows.append(
                [
                    title,
                    _num(r["statistic"]),
                    _ci(r["confidence_interval"]),
                    "" if r["pvalue"] is None else _peq(r["pvalue"]),
                ]
            )
        ck = block["cohen_kappa"]
        rows.append(["Cohen's kappa, mean of pairs", _num(ck["mean"]), "", ""])
        lines += ["  " + line for line in _table(["statistic", "value", "95% CI", "test"], rows)]
        for pair in ck["pairs"]:
            lines.append(
                f"    Cohen's kappa {pair['raters'][0]} / {pair['raters'][1]}: "
                f"{_num(pair['statistic'])} {_ci(pair['confidence_interval'])} "
                f"on {pair['n_items']} shared items"
            )
        for note in block["notes"]:
            lines.append(f"  Note: {note}")
        lines.append("")
    lines.append("Definitions:")
    lines += [f"  {k}: {v}" for k, v in report["definitions"].items()]
    return lines


def _text_compare(report: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Comparisons of {', '.join(report['systems'])}"
        + (f" against baseline {report['baseline']}" if report["baseline"] else ""),
        f"Multiple comparisons: {report['correction']}.",
        "",
    ]
    for c in report["comparisons"]:
        title = f"{c['dimension']}: {c['system_a']} vs {c['system_b']}"
        if "skipped" in c:
            lines += [f"{title}: skipped ({c['skipped']})", ""]
            continue
        d = c["difference"]
        lines.append(f"{title} ({c['design']})")
        lines.append(
            f"  rate {_pct(c['rate_a'])} vs {_pct(c['rate_b'])}; difference "
            f"{_pts(d['estimate'])} points {_ci(d['confidence_interval'], _pts)} "
            f"({d['method']})"
        )
        for t in c["tests"]:
            extra = ""
            if t["role"] == "exact" and "a_only" in t.get("details", {}):
                det = t["details"]
                extra = f"; discordant: {det['a_only']} only {c['system_a']}, "
                extra += f"{det['b_only']} only {c['system_b']}"
            lines.append(
                f"  {t['name']}: {_peq(t['pvalue'])}, Holm-adjusted {_peq(t['pvalue_holm'])}"
                + extra
            )
        lines.append(f"  Why these tests: {c['why']}")
        lines.append("")
    return lines


def render_text(report: Mapping[str, Any]) -> str:
    """Plain-text rendering of any of the three reports."""
    kind = report.get("report")
    if kind == "scores":
        lines = _text_scores(report)
    elif kind == "agreement":
        lines = _text_agreement(report)
    elif kind == "compare":
        lines = _text_compare(report)
    else:
        raise ValueError(f"not a report: {kind!r}")
    return "\n".join(lines).rstrip() + "\n"


# --------------------------------------------------------------------------- HTML


def _figure_png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _interval_plot(
    labels: list[str],
    values: list[float | None],
    cis: list[Mapping | None],
    xlabel: str,
    xlim: tuple[float, float] | None,
    ref: float | None = None,
) -> str | None:
    """Horizontal point-and-interval plot; a base64 PNG, or None when nothing can be drawn."""
    # Figure, not pyplot: no global state, safe inside a web server thread.
    from matplotlib.figure import Figure

    points = [(lab, v, ci) for lab, v, ci in zip(labels, values, cis, strict=True) if v is not None]
    if not points:
        return None
    fig = Figure(figsize=(7.5, 0.9 + 0.32 * len(points)))
    ax = fig.subplots()
    ys = np.arange(len(points))[::-1]
    for y, (_, v, ci) in zip(ys, points, strict=True):
        if ci and ci.get("low") is not None:
            ax.plot([ci["low"], ci["high"]], [y, y], color="#4477aa", linewidth=2.2)
        ax.plot([v], [y], "o", color="#222222", markersize=5)
    ax.set_yticks(ys, [p[0] for p in points], fontsize=8)
    ax.set_xlabel(xlabel)
    if xlim:
        ax.set_xlim(*xlim)
    if ref is not None:
        ax.axvline(ref, color="#999999", linewidth=0.8, linestyle="--")
    ax.grid(axis="x", alpha=0.3)
    return _figure_png(fig)


def _plot_for(report: Mapping[str, Any]) -> tuple[str | None, str]:
    kind = report["report"]
    labels, values, cis = [], [], []
    if kind == "scores":
        for row in report["rows"]:
            group = " / ".join(str(v) for v in row["group"].values()) or "all items"
            for d in report["dimensions"]:
                cell = row["dimensions"][d]
                labels.append(f"{group} · {d}")
                values.append(cell["rate"])
                cis.append(cell["confidence_interval"])
        return _interval_plot(labels, values, cis, "rate (Wilson 95% CI)", (-0.01, 1.01)), (
            "Rate of the positive label per group, with Wilson 95% intervals."
        )
    if kind == "agreement":
        for block in report["dimensions"]:
            for name, title in COEFFICIENTS:
                labels.append(f"{block['dimension']} · {title}")
                values.append(block[name]["statistic"])
                cis.append(block[name]["confidence_interval"])
        lows = [ci["low"] for ci in cis if ci and ci.get("low") is not None]
        lows += [v for v in values if v is not None]
        xlim = (min([-0.2, *lows]) - 0.05, 1.02)
        return _interval_plot(labels, values, cis, "coefficient (95% CI)", xlim, 0.0), (
            "Agreement coefficients per dimension with 95% intervals (alpha: bootstrap)."
        )
    for c in report["comparisons"]:
        if "difference" in c:
            labels.append(f"{c['dimension']} · {c['system_a']} − {c['system_b']}")
            values.append(c["difference"]["estimate"])
            cis.append(c["difference"]["confidence_interval"])
    return _interval_plot(labels, values, cis, "difference in rate (95% CI)", None, 0.0), (
        "Difference in rate between systems with bootstrap 95% intervals; dashed line: no "
        "difference."
    )


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_body(report: Mapping[str, Any]) -> str:
    e = html.escape
    kind = report["report"]
    parts: list[str] = []
    if kind == "scores":
        header, rows = _scores_rows(report)
        parts.append(f"<p>{e(report['combine_note'])}</p>")
        parts.append(f"<p>Intervals: {e(report['interval'])}.</p>")
        parts.append(_html_table(header, rows))
    elif kind == "agreement":
        for block in report["dimensions"]:
            parts.append(f"<h2>{e(block['dimension'])}</h2>")
            rpi = block["raters_per_item"]
            parts.append(
                f"<p>{block['n_items']} items ({block['n_pairable']} rated by two or more), "
                f"{block['n_raters']} raters, {block['n_ratings']} ratings, "
                f"{rpi['min']}–{rpi['max']} raters per item.</p>"
            )
            prev = ", ".join(f"{lab!r}: {_pct(p)}" for lab, p in block["prevalence"].items())
            parts.append(f"<p>Label prevalence: {e(prev)}</p>")
            rows = [
                [
                    title,
                    _num(block[n]["statistic"]),
                    _ci(block[n]["confidence_interval"]),
                    _p(block[n]["pvalue"]),
                    block[n]["method"],
                ]
                for n, title in COEFFICIENTS
            ]
            rows += [
                [
                    f"Cohen's kappa {p['raters'][0]} / {p['raters'][1]}",
                    _num(p["statistic"]),
                    _ci(p["confidence_interval"]),
                    _p(p["pvalue"]),
                    f"{p['n_items']} shared items",
                ]
                for p in block["cohen_kappa"]["pairs"]
            ]
            parts.append(_html_table(["statistic", "value", "95% CI", "p", "how"], rows))
            parts += [f'<p class="note">{e(note)}</p>' for note in block["notes"]]
    else:
        parts.append(f"<p>{e(report['correction'])}.</p>")
        rows = []
        for c in report["comparisons"]:
            if "skipped" in c:
                rows.append(
                    [
                        c["dimension"],
                        f"{c['system_a']} vs {c['system_b']}",
                        "skipped",
                        c["skipped"],
                        "",
                        "",
                        "",
                    ]
                )
                continue
            d = c["difference"]
            primary, exact = c["tests"]
            rows.append(
                [
                    c["dimension"],
                    f"{c['system_a']} vs {c['system_b']}",
                    f"{_pct(c['rate_a'])} vs {_pct(c['rate_b'])}",
                    f"{_pts(d['estimate'])} pts {_ci(d['confidence_interval'], _pts)}",
                    f"{_p(primary['pvalue'])} (Holm {_p(primary['pvalue_holm'])})",
                    f"{_p(exact['pvalue'])} (Holm {_p(exact['pvalue_holm'])})",
                    c["design"],
                ]
            )
        parts.append(
            _html_table(
                [
                    "dimension",
                    "systems",
                    "rates",
                    "difference",
                    "permutation p",
                    "exact test p",
                    "design",
                ],
                rows,
            )
        )
        whys = dict.fromkeys(c["why"] for c in report["comparisons"] if "why" in c)
        parts += [f"<p>{e(w)}</p>" for w in whys]
    return "\n".join(parts)


TITLES = {
    "scores": "Explanation scores",
    "agreement": "Inter-rater agreement",
    "compare": "Comparison of systems",
}


def render_html(report: Mapping[str, Any]) -> str:
    """A self-contained HTML page: tables, notes and an embedded PNG plot (no external files).

    All text from the report (system and rater names, labels, notes) is escaped.
    """
    kind = report.get("report")
    if kind not in TITLES:
        raise ValueError(f"not a report: {kind!r}")
    png, caption = _plot_for(report)
    figure = (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        if png
        else "<p>(nothing to plot)</p>"
    )
    title = html.escape(TITLES[kind])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left;
          vertical-align: top; }}
th {{ background: #f3f3f3; }}
.note {{ background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.5rem 0.8rem; }}
figure img {{ max-width: 100%; }}
figcaption {{ font-size: 0.85rem; color: #555; }}
</style>
</head>
<body>
<h1>{title}</h1>
{_html_body(report)}
{figure}
</body>
</html>
"""
