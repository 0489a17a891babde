"""Typed settings from YAML: a dataclass says what a config file may hold.

The one config parser of the project (``adapters/config.py``'s ``TrainConfig`` and the
compare config's run settings and lm-eval options use it), in the spirit of TRL's
``TrlParser``/``HfArgumentParser``: a field's type hint is its type, and its metadata
adds the rest::

    @dataclass
    class Run:
        seed: int = field(default=0, metadata=SEED_RANGE)
        learning_rate: float = field(default=3e-2, metadata=in_range(0, math.inf, low_open=True))
        base_model: str = field(default="smollm2", metadata={"nonblank": True})
        batch_size: int | str = field(default=8, metadata={"parse": batch_size_value})
        quantifiers: list[str] | None = None

    text = read_text(path)
    run = Run(**parse(Run, load_yaml(text, path), path, text=text))

``parse`` returns the given keys, coerced; the dataclass fills in the defaults. Coercion
is strict, so YAML 1.1's surprises are refused rather than guessed at:

- ``bool``: ``true``/``false`` only (not ``yes``, ``1`` or ``"true"``);
- ``int``: an integer, not a bool; a whole float (``1.0e3``) becomes ``1000``;
- ``float``: a finite number; a string that Python reads as one is accepted, because
  YAML 1.1 reads ``1e-4`` (no dot) as a string;
- ``str``: a string (a number becomes its text);
- ``list[str]``: a list of strings, or ``"a,b"`` split at commas; a bare ``no`` in the
  list (which YAML reads as false) is refused with the hint to quote it;
- ``dict[str, Any]``: a mapping;
- ``X | None``: ``null`` or an X.

Every refusal is one :class:`InputError` line naming the file, the line of the offending
key where the YAML text is given, and the problem: ``a.yaml:3: seed must be >= 0, got -1``.
An unknown key is refused with the known keys it most resembles (:func:`unknown_key`,
also for mappings checked without a dataclass, through :func:`check_keys`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Set
from pathlib import Path
from typing import Any

from logic_claims.tasks.errors import InputError, clip

MAX_COUNT = 2**31 - 1  # sizes, steps and counts: anything larger is a typo, not a setting


class Range(typing.NamedTuple):
    """Where a numeric setting may lie: from ``low`` to ``high``, ends included unless open."""

    low: float
    high: float = MAX_COUNT
    low_open: bool = False
    high_open: bool = False

    def refusal(self, value: float) -> str | None:
        """Why ``value`` is outside, or None."""
        if value < self.low or (self.low_open and value == self.low):
            return f"must be {'>' if self.low_open else '>='} {self.low}"
        if value > self.high or (self.high_open and value == self.high):
            return f"must be {'<' if self.high_open else '<='} {self.high}"
        return None


def in_range(
    low: float, high: float = MAX_COUNT, *, low_open: bool = False, high_open: bool = False
) -> dict[str, Range]:
    """Field metadata for a numeric range: ``field(default=1, metadata=in_range(1))``."""
    return {"range": Range(low, high, low_open, high_open)}


# A random seed's field metadata: what numpy (and accelerate's set_seed) accepts.
SEED_RANGE = in_range(0, 2**32 - 1)


def ranges(cls: type) -> dict[str, Range]:
    """Every field of the dataclass ``cls`` that declares a range, and that range."""
    return {f.name: f.metadata["range"] for f in dataclasses.fields(cls) if "range" in f.metadata}


def line_of(text: str, *keys: str | int) -> int | None:
    """1-based line of a node (by mapping keys / sequence indexes) in the YAML text."""
    import yaml

    try:
        node = yaml.compose(text)
    except (yaml.YAMLError, RecursionError):
        return None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if getattr(k, "value", None) == str(key)]
            if not match:
                return None
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return None
            node = node.value[key]
        else:
            return None
    return node.start_mark.line + 1 if node is not None else None


def parse(
    cls: type,
    mapping: Mapping[Any, Any],
    path: str | Path,
    *,
    text: str | None = None,
    at: tuple[str | int, ...] = (),
    label: str = "",
    noun: str = "key",
) -> dict[str, Any]:
    """The keys of ``mapping`` as the fields of dataclass ``cls`` hold them, checked.

    ``path`` names the source in errors (a file, ``--set``); with ``text`` (the YAML the
    mapping came from) and ``at`` (the keys leading to the mapping in it) errors also
    give the line. ``label`` starts every message (``"system 'a': "``); ``noun`` names a
    key in the unknown-key error (``unknown config key 'x'``).
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        try:
            if key not in fields:
                raise ValueError(unknown_key(key, fields, noun))
            out[key] = field_value(fields[key], hints[key], value)
        except ValueError as exc:
            line = None if text is None else line_of(text, *at, key) or line_of(text, *at)
            raise InputError(f"{label}{exc}", path, line) from exc
    return out


