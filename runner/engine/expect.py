"""Assertions on a step's result: ``equals``, ``min``, ``max``, ``exists``, ``one_of``, ``matches``.

Numbers compare as exact decimals (a response's ``0.1`` equals a scenario's ``0.1``);
an absent path is a failed assertion, not an error. ``matches`` is an RE2 search on the
value's first 64 KiB (``runner.scenario.regex``): linear time, so no answer can hold up
the event loop, the deadline or a signal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from runner.engine.results import Assertion
from runner.scenario.interpolate import MISSING, lookup
from runner.scenario.model import Expectation
from runner.scenario.regex import search

__all__ = ["check", "holds", "number"]


def number(value: Any) -> Decimal | None:
    """``value`` as an exact decimal when it is a JSON number (never a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value)


def _same(actual: Any, expected: Any) -> bool:
    a, e = number(actual), number(expected)
    if a is not None and e is not None:
        return a == e
    return type(actual) is type(expected) and bool(actual == expected)


def holds(op: str, actual: Any, expected: Any) -> bool:
    """Whether ``actual`` (``MISSING`` when the path is absent) satisfies ``op`` with ``expected``."""
    if op == "exists":
        return (actual is not MISSING) is bool(expected)
    if actual is MISSING:
        return False
    if op == "equals":
        return _same(actual, expected)
    if op == "one_of":
        return any(_same(actual, option) for option in expected)
    if op == "matches":
        return isinstance(actual, str) and search(expected, actual)
    value = number(actual)
    if value is None:
        return False
    return bool(value >= expected) if op == "min" else bool(value <= expected)


def check(expectation: Expectation, result: Any) -> Assertion:
    """One assertion evaluated against ``result``; ``passed`` says whether it held."""
    op, expected = expectation.operator, expectation.operand
    actual = lookup(result, expectation.path)
    return Assertion(expectation.path, op, expected, actual, holds(op, actual, expected), expectation.reason)
