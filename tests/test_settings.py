"""The one settings parser (tasks/settings.py): each accepted form and each refusal."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from logic_claims.tasks.errors import InputError, clip
from logic_claims.tasks.io import load_yaml
from logic_claims.tasks.settings import (
    SEED_RANGE,
    Range,
    check_keys,
    in_range,
    line_of,
    parse,
    parse_options,
    ranges,
    unknown_key,
)


def even(value: Any) -> int:
    """A converter of its own: its ValueError is the message."""
    if not isinstance(value, int) or value % 2:
        raise ValueError(f"size must be even, got {value!r}")
    return value


@dataclass
class Example:
    flag: bool = False
    count: int = field(default=1, metadata=in_range(1))
    seed: int = field(default=0, metadata=in_range(0, 2**32 - 1))
    rate: float = field(default=0.1, metadata=in_range(0.0, math.inf, low_open=True))
    dropout: float = field(default=0.0, metadata=in_range(0.0, 1.0, high_open=True))
    name: str = field(default="x", metadata={"nonblank": True})
    note: str | None = None
    modules: list[str] | None = None
    options: dict[str, Any] | None = None
    size: int | str = field(default=2, metadata={"parse": even})
    limit: int | None = field(default=None, metadata={"parse": even})


def parsed(**values: Any) -> dict[str, Any]:
    return parse(Example, values, "example.yaml")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"flag": True}, {"flag": True}),
        ({"count": 3}, {"count": 3}),
        ({"count": 1.0e3}, {"count": 1000}),  # YAML's 1.0e3 is a float
        ({"seed": 2**32 - 1}, {"seed": 2**32 - 1}),
        ({"rate": 1}, {"rate": 1.0}),
        ({"rate": "1e-4"}, {"rate": 1e-4}),  # YAML 1.1 reads 1e-4 as a string
        ({"dropout": 0.5}, {"dropout": 0.5}),
        ({"name": 7}, {"name": "7"}),  # --set name=7
        ({"note": None}, {"note": None}),
        ({"modules": ["q", "v"]}, {"modules": ["q", "v"]}),
        ({"modules": "q_proj, v_proj"}, {"modules": ["q_proj", "v_proj"]}),
        ({"modules": None}, {"modules": None}),
        ({"options": {"a": 1}}, {"options": {"a": 1}}),
        ({"size": 4}, {"size": 4}),
        ({"limit": None}, {"limit": None}),  # optional: null is not the converter's
        ({}, {}),
    ],
)
def test_accepted_forms(values: dict[str, Any], expected: dict[str, Any]) -> None:
    result = parsed(**values)
    assert result == expected
    assert [type(v) for v in result.values()] == [type(v) for v in expected.values()]
    Example(**result)  # defaults fill in the rest


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"flag": "yes"}, "flag must be true or false, got 'yes'"),
        ({"flag": 1}, "flag must be true or false, got 1"),
        ({"count": True}, "count must be an integer, got True"),
        ({"count": 2.5}, "count must be an integer, got 2.5"),
        ({"count": "3"}, "count must be an integer, got '3'"),
        ({"count": 0}, "count must be >= 1, got 0"),
        ({"count": 2**31}, "count must be <= 2147483647, got 2147483648"),
        ({"seed": -1}, "seed must be >= 0, got -1"),
        ({"seed": 2**32}, "seed must be <= 4294967295, got 4294967296"),
        ({"rate": 0}, "rate must be > 0.0, got 0.0"),
        ({"rate": True}, "rate must be a number, got True"),
        ({"rate": "fast"}, "rate must be a number, got 'fast'"),
        ({"rate": math.inf}, "rate must be a finite number, got inf"),
        ({"rate": "nan"}, "rate must be a finite number, got 'nan'"),
        ({"rate": 10**400}, f"rate is out of range, got {clip(10**400)}"),
        ({"dropout": 1}, "dropout must be < 1.0, got 1.0"),
        ({"name": None}, "name may not be null"),
        ({"name": " "}, "name may not be empty"),
        ({"name": [1]}, "name must be a string, got [1]"),
        ({"name": False}, "name must be a string, got False"),
        (
            {"modules": ["all", False]},
            'modules: write no as "no" (quoted; YAML reads a bare no as false)',
        ),
        ({"modules": [1]}, "modules must be a list of strings, got [1]"),
        ({"options": [1]}, "options must be a mapping, got [1]"),
        ({"size": 3}, "size must be even, got 3"),
        ({"size": None}, "size must be even, got None"),  # not optional: the converter's
        ({"colour": 1}, "unknown key 'colour'"),
        ({"cont": 1}, "unknown key 'cont' (did you mean count?)"),
        ({"name_x": 1}, "unknown key 'name_x' (did you mean name?)"),
    ],
)
def test_refusals_are_one_line_naming_the_source(values: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        parsed(**values)
    assert str(info.value) == f"example.yaml: {message}"


def test_errors_give_the_line_of_the_key_in_the_yaml(tmp_path: Path) -> None:
    text = "runs:\n  - name: a\n    count: 1\n  - name: b\n\n    count: 0\n"
    second = load_yaml(text, "r.yaml")["runs"][1]
    with pytest.raises(InputError) as info:
        parse(Example, second, "r.yaml", text=text, at=("runs", 1), label="run 'b': ")
    assert str(info.value) == "r.yaml:6: run 'b': count must be >= 1, got 0"
    # a key the YAML text does not show (merged in by the caller): the mapping's line
    with pytest.raises(InputError, match=r"^r\.yaml:4: unknown config key 'x'$"):
        parse(Example, {"x": 1}, "r.yaml", text=text, at=("runs", 1), noun="config key")


def test_check_keys_refuses_as_parse_does() -> None:
    text = "name: a\nsystems:\n  - {name: b, modle: x}\n"
    known = {"name", "model", "kind"}  # a set: the suggestions come sorted
    check_keys(["name", "kind"], known, "c.yaml", text=text)
    with pytest.raises(InputError) as info:
        check_keys(["name", "modle"], known, "c.yaml", text=text, at=("systems", 0), label="b: ")
    assert str(info.value) == "c.yaml:3: b: unknown key 'modle' (did you mean model?)"
    # the same words as an unknown field of a dataclass
    assert unknown_key("cont", [f.name for f in dataclasses.fields(Example)]) == (
        "unknown key 'cont' (did you mean count?)"
    )
    assert unknown_key("nme", {"name", "kind", "model"}, noun="config key") == (
        "unknown config key 'nme' (did you mean name?)"
    )


def test_seed_range_is_what_numpy_accepts() -> None:
    assert SEED_RANGE["range"] == Range(0, 2**32 - 1)


def test_line_of_walks_keys_and_indexes() -> None:
    text = "a: 1\nb:\n  - {c: 2}\n  - d: 3\n    e: [4]\n"
    assert line_of(text, "a") == 1
    assert line_of(text, "b", 0) == 3
    assert line_of(text, "b", 1, "e") == 5
    assert line_of(text, "b", 2) is None
    assert line_of(text, "z") is None
    assert line_of(text, "a", "deeper") is None
    assert line_of("a: [unclosed\n", "a") is None


def test_ranges_come_from_field_metadata() -> None:
    assert ranges(Example) == {
        "count": Range(1),
        "seed": Range(0, 2**32 - 1),
        "rate": Range(0.0, math.inf, low_open=True),
        "dropout": Range(0.0, 1.0, high_open=True),
    }
    assert Range(0, 1, low_open=True, high_open=True).refusal(0.5) is None
    assert Range(0, 1, low_open=True, high_open=True).refusal(0) == "must be > 0"
    assert Range(0, 1).refusal(1) is None
    for f in dataclasses.fields(Example):  # every default passes its own checks
        default = f.default_factory() if callable(f.default_factory) else f.default
        assert parsed(**{f.name: default}) == {f.name: default}


def test_command_line_options_are_checked_by_the_same_parser() -> None:
    """parse_options: a command's options get the config keys' checks and messages, named
    as options (``annotate judge``, ``annotate calibrate`` and ``compare --plan`` use it)."""

    @dataclass
    class Options:
        batch_size: int = field(default=16, metadata=in_range(1, 4096))
        detect: float = field(default=0.1, metadata=in_range(0, 1, low_open=True))

    assert parse_options(Options, {"batch_size": 8, "detect": 1}) == {
        "batch_size": 8,
        "detect": 1.0,
    }
    for values, message in (
        ({"batch_size": 0}, "--batch-size must be >= 1, got 0"),
        ({"batch_size": True}, "--batch-size must be an integer"),
        ({"detect": 0.0}, "--detect must be > 0, got 0.0"),
        ({"detect": math.nan}, "--detect must be a finite number"),
    ):
        with pytest.raises(InputError) as error:
            parse_options(Options, values)
        assert str(error.value).startswith(message), error.value
