"""The safe resolver and response paths."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.scenario.interpolate import (
    MISSING,
    InterpolationError,
    Reference,
    lookup,
    parse_path,
    parse_template,
    resolve,
)

INPUTS: dict[str, str | None] = {"policy_id": "pol-1", "base_url": "http://axis", "rollback_token": None}
SAVED: dict[str, dict[str, Any]] = {
    "plan": {"plan_id": "p-9", "count": 3, "ratio": Decimal("0.5"), "ok": True, "nothing": None, "items": [1, 2]}
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${inputs.policy_id}", "pol-1"),
        ("${steps.plan.count}", 3),
        ("${steps.plan.ratio}", Decimal("0.5")),
        ("${steps.plan.ok}", True),
        ("${steps.plan.nothing}", None),
        ("${steps.plan.items}", [1, 2]),
    ],
)
def test_whole_string_reference_keeps_its_type(template: str, expected: Any) -> None:
    got = resolve(template, INPUTS, SAVED)
    assert got == expected and type(got) is type(expected)


def test_references_inside_text_are_substituted_as_text() -> None:
    assert resolve("id=${inputs.policy_id}/${steps.plan.count}", INPUTS, SAVED) == "id=pol-1/3"
    assert resolve("ok=${steps.plan.ok} r=${steps.plan.ratio}", INPUTS, SAVED) == "ok=true r=0.5"
    assert resolve(" ${steps.plan.count}", INPUTS, SAVED) == " 3"


def test_escape_and_lone_dollars() -> None:
    assert resolve("$${inputs.policy_id}", INPUTS, SAVED) == "${inputs.policy_id}"
    assert resolve("cost: $5, $$ and $}", INPUTS, SAVED) == "cost: $5, $$ and $}"
    assert resolve("$${x} ${inputs.policy_id}", INPUTS, SAVED) == "${x} pol-1"
    assert parse_template("$${inputs.nope}") == ("${inputs.nope}",)  # escaped: text, not a reference


def test_walks_containers_but_not_keys() -> None:
    value = {
        "${inputs.policy_id}": ["${steps.plan.count}", {"a": "x${inputs.policy_id}"}],
        "n": 1,
        "t": ("${steps.plan.ok}",),
    }
    assert resolve(value, INPUTS, SAVED) == {"${inputs.policy_id}": [3, {"a": "xpol-1"}], "n": 1, "t": (True,)}
    assert value["n"] == 1  # the input is not modified


@pytest.mark.parametrize(
    ("template", "kind"),
    [
        ("${inputs.nope}", "unknown"),
        ("${steps.other.x}", "unknown"),
        ("${steps.plan.missing}", "unknown"),
        ("${inputs.rollback_token}", "not_provided"),
        ("a ${steps.plan.items}", "not_text"),
        ("a ${steps.plan.nothing}", "not_text"),
        ("${inputs}", "syntax"),
        ("${ inputs.policy_id }", "syntax"),
        ("${env.HOME}", "syntax"),
        ("${__import__('os')}", "syntax"),
        ("${inputs.policy_id", "syntax"),
    ],
)
def test_unresolvable_references_raise_with_the_reference(template: str, kind: str) -> None:
    with pytest.raises(InterpolationError) as info:
        resolve(template, INPUTS, SAVED)
    assert info.value.kind == kind
    assert info.value.reference.startswith("${")


def test_parse_template_finds_every_reference() -> None:
    assert parse_template("x ${steps.plan.plan_id} ${inputs.base_url}") == (
        "x ", Reference("steps", "plan", "plan_id"), " ", Reference("inputs", "base_url", None),
    )
    assert str(Reference("steps", "plan", "plan_id")) == "${steps.plan.plan_id}"
    assert parse_template("a${inputs.x}b") == ("a", Reference("inputs", "x", None), "b")


RESPONSE = {
    "data": {"planId": "camel", "empty": None},
    "policies": [{"id": "p1"}, {"id": "p2"}],
    "usage": {"telemetryDataGB": Decimal("1.25")},
    "weird": {"0": "string key"},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("data.planId", "camel"),
        ("data.plan_id|data.planId", "camel"),
        ("data.empty|data.planId", None),  # present-but-null wins: null is a value
        ("policies.1.id", "p2"),
        ("policies.0.id|0.id", "p1"),
        ("usage.telemetryDataGB", Decimal("1.25")),
        ("weird.0", "string key"),
        ("policies.2.id", MISSING),
        ("policies.x", MISSING),
        ("data.planId.deeper", MISSING),
        ("nope|also.nope", MISSING),
    ],
)
def test_lookup(path: str, expected: Any) -> None:
    assert lookup(RESPONSE, path) == expected if expected is not MISSING else lookup(RESPONSE, path) is MISSING


def test_lookup_indexes_bare_lists_and_misses_on_scalars() -> None:
    assert lookup([{"id": "a"}], "policies.0.id|0.id") == "a"
    assert lookup("text", "0") is MISSING
    assert lookup(None, "a") is MISSING


def test_missing_is_a_falsy_singleton_distinct_from_none() -> None:
    assert MISSING is not None and not MISSING and repr(MISSING) == "MISSING"
    assert type(MISSING)() is MISSING


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", "a||b", "a b", "a|", "a.$b"])
def test_bad_paths_are_rejected(path: str) -> None:
    with pytest.raises(ValueError, match="invalid response path"):
        parse_path(path)


_TEXT = st.text(alphabet=st.sampled_from(list("ab$}{. ")), max_size=30)


@given(_TEXT)
def test_text_without_valid_references_round_trips_or_raises_cleanly(text: str) -> None:
    try:
        parts = parse_template(text)
    except InterpolationError:
        return
    # No references can come from this alphabet; the result is the text with $${ unescaped.
    assert all(isinstance(p, str) for p in parts)
    assert resolve(text, {}, {}) == "".join(parts)


@given(st.text(alphabet=st.sampled_from(list("$${}xi.")) | st.characters(), max_size=40))
def test_escaping_every_reference_opener_gives_the_text_back(text: str) -> None:
    assert resolve(text.replace("${", "$${"), {}, {}) == text
