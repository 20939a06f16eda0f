"""Fault rules for the reference server, and the YAML file they are written in.

A rule names one route ("METHOD PATH") and a window of its requests to fault: the first
``after`` matching requests pass, the next ``times`` are faulted, the rest pass again. The
window lets a test say "the second call fails once", which is what retry and exactly-once
behaviour is tested with. A bad file is refused with the file, line, rule and field, because
a fault plan that silently does less than it says makes a passing test meaningless.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

__all__ = ["ACTIONS", "Action", "Fault", "FaultFileError", "FaultPlan", "load_faults"]

Action = Literal["respond", "drop", "malformed", "hang", "corrupt"]
ACTIONS: tuple[str, ...] = get_args(Action)

_MATCH = re.compile(r"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/\S*)")


@dataclass(frozen=True)
class Fault:
    """One fault rule: which requests it hits and what the client sees instead of the answer.

    ``respond`` answers ``status`` (with ``Retry-After`` when given) without processing the
    request. ``drop``, ``malformed``, ``hang`` and ``corrupt`` process the request first (its
    effect happens) and then lose, garble, withhold or alter the answer: that is the case a
    client's exactly-once logic must survive. ``delay_s`` is waited before any action.
    """

    match: str
    after: int = 0
    times: int | None = None
    status: int = 503
    retry_after: str | None = None
    delay_s: float = 0.0
    action: Action = "respond"

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem is not None:
            raise _InvalidField(*problem)

    def covers(self, nth: int) -> bool:
        """Whether the ``nth`` (0-based) request matching this rule falls in its fault window."""
        if nth < self.after:
            return False
        return self.times is None or nth < self.after + self.times


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(fault: Fault) -> tuple[str, str] | None:
    """The first invalid field of a rule and why, or None: one place for the rules' rules."""
    matched = _MATCH.fullmatch(fault.match) if isinstance(fault.match, str) else None
    if matched is None:
        return "match", f"must be 'METHOD /path' such as 'GET /api/usage/summary', got {fault.match!r}"
    if "?" in matched.group(2):
        return "match", "matches the path only; remove the query string"
    if not _is_int(fault.after) or fault.after < 0:
        return "after", f"must be an integer >= 0, got {fault.after!r}"
    if fault.times is not None and (not _is_int(fault.times) or fault.times < 1):
        return "times", f"must be an integer >= 1, or omitted to fault every request after 'after', got {fault.times!r}"
    if not _is_int(fault.status) or not 200 <= fault.status <= 599:
        return "status", f"must be an HTTP status between 200 and 599, got {fault.status!r}"
    retry_after = fault.retry_after
    if retry_after is not None and not (
        isinstance(retry_after, str) and retry_after.isascii() and retry_after.isprintable() and retry_after
    ):
        return "retry_after", f"must be seconds or an HTTP-date, as a string, got {fault.retry_after!r}"
    delay = fault.delay_s
    if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not math.isfinite(delay) or delay < 0:
        return "delay_s", f"must be a number of seconds >= 0, got {delay!r}"
    if fault.action not in ACTIONS:
        return "action", f"must be one of {', '.join(ACTIONS)}, got {fault.action!r}"
    return None


class _InvalidField(ValueError):
    """A rule with a bad field; ``field`` lets the loader point at that field's line."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


class FaultFileError(ValueError):
    """A fault file that cannot be used; the message names the file, line, rule and field."""


_FIELDS = tuple(f.name for f in fields(Fault))


def load_faults(path: str | Path) -> tuple[Fault, ...]:
    """Read a YAML list of fault rules; raise ``FaultFileError`` naming what is wrong and where."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaultFileError(f"{where}: cannot read the fault file: {exc}") from exc
    try:
        # compose keeps line numbers for messages; safe_load gives the values.
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FaultFileError(f"{where}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return ()
    if not isinstance(data, list) or not isinstance(root, yaml.SequenceNode):
        raise FaultFileError(f'{where}:1: expected a YAML list of fault rules (- match: "GET /path" ...)')
    return tuple(
        _entry(where, index, node, item) for index, (node, item) in enumerate(zip(root.value, data, strict=True))
    )


def _entry(where: str, index: int, node: yaml.Node, item: Any) -> Fault:
    """One list item as a Fault, or the error that points at its line and field."""

    def fail(message: str, at: yaml.Node = node) -> FaultFileError:
        # Rules are numbered from 1, as a reader counts them in the file.
        return FaultFileError(f"{where}:{at.start_mark.line + 1}: rule {index + 1}: {message}")

    if not isinstance(item, Mapping) or not isinstance(node, yaml.MappingNode):
        raise fail("expected a mapping with at least 'match'")
    key_nodes: dict[str, yaml.Node] = {}
    for key, _ in node.value:
        if key.value in key_nodes:
            raise fail(f"field {key.value!r} is given twice", key)
        key_nodes[key.value] = key
    unknown = sorted(str(key) for key in item if key not in _FIELDS)
    if unknown:
        raise fail(f"unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})", key_nodes.get(unknown[0], node))
    if "match" not in item:
        raise fail("field 'match' is required, e.g. match: \"GET /api/usage/summary\"")
    values = dict(item)
    # YAML reads `retry_after: 1` as an integer; seconds are what was meant.
    if _is_int(values.get("retry_after")) and values["retry_after"] >= 0:
        values["retry_after"] = str(values["retry_after"])
    try:
        return Fault(**values)
    except _InvalidField as exc:
        raise fail(str(exc), key_nodes.get(exc.field, node)) from None


class FaultPlan:
    """The rules of one server with their per-rule counters; used from the event loop only.

    Every rule whose route matches counts the request, so several rules on one route can
    stage a sequence (e.g. two 503s, then a drop); the first rule whose window covers the
    request decides what happens to it.
    """

    def __init__(self, faults: Iterable[Fault]) -> None:
        self._faults = tuple(faults)
        self._seen = [0] * len(self._faults)

    def pick(self, route: str) -> Fault | None:
        """Count a request to ``route`` ("METHOD PATH") and return the fault to inject, if any."""
        chosen: Fault | None = None
        for index, fault in enumerate(self._faults):
            if fault.match != route:
                continue
            nth = self._seen[index]
            self._seen[index] = nth + 1
            if chosen is None and fault.covers(nth):
                chosen = fault
        return chosen
