"""The logic-claims dataset: generics with exceptions and instances, turned into claims.

Source: the generics/exemplars CSVs of "Penguins Don't Fly" (Allaway et al., 2023) as
pruned by the "Not All Cars Have Radios" study (``tasks/sources.py``). ``negative.csv``
pairs a generic with an exception ("Birds feed on grain." / "Birds of prey ... do not
feed on grain."), which gives "All birds feed on grain." (false) and "Not all birds feed
on grain." (true); ``positive.csv`` pairs it with an instance ("Birds feed on corn."),
which gives "Some birds feed on grain." (true) and "No birds feed on grain." (false).

Splits are by generic, from a hash of its normalised text (``tasks/text.py``), so no
generic is in two splits and a generic keeps its split when the data grows. The
``contrast`` split is built in ``tasks/contrast.py``.

    result = build(resolve_source(), seed=0)      # pure: nothing written
    write_dataset(result, Path("data/logic_claims"))
    load_split(built_dataset_dir(), "test")       # cached build, made on first use
"""

from __future__ import annotations

import errno
import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from logic_claims.tasks import io as atomic
from logic_claims.tasks.claims import MAX_CLAIM_CHARS, QUANTIFIERS, TABLE, WORDS, Claim
from logic_claims.tasks.contrast import CONTRAST_SPLITS, build_contrast
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.prompt import PROMPT_VERSION, format_target
from logic_claims.tasks.sources import (
    SOURCE_FILES,
    Row,
    cache_dir,
    read_source,
    resolve_source,
    sha256_file,
)
from logic_claims.tasks.text import common_words, lower_first, normalise, sentence, stable_hash

BUILDER_VERSION = 3

STANDARD_SPLITS = ("train", "validation", "test")
SPLITS = (*STANDARD_SPLITS, *CONTRAST_SPLITS.values())
# Which quantifiers a row of each file yields, and the truth of each claim.
CLAIMS_OF_SOURCE = {
    source: tuple((q.name, q.default_truth) for q in TABLE if q.source == source)
    for source in ("negative", "positive")
}


def make_claim(quantifier: str, generic: str, common: set[str]) -> str:
    """The claim of a generic: (``all``, "Birds feed on grain") -> "All birds feed on grain."."""
    return f"{WORDS[quantifier]} {lower_first(sentence(generic), common)}"


def split_of(norm_generic: str, seed: int, ratios: tuple[float, float, float]) -> str:
    """Deterministic split of a generic from the hash of its normalised text."""
    fraction = int(stable_hash(f"{seed}:{norm_generic}")[:16], 16) / 16**16
    if fraction < ratios[0]:
        return "train"
    if fraction < ratios[0] + ratios[1]:
        return "validation"
    return "test"


# --------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    """Every split's records and the manifest that describes how they were made."""

    splits: dict[str, list[Claim]]
    manifest: dict[str, Any]


def check_ratios(ratios: tuple[float, ...]) -> None:
    """Three finite split fractions, each >= 0, summing to 1 (``nan`` compares false to all)."""
    if (
        len(ratios) != 3
        or not all(isinstance(r, int | float) and math.isfinite(r) and r >= 0 for r in ratios)
        or abs(sum(ratios) - 1.0) > 1e-9
    ):
        raise InputError(
            f"--ratios: three finite fractions >= 0 that sum to 1, got {clip(tuple(ratios))}"
        )


def _group_by_generic(rows: list[Row]) -> tuple[dict[str, str], dict[str, list[Row]]]:
    """Rows by normalised generic, and each generic's first spelling (the one written)."""
    spelling: dict[str, str] = {}
    by_generic: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        key = normalise(row.generic)
        spelling.setdefault(key, row.generic)
        by_generic[key].append(row)
    return spelling, by_generic


def _generic_claims(
    key: str, generic: str, rows: list[Row], split: str, common: set[str]
) -> list[dict[str, Any]]:
    """The standard claims of one generic: each row's quantifiers, without repeats."""
    records: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for row in rows:
        exemplar = sentence(row.exemplar)
        for quantifier, label in CLAIMS_OF_SOURCE[row.source]:
            # Evaluation splits hold one claim per generic and quantifier (the
            # first exemplar in file order); train keeps every exemplar.
            if split != "train" and any(q == quantifier for q, _ in seen):
                continue
            if (quantifier, exemplar) in seen:
                continue
            seen.add((quantifier, exemplar))
            ident = stable_hash(f"{key}|{quantifier}|{exemplar if split == 'train' else ''}")
            records.append(
                {
                    "id": f"lc-{ident[:16]}",
                    "split": split,
                    "generic": generic,
                    "quantifier": quantifier,
                    "claim": make_claim(quantifier, generic, common),
                    "label": label,
                    "target": format_target(label, lower_first(exemplar, common)),
                    "exemplar": exemplar,
                    "source": row.source,
                    "construction": "standard",
                }
            )
    return records