def parse_options(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    """Command-line options as the fields of dataclass ``cls`` hold them, checked as a
    config's keys are; a refusal names the option: ``--batch-size must be >= 1, got 0``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    for key, value in values.items():
        try:
            out[key] = field_value(fields[key], hints[key], value)
        except ValueError as exc:
            text, option = str(exc), "--" + key.replace("_", "-")
            raise InputError(option + text[len(key) :] if text.startswith(key) else text) from exc
    return out


def unknown_key(key: Any, known: Iterable[str], noun: str = "key") -> str:
    """The refusal of ``key``, with the known keys like it: ``unknown key 'cont' (did you mean
    count?)``. A set of known keys is sorted first, so the message is the same every run."""
    names = sorted(known) if isinstance(known, Set) else list(known)
    word = str(key)
    same_start = [k for k in names if k.split("_")[0] == word.split("_")[0]]
    close = dict.fromkeys(same_start + difflib.get_close_matches(word, names, n=3))
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"unknown {noun} {clip(key)}{hint}"


def check_keys(
    keys: Iterable[Any],
    known: Iterable[str],
    path: str | Path,
    *,
    text: str | None = None,
    at: tuple[str | int, ...] = (),
    label: str = "",
) -> None:
    """Refuse the first of ``keys`` not ``known`` as :func:`parse` does (same message, line).

    For a mapping that is not one dataclass: the compare config's top level and its
    systems, whose keys are split between several.
    """
    names = known if isinstance(known, Set) else list(known)
    for key in keys:
        if key not in names:
            line = None if text is None else line_of(text, *at, key) or line_of(text, *at)
            raise InputError(f"{label}{unknown_key(key, names)}", path, line)


def field_value(f: dataclasses.Field[Any], hint: Any, value: Any) -> Any:
    """``value`` as field ``f`` (of type ``hint``) holds it, or a ValueError saying why."""
    base, optional = hint, False
    if isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint):
        optional = True
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        base = rest[0] if len(rest) == 1 else hint
    if value is None and optional:
        return None
    convert: Callable[[Any], Any] | None = f.metadata.get("parse")
    if convert is not None:  # a type of its own: the converter's ValueError is the message
        return convert(value)
    if value is None:
        raise ValueError(f"{f.name} may not be null")
    value = coerce(f.name, base, value)
    if f.metadata.get("nonblank") and not value.strip():
        raise ValueError(f"{f.name} may not be empty")
    allowed: Range | None = f.metadata.get("range")
    if allowed is not None and (why := allowed.refusal(value)) is not None:
        raise ValueError(f"{f.name} {why}, got {clip(value)}")
    return value


def coerce(key: str, base: Any, value: Any) -> Any:
    """``value`` (as YAML parsed it) as type ``base``, or a ValueError naming ``key``."""
    to = _COERCE.get(typing.get_origin(base) or base)
    if to is None:
        raise AssertionError(f"unhandled type {base} for {key}")
    try:
        return to(key, value)
    except OverflowError as exc:  # float() of a 400-digit integer
        raise ValueError(f"{key} is out of range, got {clip(value)}") from exc


def _to_list(key: str, value: Any) -> list[str]:
    if isinstance(value, str):  # --set target_modules=q_proj,v_proj
        value = [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and False in value:  # YAML 1.1 reads a bare no as false
        raise ValueError(f'{key}: write no as "no" (quoted; YAML reads a bare no as false)')
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a list of strings, got {clip(value)}")
    return value


def _to_dict(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping, got {clip(value)}")
    return dict(value)


def _to_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{key} must be true or false, got {clip(value)}")


def _to_int(key: str, value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():  # 1.0e3 (YAML) -> 1000
        return int(value)
    raise ValueError(f"{key} must be an integer, got {clip(value)}")


def _to_float(key: str, value: Any) -> float:
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as a string
        with contextlib.suppress(ValueError):
            number = float(value)
    if number is None:
        raise ValueError(f"{key} must be a number, got {clip(value)}")
    if not math.isfinite(number):  # .inf, nan, 1e400
        raise ValueError(f"{key} must be a finite number, got {clip(value)}")
    return number


def _to_str(key: str, value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(f"{key} must be a string, got {clip(value)}")


_COERCE: dict[Any, Callable[[str, Any], Any]] = {
    list: _to_list,
    dict: _to_dict,
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
}
