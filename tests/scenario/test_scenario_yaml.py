"""The strict reader: a value is what it looks like (no YAML 1.1 coercions), lines are kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from runner.scenario.strict_yaml import StrictLoader, StrictYAMLError, compose_lines


def value(text: str) -> Any:
    data, _ = compose_lines(f"v: {text}\n")
    return data["v"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # YAML 1.1 booleans stay strings
        ("no", "no"), ("yes", "yes"), ("on", "on"), ("off", "off"), ("y", "y"), ("N", "N"),
        # YAML 1.1 sexagesimal, octal, hex, underscores, timestamps stay strings
        ("1:30", "1:30"), ("0x1F", "0x1F"), ("0o17", "0o17"), ("1_000", "1_000"),
        ("2024-01-01", "2024-01-01"), (".inf", ".inf"), (".nan", ".nan"), ("=", "="),
        # Leading zeros: the YAML 1.2 core schema would say 17; we keep the text (a build
        # number or zip code), as the 1.2 JSON schema does, so nothing written is lost.
        ("017", "017"), ("-017", "-017"), ("00.5", "00.5"),
        # 1.2 booleans and nulls, in the three spellings each
        ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
        ("tRUE", "tRUE"), ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None), ("nULL", "nULL"),
        # integers, and decimals kept exact from their text (never a float)
        ("0", 0), ("17", 17), ("-3", -3), ("+5", 5),
        ("1.5", Decimal("1.5")), ("1e-9", Decimal("1e-9")), ("0.1", Decimal("0.1")), (".5", Decimal("0.5")),
        # quoted scalars are always strings
        ("'true'", "true"), ('"17"', "17"), ("!!str 17", "17"),
    ],
)  # fmt: skip
def test_scalars_are_what_they_look_like(text: str, expected: Any) -> None:
    got = value(text)
    assert got == expected and type(got) is type(expected)


def test_no_floats_ever() -> None:
    data, _ = compose_lines("a: [1.0, 2.5e3, -0.0, 3.14159265358979323846264338327950288]\n")
    assert all(isinstance(v, Decimal) for v in data["a"])
    assert str(data["a"][3]) == "3.14159265358979323846264338327950288"


def test_yaml11_keys_stay_strings() -> None:
    data, _ = compose_lines("on: push\nno: 1\n")
    assert data == {"on": "push", "no": 1}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: {x: 1, y: 2,\n  x: 3}\n", 2, "duplicate key 'x' (first at line 1)"),
        ("true: 1\nTrue: 2\n", 1, "mapping key 'true' is not a string"),
        ("a: &x 1\nb: *x\n", 2, "aliases (*x) are not allowed"),
        ("a: !!int 017\n", 1, "'017' is not a valid int"),
        ("a: !!bool yes\n", 1, "'yes' is not a valid bool"),
        ("a: !!timestamp 2024-01-01\n", 1, "unsupported YAML tag"),
        ("a: !!python/object:os.system x\n", 1, "unsupported YAML tag"),
        ("a: !custom x\n", 1, "unsupported YAML tag '!custom'"),
        ("a: !!set {x}\n", 1, "unsupported YAML tag"),
        ("---\na: 1\n---\nb: 2\n", 3, "expected a single document"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", 1, "nesting deeper than"),
    ],
)
def test_strict_errors(text: str, line: int, fragment: str) -> None:
    with pytest.raises(StrictYAMLError) as info:
        compose_lines(text)
    assert info.value.line == line
    assert fragment in info.value.message


def test_lines_of_keys_and_items() -> None:
    _, lines = compose_lines("a:\n  - x\n  -\n    b: 1\n    c: [2,\n      3]\n")
    assert lines[()] == 1
    assert lines[("a",)] == 1
    assert lines[("a", 0)] == 2
    assert lines[("a", 1)] == 4
    assert lines[("a", 1, "c")] == 5
    assert lines[("a", 1, "c", 1)] == 6


def test_loader_class_is_strict_through_yaml_load() -> None:
    assert yaml.load("a: no\nb: 017\nc: 1.5\n", Loader=StrictLoader) == {"a": "no", "b": "017", "c": Decimal("1.5")}
    with pytest.raises(StrictYAMLError):
        yaml.load("a: 1\na: 2\n", Loader=StrictLoader)