def _manifest(
    source_dir: Path,
    seed: int,
    ratios: tuple[float, float, float],
    rows: list[Row],
    split_by_generic: dict[str, str],
    splits: dict[str, list[dict[str, Any]]],
    contrast_counts: dict[str, Any],
) -> dict[str, Any]:
    """What was built from what: versions, split rule, source hashes, counts."""
    return {
        "builder_version": BUILDER_VERSION,
        "prompt_version": PROMPT_VERSION,
        "seed": seed,
        "ratios": {"train": ratios[0], "validation": ratios[1], "test": ratios[2]},
        "split_rule": "sha256(f'{seed}:{normalised generic}') -> fraction -> split",
        "normalisation": "lower case, single spaces, no final period",
        "sources": {
            name: {
                "path": str((source_dir / name).resolve()),
                "sha256": sha256_file(source_dir / name),
                "upstream_sha256": SOURCE_FILES[name],
                "rows": sum(1 for r in rows if r.source == name.removesuffix(".csv")),
            }
            for name in SOURCE_FILES
        },
        "generics": {
            "as_written": len({r.generic for r in rows}),
            "case_and_space_normalised": len({" ".join(r.generic.lower().split()) for r in rows}),
            "normalised": len(split_by_generic),
            "per_split": dict(Counter(split_by_generic.values())),
        },
        "counts": {
            split: {
                "claims": len(records),
                "per_quantifier": dict(Counter(r["quantifier"] for r in records)),
                "per_label": {
                    "true": sum(r["label"] for r in records),
                    "false": sum(not r["label"] for r in records),
                },
            }
            for split, records in splits.items()
        },
        "contrast": contrast_counts,
    }


def build(
    source_dir: Path,
    seed: int = 0,
    ratios: tuple[float, float, float] = (0.90, 0.05, 0.05),
) -> BuildResult:
    """Build every split from the two CSVs in ``source_dir`` (pure; writes nothing)."""
    check_ratios(ratios)
    rows = read_source(source_dir / "negative.csv", "negative") + read_source(
        source_dir / "positive.csv", "positive"
    )
    common = common_words(rows)
    spelling, by_generic = _group_by_generic(rows)
    split_by_generic = {key: split_of(key, seed, ratios) for key in by_generic}

    splits: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    for key in sorted(by_generic, key=lambda k: stable_hash(f"{seed}:{k}")):
        split = split_by_generic[key]
        generic = sentence(spelling[key])
        splits[split] += _generic_claims(key, generic, by_generic[key], split, common)
    contrast_counts: dict[str, Any] = {}
    for split in STANDARD_SPLITS:
        mine = {k: rows for k, rows in by_generic.items() if split_by_generic[k] == split}
        name = CONTRAST_SPLITS[split]
        splits[name], contrast_counts[name] = build_contrast(split, splits[split], mine, common)
    manifest = _manifest(source_dir, seed, ratios, rows, split_by_generic, splits, contrast_counts)
    return BuildResult(splits=splits, manifest=manifest)


# --------------------------------------------------------------------------- write and read


MANIFEST = "manifest.json"
BUILD_FILES = frozenset([f"{split}.jsonl" for split in SPLITS] + [MANIFEST])


def check_output_dir(
    out: Path,
    sources: Iterable[Path] = (),
    *,
    own_files: frozenset[str] = BUILD_FILES,
    marker: str = MANIFEST,
    what: str = "data build",
    option: str = "--out",
) -> Path:
    """The directory a build may write to: ``out``, or the directory a symlink ``out`` names.

    A build replaces its output directory whole, so ``out`` must be new, empty, or a
    previous build holding nothing but what a build writes (its ``manifest.json`` marks
    it). A file, a folder of anything else, or a folder holding the sources is refused.
    Other commands that replace a directory whole (``compare``'s report) pass their own
    ``own_files``, ``marker`` and ``what``; ``option`` names where ``out`` came from.
    """
    try:
        out.stat()  # a symbolic link loop, or a path through a file, raises here
    except FileNotFoundError as exc:
        if out.is_symlink():
            raise InputError("is a symbolic link to nothing", out) from exc
        atomic.check_not_input(out, sources, option)
        return out
    except OSError as exc:
        problem = "symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror
        raise InputError(f"cannot create directory ({problem})", out) from exc
    atomic.check_not_input(out, sources, option)
    out = Path(os.path.realpath(out))  # a link to a directory: write there, keep the link
    try:
        if not out.is_dir():
            raise InputError("is a file; expected the output directory", out)
        names = sorted(p.name for p in out.iterdir())
    except OSError as exc:
        raise InputError(f"cannot list the output directory ({exc.strerror})", out) from exc
    if names and marker not in names:
        raise InputError(
            f"not empty and not a previous {what} (no {marker}); give a new or empty directory",
            out,
        )
    if names and marker == MANIFEST and not _is_build_manifest(out / MANIFEST):
        raise InputError(f"{MANIFEST} is not a data build manifest; not replacing it", out)
    if others := [name for name in names if name not in own_files]:
        raise InputError(
            f"holds files a {what} did not write ({clip(', '.join(others))}); not replacing it",
            out,
        )
    return out


