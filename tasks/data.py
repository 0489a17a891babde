"""The logic-claims dataset: generics with exceptions and instances, turned into claims.

Source: the generics/exemplars CSVs of "Penguins Don't Fly" (Allaway et al., 2023) as
pruned by the "Not All Cars Have Radios" study. ``negative.csv`` pairs a generic with an
exception ("Birds feed on grain." / "Birds of prey ... do not feed on grain."), which gives
"All birds feed on grain." (false) and "Not all birds feed on grain." (true);
``positive.csv`` pairs it with an instance ("Birds feed on corn."), which gives
"Some birds feed on grain." (true) and "No birds feed on grain." (false).

Splits are by generic, from a hash of its normalised text, so no generic is in two
splits and a generic keeps its split when the data grows.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import math
import os
import re
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logic_claims.tasks import io as atomic
from logic_claims.tasks.claims import QUANTIFIERS, TABLE, WORDS
from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.prompt import PROMPT_VERSION, format_target

BUILDER_VERSION = 2

UPSTREAM_COMMIT = "650b0cf828cef045290741fc6be6df343fb743eb"
UPSTREAM_URL = (
    "https://raw.githubusercontent.com/Maxusmusti/llm-logic-experiments/"
    f"{UPSTREAM_COMMIT}/all-exemplars-pruned"
)
SOURCE_FILES = {
    "negative.csv": "4995baa75300f70cf807b02a57925d18fc754d71c3fb3abe30789666b68b37f2",
    "positive.csv": "0f8c544bc1bd5fc483f5bedb19c58e7be0f363b26514380294927dfb59b38e8b",
}
REQUIRED_COLUMNS = ("generic", "exemplar")

SPLITS = ("train", "validation", "test", "contrast")
# Which quantifiers a row of each file yields, and the truth of each claim.
CLAIMS_OF_SOURCE = {
    source: tuple((q.name, q.default_truth) for q in TABLE if q.source == source)
    for source in ("negative", "positive")
}


def cache_dir() -> Path:
    """Where downloads, built datasets and converted models live (never in the repo)."""
    if env := os.environ.get("LOGIC_CLAIMS_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "logic-claims"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------- sources


def resolve_source(source: str | Path | None = None) -> Path:
    """The directory holding negative.csv and positive.csv.

    ``source`` if given, else ``$LOGIC_CLAIMS_DATA``, else the upstream files,
    downloaded once into the cache and checked against their published sha256.
    """
    if source is None:
        source = os.environ.get("LOGIC_CLAIMS_DATA") or None
    if source is not None:
        path = Path(source)
        if not path.is_dir():
            raise InputError("data source is not a directory", path)
        for name in SOURCE_FILES:
            if not (path / name).is_file():
                raise InputError(f"missing {name}", path)
        return path
    return download_sources()


def download_sources(base_url: str | None = None, dest: Path | None = None) -> Path:
    """Download the two CSVs (once) and verify their sha256; return their directory.

    ``$LOGIC_CLAIMS_DATA_URL`` overrides the upstream base URL (a mirror; file:// works).
    """
    base_url = base_url or os.environ.get("LOGIC_CLAIMS_DATA_URL") or UPSTREAM_URL
    dest = dest or cache_dir() / "sources" / UPSTREAM_COMMIT
    dest.mkdir(parents=True, exist_ok=True)
    for name, expected in SOURCE_FILES.items():
        target = dest / name
        if target.is_file() and sha256_file(target) == expected:
            continue
        url = f"{base_url.rstrip('/')}/{name}"
        with atomic.atomic_path(target) as tmp:
            try:
                with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as fh:
                    while chunk := response.read(1 << 20):
                        fh.write(chunk)
            except (urllib.error.URLError, OSError) as exc:
                raise InputError(
                    f"download failed ({exc}); set LOGIC_CLAIMS_DATA to a local copy", url
                ) from exc
            actual = sha256_file(tmp)
            if actual != expected:
                raise InputError(f"sha256 mismatch: expected {expected}, got {actual}", url)
    return dest


@dataclass(frozen=True)
class Row:
    source: str  # "negative" or "positive"
    generic: str
    exemplar: str
    line: int


def read_source(path: Path, source: str) -> list[Row]:
    """Read one generics/exemplars CSV; any problem is an InputError with file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 (byte 0x{raw[exc.start]:02x})", path, line) from exc
    if not text.strip():
        raise InputError("empty file", path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    try:
        header = next(reader)
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise InputError(f"missing column(s) {', '.join(missing)}; header is {header}", path, 1)
        gi, ei = header.index("generic"), header.index("exemplar")
        for record in reader:
            line = reader.line_num
            if not record or all(not cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise InputError(f"expected {len(header)} fields, found {len(record)}", path, line)
            generic, exemplar = record[gi].strip(), record[ei].strip()
            if not generic or not exemplar:
                raise InputError("empty generic or exemplar", path, line)
            rows.append(Row(source, generic, exemplar, line))
    except csv.Error as exc:
        raise InputError(f"unparsable CSV ({exc})", path, reader.line_num) from exc
    if not rows:
        raise InputError("no data rows", path)
    return rows


# --------------------------------------------------------------------------- text


def normalise(sentence: str) -> str:
    """Case-, space- and final-period-insensitive key of a generic."""
    return re.sub(r"\s+", " ", sentence).strip().rstrip(".").strip().lower()


def sentence(text: str) -> str:
    """``text`` with single spaces and exactly one final period."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".").rstrip() + "."


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def common_words(rows: Iterable[Row]) -> set[str]:
    """Words that, after the first word of a sentence, are mostly written in lower case.

    A sentence-initial word whose lower-case form is in this set is a common noun
    ("Birds" -> "birds"); one that is mostly capitalised mid-sentence ("Australian")
    or never seen there ("Ctenophores", "DNA") is kept as written, so proper nouns
    keep their case in the claims. When unsure, the case is left alone.
    """
    lower: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for row in rows:
        for text in (row.generic, row.exemplar):
            for token in _WORD.findall(text)[1:]:
                if token.islower():
                    lower[token] += 1
                elif token[:1].isupper() and token[1:].islower():
                    capitalised[token.lower()] += 1
    return {word for word, n in lower.items() if n > capitalised[word]}


def lower_first(text: str, common: set[str]) -> str:
    """Lower-case the first word when it is a capitalised common word."""
    match = _WORD.match(text)
    if not match:
        return text
    word = match.group(0)
    if word[:1].isupper() and word[1:].islower() and word.lower() in common:
        return word.lower() + text[len(word) :]
    return text


def make_claim(quantifier: str, generic: str, common: set[str]) -> str:
    return f"{WORDS[quantifier]} {lower_first(sentence(generic), common)}"


def stable_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(norm_generic: str, seed: int, ratios: tuple[float, float, float]) -> str:
    """Deterministic split of a generic from the hash of its normalised text."""
    fraction = int(stable_hash(f"{seed}:{norm_generic}")[:16], 16) / 16**16
    if fraction < ratios[0]:
        return "train"
    if fraction < ratios[0] + ratios[1]:
        return "validation"
    return "test"


# --------------------------------------------------------------------------- contrast

# "K do not P." -> (K, positive auxiliary, P). Only plural subjects, whose claims
# "No K P." / "Some K P." / "All K that P P." read grammatically.
_NEGATION = re.compile(
    r"^(?P<k>[^,;:()]+?) (?P<neg>do not|don't|are not|aren't|cannot|can not|can't|"
    r"will not|won't) (?P<p>[^,;:()]+)$"
)
_POSITIVE_AUX = {
    "do not": "", "don't": "", "are not": "are", "aren't": "are",
    "cannot": "can", "can not": "can", "can't": "can", "will not": "will", "won't": "will",
}  # fmt: skip
# Subjects that would not read as a plain noun phrase after "No"/"Some"/"All".
_BAD_SUBJECT_START = {
    "a", "an", "the", "some", "most", "many", "few", "all", "no", "not", "these", "those",
    "this", "that", "their", "its", "his", "her", "our", "certain", "several", "only", "i",
    "it", "they", "we", "you", "there", "if", "when", "even", "in", "on", "at", "because",
}  # fmt: skip
_CLAUSE_WORDS = {"that", "which", "who", "whom", "whose", "where", "when", "while", "if",
                 "because", "such", "unless", "although", "than", "not", "no"}  # fmt: skip
# A predicate with a conjunction ("are not nocturnal and hunt ...") negates ambiguously.
_CONJUNCTIONS = {"and", "or", "but", "nor"}


@dataclass(frozen=True)
class Exception_:
    """An exemplar parsed as "K <aux> not P": no K P, and K are a kind of the generic."""

    kind: str
    aux: str
    predicate: str
    # A short kind without a clause of its own can also form the tautologies
    # "All K that P P." without stacking two relative clauses.
    simple: bool

    def verb_phrase(self) -> str:
        return f"{self.aux} {self.predicate}".strip()


def parse_exception(exemplar: str) -> Exception_ | None:
    """Parse "K do not P." (and are/can/will not); None when it does not parse cleanly."""
    text = sentence(exemplar)[:-1]
    match = _NEGATION.match(text)
    if not match:
        return None
    kind, predicate = match.group("k").strip(), match.group("p").strip()
    kind_words = kind.lower().split()
    predicate_words = predicate.lower().split()
    if not kind_words or not predicate_words or len(kind_words) > 15:
        return None
    if kind_words[0] in _BAD_SUBJECT_START or (_CLAUSE_WORDS | _CONJUNCTIONS) & set(
        predicate_words
    ):
        return None
    simple = not (_CLAUSE_WORDS & set(kind_words)) and len(kind_words) <= 6
    return Exception_(kind, _POSITIVE_AUX[match.group("neg")], predicate, simple)


def contrast_claims(
    exc: Exception_, exemplar: str, common: set[str]
) -> list[tuple[str, str, bool, str, str]]:
    """(quantifier, claim, label, construction, target): truth not given by the quantifier."""
    kind = lower_first(exc.kind, common)
    vp = exc.verb_phrase()
    because = lower_first(exemplar, common)
    claims = [
        ("no", f"No {kind} {vp}.", True, "negated_exception", format_target(True, because)),
        ("some", f"Some {kind} {vp}.", False, "negated_exception", format_target(False, because)),
    ]
    if exc.simple:
        relative = f"{kind} that {vp}"
        by_definition = f"all {relative} {vp} by definition."
        claims += [
            ("all", f"All {relative} {vp}.", True, "tautology", format_target(True, by_definition)),
            (
                "not_all",
                f"Not all {relative} {vp}.",
                False,
                "tautology",
                format_target(False, by_definition),
            ),
        ]
    return claims


# --------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    splits: dict[str, list[dict[str, Any]]]
    manifest: dict[str, Any]
    generics_as_written: int = 0
    generics_normalised: int = 0
    notes: list[str] = field(default_factory=list)


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

    # Group rows by normalised generic; the first spelling seen is the one we write.
    spelling: dict[str, str] = {}
    by_generic: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        key = normalise(row.generic)
        spelling.setdefault(key, row.generic)
        by_generic[key].append(row)
    split_by_generic = {key: split_of(key, seed, ratios) for key in by_generic}

    splits: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    for key in sorted(by_generic, key=lambda k: stable_hash(f"{seed}:{k}")):
        split = split_by_generic[key]
        generic = sentence(spelling[key])
        seen: set[tuple[str, str]] = set()
        for row in by_generic[key]:
            exemplar = sentence(row.exemplar)
            for quantifier, label in CLAIMS_OF_SOURCE[row.source]:
                # Evaluation splits hold one claim per generic and quantifier (the
                # first exemplar in file order); train keeps every exemplar.
                if split != "train" and any(q == quantifier for q, _ in seen):
                    continue
                if (quantifier, exemplar) in seen:
                    continue
                seen.add((quantifier, exemplar))
                claim = make_claim(quantifier, generic, common)
                ident = stable_hash(f"{key}|{quantifier}|{exemplar if split == 'train' else ''}")
                splits[split].append(
                    {
                        "id": f"lc-{ident[:16]}",
                        "split": split,
                        "generic": generic,
                        "quantifier": quantifier,
                        "claim": claim,
                        "label": label,
                        "target": format_target(label, lower_first(exemplar, common)),
                        "exemplar": exemplar,
                        "source": row.source,
                        "construction": "standard",
                    }
                )

    contrast, contrast_counts = _build_contrast(
        splits["test"], by_generic, split_by_generic, common
    )
    splits["contrast"] = contrast

    manifest = {
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
            "normalised": len(by_generic),
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
    return BuildResult(
        splits=splits,
        manifest=manifest,
        generics_as_written=manifest["generics"]["as_written"],
        generics_normalised=manifest["generics"]["normalised"],
    )


def _build_contrast(
    test: list[dict[str, Any]],
    by_generic: dict[str, list[Row]],
    split_by_generic: dict[str, str],
    common: set[str],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Claims from test generics on which a quantifier-only rule scores exactly 0.5.

    For each quantifier, the claims whose label goes against the quantifier's usual
    truth (tautologies, negated exceptions) are paired with as many standard test
    claims, so labels are balanced per quantifier.
    """
    parsed = unparsed = 0
    against: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for key, rows in by_generic.items():
        if split_by_generic[key] != "test":
            continue
        for row in rows:
            if row.source != "negative":
                continue
            exc = parse_exception(row.exemplar)
            if exc is None:
                unparsed += 1
                continue
            parsed += 1
            exemplar = sentence(row.exemplar)
            for quantifier, claim, label, construction, target in contrast_claims(
                exc, exemplar, common
            ):
                ident = f"lcx-{stable_hash(f'{quantifier}|{claim}')[:16]}"
                against[quantifier].setdefault(
                    ident,
                    {
                        "id": ident,
                        "split": "contrast",
                        "generic": sentence(by_generic[key][0].generic),
                        "quantifier": quantifier,
                        "claim": claim,
                        "label": label,
                        "target": target,
                        "exemplar": exemplar,
                        "source": row.source,
                        "construction": construction,
                    },
                )
    standard: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in test:
        standard[record["quantifier"]].append(record)

    contrast: list[dict[str, Any]] = []
    dropped = 0
    for quantifier in QUANTIFIERS:
        unusual = sorted(against[quantifier].values(), key=lambda r: r["id"])
        usual = sorted(standard[quantifier], key=lambda r: stable_hash("contrast" + r["id"]))
        n = min(len(unusual), len(usual))
        dropped += len(unusual) - n
        # Alternate the two kinds so that every prefix (lm-eval's --limit takes the
        # first N claims of each quantifier) stays balanced and still catches the rule.
        for pair in zip(usual[:n], unusual[:n], strict=True):
            contrast.extend({**record, "split": "contrast"} for record in pair)
    counts = {
        "exceptions_parsed": parsed,
        "exceptions_left_out_unparsable": unparsed,
        "claims_left_out_for_balance": dropped,
    }
    return contrast, counts


MANIFEST = "manifest.json"
BUILD_FILES = frozenset([f"{split}.jsonl" for split in SPLITS] + [MANIFEST])


def check_output_dir(
    out: Path,
    sources: Iterable[Path] = (),
    *,
    own_files: frozenset[str] = BUILD_FILES,
    marker: str = MANIFEST,
    what: str = "data build",
) -> Path:
    """The directory a build may write to: ``out``, or the directory a symlink ``out`` names.

    A build replaces its output directory whole, so ``out`` must be new, empty, or a
    previous build holding nothing but what a build writes (its ``manifest.json`` marks
    it). A file, a folder of anything else, or a folder holding the sources is refused.
    Other commands that replace a directory whole (``compare``'s report) pass their own
    ``own_files``, ``marker`` and ``what``.
    """
    try:
        out.stat()  # a symbolic link loop, or a path through a file, raises here
    except FileNotFoundError as exc:
        if out.is_symlink():
            raise InputError("is a symbolic link to nothing", out) from exc
        atomic.check_not_input(out, sources)
        return out
    except OSError as exc:
        problem = "symbolic link loop" if exc.errno == errno.ELOOP else exc.strerror
        raise InputError(f"cannot create directory ({problem})", out) from exc
    atomic.check_not_input(out, sources)
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


def load_split(data_dir: str | Path, split: str) -> list[dict[str, Any]]:
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    return atomic.read_jsonl(Path(data_dir) / f"{split}.jsonl")
