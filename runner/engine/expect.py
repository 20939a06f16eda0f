"""Assertions on a step's result: ``equals``, ``min``, ``max``, ``exists``, ``one_of``, ``matches``.

Numbers compare as exact decimals (a response's ``0.1`` equals a scenario's ``0.1``);
an absent path is a failed assertion, not an error. ``matches`` is an RE2 search on the
value's first 64 KiB (``runner.scenario.regex``): linear time, so no answer can hold up
the event loop, the deadline or a signal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from runner.scenario.interpolate import MISSING, lookup
from runner.scenario.model import Expectation
from runner.scenario.regex import search

if TYPE_CHECKING:  # the receipts' validator imports this module, and evidence imports the receipts
    from runner.evidence.redact import Redactor

__all__ = ["check", "holds"]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value)


def _same(actual: Any, expected: Any) -> bool:
    a, e = _number(actual), _number(expected)
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
    number = _number(actual)
    if number is None:
        return False
    return bool(number >= expected) if op == "min" else bool(number <= expected)


def check(expectation: Expectation, result: Any, redactor: Redactor) -> dict[str, Any]:
    """One assertion's receipt entry; ``passed`` says whether it held."""
    op, expected = expectation.operator, expectation.operand
    actual = lookup(result, expectation.path)
    return {
        "path": expectation.path,
        "op": op,
        "expected": redactor.value(expected),
        "actual": None if actual is MISSING else redactor.value(actual),
        "passed": holds(op, actual, expected),
        "reason_code": expectation.reason,
    }