def _is_build_manifest(path: Path) -> bool:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "builder_version" in manifest and "split_rule" in manifest


def write_dataset(result: BuildResult, out: Path, overwrite: bool = True) -> None:
    """Write ``OUT/{split}.jsonl`` and ``OUT/manifest.json`` all at once or not at all.

    ``out`` is checked first (``check_output_dir``): a build never replaces a file, the
    sources, or a directory holding anything it did not write.
    """
    sources = [Path(s["path"]) for s in result.manifest.get("sources", {}).values()]
    out = check_output_dir(Path(out), [p.parent for p in sources])
    try:
        with atomic.atomic_dir(out, overwrite=overwrite) as tmp:
            for split, records in result.splits.items():
                atomic.write_jsonl(tmp / f"{split}.jsonl", records)
            atomic.write_json(tmp / MANIFEST, result.manifest)
    except OSError as exc:
        raise InputError(f"cannot write the dataset here ({exc.strerror})", out) from exc


def built_dataset_dir(source: str | Path | None = None, seed: int = 0) -> Path:
    """A built dataset for ``source`` in the cache, building it on first use.

    The cache key covers the sources' sha256, the builder and prompt versions and
    the seed, so changed data or code never reads a stale build.
    """
    source_dir = resolve_source(source)
    key_material = "|".join(
        [sha256_file(source_dir / name) for name in SOURCE_FILES]
        + [str(BUILDER_VERSION), str(PROMPT_VERSION), str(seed)]
    )
    out = cache_dir() / "datasets" / stable_hash(key_material)[:16]
    if not (out / MANIFEST).is_file():
        write_dataset(build(source_dir, seed=seed), out)
    return out


def manifest_sha256(data_dir: str | Path) -> str:
    """The identity of a built dataset: the sha256 of its ``manifest.json``."""
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        raise InputError("not a built dataset (no manifest.json)", data_dir)
    return sha256_file(path)


def load_split(data_dir: str | Path, split: str) -> list[Claim]:
    """The claim records of one split of a built dataset."""
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    path = Path(data_dir) / f"{split}.jsonl"
    records = []
    for line, record in atomic.iter_json_lines(path, atomic.read_text(path, empty=None)):
        check_claim_record(record, path, line)
        records.append(record)
    return cast(list[Claim], records)


def check_datasets(data_dir: str | Path) -> None:
    """Every split file of a built dataset holds claim records (InputError: file:line)."""
    manifest_sha256(data_dir)
    for split in SPLITS:
        if (Path(data_dir) / f"{split}.jsonl").exists():
            load_split(data_dir, split)


def check_claim_text(claim: object, path: str | Path | None, line: int | None) -> str:
    """A claim's text: non-empty, at most :data:`MAX_CLAIM_CHARS` characters (a data dir's
    records and a user's own claims, ``logic-claims ask``); InputError otherwise."""
    if not isinstance(claim, str) or not claim.strip():
        raise InputError(f"claim must be non-empty text, got {clip(claim)}", path, line)
    if len(claim) > MAX_CLAIM_CHARS:
        raise InputError(
            f"claim of {len(claim)} characters; at most {MAX_CLAIM_CHARS} (MAX_CLAIM_CHARS)",
            path,
            line,
        )
    return claim


def check_claim_record(record: dict[str, Any], path: Path, line: int) -> None:
    """What the tasks read of a record: a claim (:func:`check_claim_text`), its label
    (true/false) and its quantifier; optional text fields are text."""
    check_claim_text(record.get("claim"), path, line)
    if not isinstance(record.get("label"), bool):
        raise InputError(
            f"label must be true or false, got {clip(record.get('label'))}", path, line
        )
    if record.get("quantifier") not in QUANTIFIERS:
        raise InputError(
            f"quantifier must be one of {', '.join(QUANTIFIERS)}, got "
            f"{clip(record.get('quantifier'))}",
            path,
            line,
        )
    for key in ("id", "generic", "target", "exemplar", "source", "construction", "family"):
        if key in record and not isinstance(record[key], str):
            raise InputError(f"{key} must be text, got {clip(record[key])}", path, line)
