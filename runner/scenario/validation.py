"""Map pydantic's validation errors back to ``file:line: field: message``, and attach sources.

pydantic reports a location path such as ``('steps', 3, 'call-step', 'with')``; the strict
YAML reader recorded the line of every path, so after dropping union tags the nearest
recorded ancestor gives the line. Messages are rewritten in the scenario's own words.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from pydantic import ValidationError

from .errors import ScenarioError, SourceLocation, format_field
from .model import INPUT_NAMES, CallStep, MeteringRange, MeteringStep, ProbeStep, Scenario, _Node
from .strict_yaml import Path

__all__ = ["attach_sources", "validation_errors"]

_UNION_TAGS: Final = frozenset(
    {"call-step", "probe-step", "metering-step", "expect-number", "expect-range", "expect-from-probes"}
)
_YAML_KIND: Final[Mapping[type, str]] = {
    str: "a string",
    int: "an integer",
    Decimal: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "a list",
    dict: "a mapping",
}
_EXPECTED: Final[Mapping[str, str]] = {
    "string_type": "a string",
    "int_type": "an integer",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
}


def _kind(value: Any) -> str:
    return _YAML_KIND.get(type(value), type(value).__name__)


def _message(error: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_kind(value)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "literal_error" and "expect-from-probes" in loc:
        return f"expected a number, a {{min, max}} mapping or from_probes, got {value!r}"
    if kind == "literal_error" and "needs" in loc:
        return f"unknown input {value!r}; inputs are {', '.join(INPUT_NAMES)}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "greater_than_equal":
        return f"must be >= {error.get('ctx', {}).get('ge')}, got {value!r}"
    return str(error["msg"])


def validation_errors(exc: ValidationError, file: str, lines: Mapping[Path, int]) -> list[ScenarioError]:
    """One ``ScenarioError`` per pydantic error, located by the nearest recorded line."""
    raw = exc.errors(include_url=False)
    located = [(tuple(p for p in e["loc"] if p not in _UNION_TAGS), e) for e in raw]
    errors: list[ScenarioError] = []
    for loc, error in located:
        # A list whose items all failed is also "too short": the item errors say it better.
        if error["type"] == "too_short" and any(o[: len(loc)] == loc and len(o) > len(loc) for o, _ in located):
            continue
        is_key = bool(loc) and loc[-1] == "[key]"
        path: Path = tuple(p for p in loc if p != "[key]")
        message = _message(error, tuple(error["loc"]))
        if is_key:
            message = f"key {path[-1]!r}: {message}"
        errors.append(ScenarioError(file, _line_of(lines, path), format_field(path), message))
    return errors


def _line_of(lines: Mapping[Path, int], path: Path) -> int | None:
    for end in range(len(path), -1, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None


def _set(node: _Node, file: str, lines: Mapping[Path, int], path: Path) -> None:
    node._source = SourceLocation(file, _line_of(lines, path))


def attach_sources(scenario: Scenario, file: str, lines: Mapping[Path, int]) -> None:
    """Record on every model object the file and line it was written at."""
    _set(scenario, file, lines, ())
    scenario._lines = dict(lines)
    placed: list[tuple[Path, Any]] = [(("steps", i), step) for i, step in enumerate(scenario.steps)]
    placed += [(("cleanup", i), step) for i, step in enumerate(scenario.cleanup)]
    for base, step in placed:
        _set(step, file, lines, base)
        if isinstance(step, CallStep):
            for number, expectation in enumerate(step.expect):
                _set(expectation, file, lines, (*base, "expect", number))
            if step.until is not None:
                _set(step.until, file, lines, (*base, "until"))
        elif isinstance(step, ProbeStep):
            _set(step.probe, file, lines, (*base, "probe"))
            if step.probe.payload is not None:
                _set(step.probe.payload, file, lines, (*base, "probe", "payload"))
        elif isinstance(step, MeteringStep):
            _set(step.metering, file, lines, (*base, "metering"))
            if isinstance(step.metering.expect, MeteringRange):
                _set(step.metering.expect, file, lines, (*base, "metering", "expect"))
