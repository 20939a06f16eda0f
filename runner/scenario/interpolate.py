"""A small safe resolver for ``${inputs.NAME}`` / ``${steps.STEP.SAVED}``, and response paths.

No code runs from a scenario: a reference is looked up in two mappings, nothing else.
A string that is exactly one reference takes the referenced value with its type (so
``"${steps.plan.count}"`` can give an int); references inside longer text are substituted
as text; ``$${`` writes a literal ``${``. Only ``with`` values are interpolated (mapping
keys never are).

Response paths (``save``, ``expect[].path``, ``metering.path``) are dotted: a segment
selects a mapping key, an all-digit segment also indexes a list, and ``a|b`` takes the
first alternative that is present. ``lookup`` returns ``MISSING`` (not ``None``) when no
alternative is present, because ``null`` is a value a server may really send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any, Final, Literal, NamedTuple

__all__ = [
    "MISSING",
    "InterpolationError",
    "Reference",
    "lookup",
    "parse_path",
    "parse_template",
    "resolve",
]

_SEGMENT = r"[A-Za-z0-9_-]+"
PATH_PATTERN: Final = rf"{_SEGMENT}(?:\.{_SEGMENT})*(?:\|{_SEGMENT}(?:\.{_SEGMENT})*)*"
STEP_ID_PATTERN: Final = r"[a-z0-9][a-z0-9-]*"
NAME_PATTERN: Final = r"[A-Za-z_][A-Za-z0-9_]*"

_PATH_RE = re.compile(PATH_PATTERN)
_INPUT_REF = re.compile(rf"inputs\.({NAME_PATTERN})")
_STEP_REF = re.compile(rf"steps\.({STEP_ID_PATTERN})\.({NAME_PATTERN})")


class _Missing:
    """The type of ``MISSING``: falsy, one instance, distinct from ``None``."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

ErrorKind = Literal["syntax", "unknown", "not_provided", "not_text"]


class InterpolationError(ValueError):
    """A reference that cannot be resolved; ``reference`` is its text, ``kind`` says why.

    ``syntax``: malformed; ``unknown``: not in the given mappings; ``not_provided``: an
    input that is known but has no value (``None``); ``not_text``: a null, list or mapping
    value referenced inside longer text.
    """

    def __init__(self, reference: str, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.reference = reference
        self.kind: ErrorKind = kind


class Reference(NamedTuple):
    """One parsed reference: ``("inputs", NAME, None)`` or ``("steps", STEP, SAVED)``."""

    kind: Literal["inputs", "steps"]
    name: str
    attr: str | None

    def __str__(self) -> str:
        inner = f"{self.kind}.{self.name}" if self.attr is None else f"{self.kind}.{self.name}.{self.attr}"
        return "${" + inner + "}"


Part = str | Reference


@lru_cache(maxsize=4096)
def parse_template(text: str) -> tuple[Part, ...]:
    """Split a string into literal text and references; raises ``InterpolationError``."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            literal.append(text[i:])
            break
        literal.append(text[i:j])
        if text.startswith("$${", j):
            literal.append("${")
            i = j + 3
        elif text.startswith("${", j):
            end = text.find("}", j + 2)
            if end < 0:
                raise InterpolationError(text[j:], "syntax", f"unterminated reference {text[j:]!r}")
            parts.extend(_flush(literal))
            parts.append(_parse_reference(text[j + 2 : end]))
            i = end + 1
        else:
            literal.append("$")
            i = j + 1
    parts.extend(_flush(literal))
    return tuple(parts)


def _flush(literal: list[str]) -> list[str]:
    text = "".join(literal)
    literal.clear()
    return [text] if text else []


def _parse_reference(body: str) -> Reference:
    if match := _INPUT_REF.fullmatch(body):
        return Reference("inputs", match.group(1), None)
    if match := _STEP_REF.fullmatch(body):
        return Reference("steps", match.group(1), match.group(2))
    text = "${" + body + "}"
    raise InterpolationError(
        text, "syntax", f"invalid reference {text!r}: use ${{inputs.NAME}} or ${{steps.STEP.SAVED}}"
    )


def resolve(value: Any, inputs: Mapping[str, str | None], saved: Mapping[str, Mapping[str, Any]]) -> Any:
    """``value`` with every reference replaced; containers are copied, keys left alone."""
    if isinstance(value, str):
        parts = parse_template(value)
        if len(parts) == 1 and isinstance(parts[0], Reference):
            return _value_of(parts[0], inputs, saved)
        return "".join(p if isinstance(p, str) else _as_text(p, _value_of(p, inputs, saved)) for p in parts)
    if isinstance(value, Mapping):
        return {key: resolve(item, inputs, saved) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, inputs, saved) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve(item, inputs, saved) for item in value)
    return value


def _value_of(ref: Reference, inputs: Mapping[str, str | None], saved: Mapping[str, Mapping[str, Any]]) -> Any:
    if ref.kind == "inputs":
        if ref.name not in inputs:
            raise InterpolationError(str(ref), "unknown", f"unknown input in {ref}")
        found = inputs[ref.name]
        if found is None:
            raise InterpolationError(str(ref), "not_provided", f"input {ref.name!r} is not provided for {ref}")
        return found
    step = saved.get(ref.name)
    if step is None or ref.attr is None or ref.attr not in step:
        raise InterpolationError(str(ref), "unknown", f"no saved value for {ref}")
    return step[ref.attr]


def _as_text(ref: Reference, value: Any) -> str:
    # Deterministic, JSON-like spellings: a bool is true/false, never Python's True.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise InterpolationError(str(ref), "not_text", f"{ref} is {type(value).__name__}, which cannot be embedded in text")


@lru_cache(maxsize=1024)
def parse_path(path: str) -> tuple[tuple[str, ...], ...]:
    """``"a.b|c"`` -> ``(("a", "b"), ("c",))``; raises ``ValueError`` for bad syntax."""
    if not isinstance(path, str) or not _PATH_RE.fullmatch(path):
        raise ValueError(
            f"invalid response path {path!r}: use dotted segments of letters, digits, '_' or '-',"
            " with '|' between alternatives (e.g. data.plan_id|data.planId)"
        )
    return tuple(tuple(alternative.split(".")) for alternative in path.split("|"))


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` in JSON-shaped ``data``, or ``MISSING``; first present alternative wins."""
    for alternative in parse_path(path):
        found = _descend(data, alternative)
        if found is not MISSING:
            return found
    return MISSING


def _descend(data: Any, segments: tuple[str, ...]) -> Any:
    current = data
    for segment in segments:
        if isinstance(current, Mapping):
            if segment in current:
                current = current[segment]
                continue
            return MISSING
        if isinstance(current, Sequence) and not isinstance(current, str | bytes | bytearray):
            if segment.isdigit() and segment.isascii() and int(segment) < len(current):
                current = current[int(segment)]
                continue
            return MISSING
        return MISSING
    return current
