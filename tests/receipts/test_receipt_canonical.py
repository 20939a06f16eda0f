"""Canonical receipt JSON, JCS bytes and decimal strings."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.canonical import (
    MAX_DEPTH,
    CanonicalJSONError,
    _check,
    _plain,
    decimal_str,
    dump_chunks,
    dumps,
    jcs,
    sha256_tag,
    stdlib_dumps,
)

json_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=40,
)


def test_dumps_form() -> None:
    out = dumps({"b": [1, {"z": None, "a": True}], "a": "é€😀", "c": {}, "d": []})
    assert (
        out
        == (
            '{\n  "a": "é€😀",\n  "b": [\n    1,\n    {\n      "a": true,\n      "z": null\n    }\n  ],\n'
            '  "c": {},\n  "d": []\n}\n'
        ).encode()
    )
    assert out.endswith(b"}\n") and not out.endswith(b"\n\n")
    assert b"\r" not in out


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"a": {"b": [1, 2.5]}}, "$.a.b[1]"),
        ({"metering": {"delta": 0.0}}, "$.metering.delta"),
        ([math.nan], "$[0]"),
        ({"x": [math.inf]}, "$.x[0]"),
        ({"odd key": -math.inf}, '$["odd key"]'),
        ({"d": Decimal("1.5")}, "$.d"),
        ({"t": (1, 2)}, "$.t"),
        ({"s": {1, 2}}, "$.s"),
        ({"a": {1: "x"}}, "$.a"),
        ({"a": "\ud800"}, "$.a"),
    ],
)
def test_dumps_refuses_with_path(value: Any, path: str) -> None:
    with pytest.raises(CanonicalJSONError) as info:
        dumps(value)
    assert info.value.path == path
    assert str(info.value).startswith(path + ": ")


def test_float_message_points_at_decimal_str() -> None:
    with pytest.raises(CanonicalJSONError, match="decimal_str"):
        dumps({"gb": 0.001})


@given(json_trees)
def test_dumps_round_trips(value: Any) -> None:
    out = dumps(value)
    assert json.loads(out.decode("utf-8")) == value
    assert dumps(json.loads(out)) == out
    assert out.endswith(b"\n") and not out.endswith(b"\n\n")


def test_jcs_rfc8785_example() -> None:
    # RFC 8785 section 3.2.2 (number and string serialisation).
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert jcs(value) == expected.encode("utf-8")


def test_jcs_rfc8785_key_order() -> None:
    # RFC 8785 section 3.2.3: keys sort by UTF-16 code units, not code points.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    assert list(json.loads(jcs(value))) == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_jcs_refuses_what_rfc8785_cannot_express() -> None:
    with pytest.raises(CanonicalJSONError):
        jcs({"n": math.nan})


def test_sha256_tag() -> None:
    assert sha256_tag(b"") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E-9"), "0.000000001"),
        (Decimal("12.50"), "12.5"),
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("1.000E+5"), "100000"),
        (Decimal("-0"), "0"),
        (Decimal("-0.000"), "0"),
        (Decimal("0E-12"), "0"),
        (Decimal("0.10"), "0.1"),
        (Decimal("-3.1400"), "-3.14"),
        (Decimal("5E-30"), "0.000000000000000000000000000005"),
        (Decimal("123456789012345678901234567890.123456789"), "123456789012345678901234567890.123456789"),
        (7, "7"),
    ],
)
def test_decimal_str(value: Decimal, text: str) -> None:
    assert decimal_str(value) == text
    assert Decimal(text) == value


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_decimal_str_refuses_non_finite(bad: Decimal) -> None:
    with pytest.raises(ValueError):
        decimal_str(bad)


@pytest.mark.parametrize("bad", [0.5, True, "1"])
def test_decimal_str_refuses_other_types(bad: Any) -> None:
    with pytest.raises(TypeError):
        decimal_str(bad)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_str_is_exact_and_canonical(value: Decimal) -> None:
    text = decimal_str(value)
    assert Decimal(text) == value
    assert "E" not in text and "e" not in text and text != "-0"
    assert decimal_str(Decimal(text)) == text


# Text that exercises every escape rule: controls, quotes, backslashes, DEL, the JS line separators,
# astral characters; keys that sort differently by UTF-16 units than by code points.
_HOSTILE = st.text(st.characters(blacklist_categories=["Cs"]) | st.sampled_from(
    ["\x00", "\x1f", "\x7f", "\u2028", "\u2029", '"', "\\", "/", "\ufeff", "\U0001f600", "\uffff", "é"]))
hostile_trees = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | _HOSTILE,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_HOSTILE, children, max_size=6),
    max_leaves=60,
)


@given(hostile_trees)
@settings(max_examples=400)
def test_dumps_writes_the_standard_library_form_byte_for_byte(value: Any) -> None:
    # dumps is orjson (native speed); the contract is json.dumps's form (DESIGN "Canonical JSON").
    assert dumps(value) == stdlib_dumps(value)


@pytest.mark.parametrize("value", [
    {"\U0001f600": 1, "\uffff": 2, "a": 3}, [2**63, -(2**63) - 1, 2**64, 10**100], {"a": [[]], "b": {"c": {}}},
    "\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1f\x7f\u2028", True, None, 0, "",
])
def test_dumps_agrees_at_the_edges(value: Any) -> None:
    assert dumps(value) == stdlib_dumps(value)


# Leaves _check refuses or treats specially, so the fast walk must answer False (or agree) on them.
offending_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.floats(allow_nan=False) | st.just("\ud800")
    | st.just(2**13_001) | st.just(Decimal("1.5")) | st.tuples(st.integers()),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text() | st.just("\udfff") | st.integers(), children, max_size=4),
    max_leaves=30,
)


def _slow_check(tree: Any, *, floats: bool = False) -> None:
    """``_check`` with its ``_plain`` shortcut turned off: the path-building walk is the reference."""
    import runner.canonical as canonical

    shortcut = canonical._plain
    canonical._plain = lambda value, *, floats: False  # type: ignore[assignment]
    try:
        _check(tree, (), floats=floats)
    finally:
        canonical._plain = shortcut


@settings(max_examples=300, deadline=None)
@given(offending_trees, st.booleans())
def test_the_fast_walk_accepts_only_trees_the_checker_accepts(tree: Any, floats: bool) -> None:
    """``_plain`` is the shortcut in front of ``_check``: when it says plain, the full walk must agree."""
    if _plain(tree, floats=floats):
        _slow_check(tree, floats=floats)  # raises if the shortcut let an offender through


@pytest.mark.parametrize("kind", [list, dict])
def test_the_fast_walk_and_the_checker_agree_at_the_depth_limit(kind: type) -> None:
    def nested(depth: int) -> Any:
        tree: Any = 1
        for _ in range(depth):
            tree = [tree] if kind is list else {"k": tree}
        return tree

    assert _plain(nested(MAX_DEPTH), floats=False)
    _slow_check(nested(MAX_DEPTH))
    assert not _plain(nested(MAX_DEPTH + 1), floats=False)
    with pytest.raises(CanonicalJSONError, match="nested deeper"):
        _slow_check(nested(MAX_DEPTH + 1))


deep_trees = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**64) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=60,
)


@given(deep_trees)
@settings(max_examples=300)
def test_dump_chunks_join_to_the_bytes_of_dumps(value: Any) -> None:
    assert b"".join(dump_chunks(value)) == dumps(value)


def test_dump_chunks_refuses_before_the_first_piece() -> None:
    with pytest.raises(CanonicalJSONError) as info:
        dump_chunks({"scenarios": [{"steps": [{"gb": 0.5}]}]})  # raises on the call, not when iterated
    assert info.value.path == "$.scenarios[0].steps[0].gb"
