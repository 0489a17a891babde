"""The two upstream CSVs: where they come from, how they are verified, how they are read.

``negative.csv`` (a generic and an exception) and ``positive.csv`` (a generic and an
instance) come from the study's repository at a pinned commit; each download is checked
against its published sha256. ``$LOGIC_CLAIMS_DATA`` names a local copy instead, and
``$LOGIC_CLAIMS_CACHE`` the cache for downloads, built datasets and converted models.

    rows = read_source(resolve_source() / "negative.csv", "negative")
    rows[0].generic, rows[0].exemplar  # "Birds feed on grain.", "Birds of prey ..."
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from logic_claims.tasks import io as atomic
from logic_claims.tasks.errors import InputError

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


def cache_dir() -> Path:
    """Where downloads, built datasets and converted models live (never in the repo)."""
    if env := os.environ.get("LOGIC_CLAIMS_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "logic-claims"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
    """One data row of a source CSV, with its line number for error messages."""

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
