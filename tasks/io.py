"""Atomic writes: a reader never sees half a file, and a failed run leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from logic_claims.tasks.errors import InputError, clip

# lm-eval's ``--log_samples`` files: ``samples_<task>_<ISO timestamp>.jsonl``.
LM_EVAL_SAMPLES_NAME = re.compile(
    r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d\d-\d\dT[\d.\-]+)\.jsonl$"
)


def _check_writable(parent: Path) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create directory ({exc.strerror})", parent) from exc
    if not os.access(parent, os.W_OK):
        raise InputError("directory is not writable", parent)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    path = Path(path)
    check_out_file(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror})", path) from exc
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes the file private (0600); the result is an ordinary file of the user's.
    tmp_path.chmod(0o666 & ~current_umask())
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def check_out_file(path: str | Path) -> None:
    """An output file's path: not a folder, in a folder that exists (made if need be) and
    is writable; else an InputError. Call it before the work, not after."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; expected the path of the file to write", path)
    _check_writable(path.parent)


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def split_lines(text: str) -> list[str]:
    """Lines split at ``\n`` (and ``\r\n``) only.

    ``str.splitlines`` also splits at U+2028, U+2029, U+0085 and other separators that
    lm-eval and our JSONL exports write unescaped inside JSON strings.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _resolve(path: str | Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise InputError(f"cannot resolve the path ({exc})", path) from exc


def check_not_input(out: str | Path, inputs: Iterable[str | Path], option: str = "--out") -> None:
    """Refuse an output path that is one of the inputs, or a directory holding one.

    No command writes over what it reads: ``export --store S --out S`` would replace the
    store with a CSV.
    """
    out_resolved = _resolve(out)
    for source in inputs:
        source_resolved = _resolve(source)
        same = out_resolved == source_resolved
        if not same and out_resolved.exists() and source_resolved.exists():
            same = os.path.samefile(out_resolved, source_resolved)
        if same:
            raise InputError(f"{option} is one of the inputs ({source}); choose another path", out)
        if out_resolved in source_resolved.parents:
            raise InputError(f"{option} is a folder that holds the input {source}", out)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_text(
    path: str | Path, *, empty: str | None = "empty file", newline: str | None = None
) -> str:
    """The UTF-8 text of a user's file (a BOM is dropped).

    Missing, a directory, not UTF-8, or (unless ``empty`` is None) blank: an
    InputError naming the file, whose message is ``empty`` for a blank file.
    ``newline`` is ``open``'s: None turns ``\r\n`` and ``\r`` into ``\n``; a CSV
    reader wants ``""`` (a quoted field keeps its ``\r``).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline=newline) as fh:
            text = fh.read()
    except FileNotFoundError as exc:
        raise InputError("no such file", path) from exc
    except IsADirectoryError as exc:
        raise InputError("is a directory, expected a file", path) from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte offset {exc.start})", path) from exc
    if empty is not None and not text.strip():
        raise InputError(empty, path)
    return text


@contextlib.contextmanager
def json_errors(path: str | Path, line: int | None = None) -> Iterator[None]:
    """Decoding a user's JSON inside: bad JSON, nesting too deep for the parser or a number
    too long to convert become one InputError naming file and line."""
    try:
        yield
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path, line) from exc
    except RecursionError as exc:
        raise InputError("JSON nested too deeply", path, line) from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"not valid JSON ({clip(str(exc), 60)})", path, line) from exc


def parse_json(text: str, path: str | Path, line: int | None = None) -> Any:
    """``json.loads`` for a user's text; errors as in :func:`json_errors`."""
    with json_errors(path, line):
        return json.loads(text)


def iter_json_lines(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line is an InputError."""
    for lineno, line in enumerate(split_lines(text), start=1):
        if not line.strip():
            continue
        record = parse_json(line, path, lineno)
        if not isinstance(record, dict):
            raise InputError("expected a JSON object", path, lineno)
        check_no_surrogates(record, path, lineno)
        yield lineno, record


def check_no_surrogates(value: Any, path: str | Path, line: int | None = None) -> None:
    """Refuse a lone surrogate (JSON ``"\\ud800"``) in any string of a decoded JSON value.

    JSON escapes decode into Python strings that cannot be encoded as UTF-8, so SQLite
    and every file writer would fail on them later; valid surrogate pairs decode to one
    character and pass.
    """
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            try:
                current.encode("utf-8")
            except UnicodeEncodeError as exc:
                code = ord(current[exc.start])
                raise InputError(
                    f"lone surrogate \\u{code:04x} in {clip(current, 40)} (not text)", path, line
                ) from None
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines file; a bad line is an InputError naming file and line."""
    path = Path(path)
    return [record for _, record in iter_json_lines(path, read_text(path, empty=None))]


@contextlib.contextmanager
def atomic_dir(path: str | Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` only on success.

    The old directory (if any) is swapped out and removed after the new one is in
    place, so an interrupted run leaves either the old output or the new, never a mix.
    """
    path = Path(path)
    _check_writable(path.parent)
    if path.exists() and not overwrite:
        raise InputError("already exists (pass --overwrite to replace it)", path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it private; the result is not
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


MAX_YAML_NODES = 100_000


def load_yaml(text: str, path: str | Path, max_nodes: int = MAX_YAML_NODES) -> Any:
    """``yaml.safe_load`` with anchors and aliases bounded.

    Aliases are fine (compare configs reuse ``x-...`` anchors), but a few hundred bytes of
    nested aliases expand to billions of nodes ("billion laughs"); a document whose
    expanded size exceeds ``max_nodes`` is refused before anything walks it. A YAML error
    is an InputError naming the file and line.
    """
    import yaml

    if "\x00" in text:
        raise InputError("not a YAML text file (holds NUL bytes)", path)
    try:
        return _load_bounded(text, path, max_nodes)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark else None
        raise InputError(f"not valid YAML ({clip(problem, 80)})", path, line) from exc
    except RecursionError as exc:
        raise InputError("YAML nested too deeply", path) from exc
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InputError(f"not valid YAML ({clip(str(exc), 60)})", path) from exc


def _load_bounded(text: str, path: str | Path, max_nodes: int) -> Any:
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, {}, max_nodes) > max_nodes:
            raise InputError(
                f"YAML expands to more than {max_nodes:,} values (nested aliases?)", path
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _expanded_size(node: Any, memo: dict[int, int], limit: int) -> int:
    """Number of nodes ``node`` stands for once every alias is expanded (capped past limit)."""
    import yaml

    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a node that contains itself expands without end
    size = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        size += _expanded_size(child, memo, limit)
        if size > limit:
            break
    memo[key] = min(size, limit + 1)
    return memo[key]
