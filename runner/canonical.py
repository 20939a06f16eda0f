"""Canonical receipt JSON, JCS bytes for hashing, digests and decimal strings.

Receipts must be byte-identical for identical runs, so their JSON has exactly one form:
UTF-8, keys sorted, 2-space indent, LF, one trailing newline. Python's ``json`` has no
canonical float form (``-0.0``, ``1e-07``, ``100.0``), so ``dumps`` refuses floats outright
instead of formatting them: receipts hold integers, and decimals as strings made by
``decimal_str``. A refusal names the JSON path of the offender, because the caller that
put a float in a deep receipt needs to find it.

Bytes that are hashed are RFC 8785 (JCS) via the ``rfc8785`` package, which does define a
float form; ``jcs`` therefore accepts floats.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import rfc8785

__all__ = [
    "CanonicalJSONError",
    "decimal_str",
    "dump_chunks",
    "dumps",
    "jcs",
    "json_path",
    "sha256_tag",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CanonicalJSONError(ValueError):
    """A value cannot be written as canonical receipt JSON; ``path`` locates it."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def json_path(parts: tuple[str | int, ...]) -> str:
    """A JSONPath-style locator (``$.scenarios[0].steps[2]["odd key"]``) for messages."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += "[" + json.dumps(part, ensure_ascii=False) + "]"
    return out


# json.dumps recurses per level and int() refuses > 4300 digits: refuse before either is reached.
MAX_DEPTH = 200
MAX_INT_BITS = 13_000


def _plain(value: Any, *, floats: bool) -> bool:
    """True when ``value`` is a tree ``_check`` accepts, decided without building a path per node.

    The common case (a receipt made of exact dicts, lists, str, int, bool, None) costs one type
    test per node, walked depth first with one iterator per open container (no tuple per node, and
    nothing the size of a whole level: a 10,000-step summary's widest level was a 3 MiB list);
    anything else (a subclass, an offender) answers False and ``_check`` decides.
    """
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        depth = len(stack) - 1  # of the nodes the top iterator yields
        for node in stack[-1]:
            kind = type(node)
            if kind is str:
                if not node.isascii() and not _encodes(node):
                    return False
            elif kind is dict:
                if depth >= MAX_DEPTH:
                    return False
                for key in node:
                    if type(key) is not str or (not key.isascii() and not _encodes(key)):
                        return False
                stack.append(iter(node.values()))
                break
            elif kind is list:
                if depth >= MAX_DEPTH:
                    return False
                stack.append(iter(node))
                break
            elif kind is int:
                if node.bit_length() > MAX_INT_BITS:
                    return False
            elif node is None or kind is bool or (kind is float and floats):
                continue
            else:
                return False
        else:
            stack.pop()
    return True


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check(value: Any, parts: tuple[str | int, ...], *, floats: bool = False) -> None:
    """Refuse anything that is not a float-free JSON tree of str-keyed dicts and lists."""
    if _plain(value, floats=floats):
        return
    # Iterative so that a very deep tree produces a clear error rather than RecursionError.
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, parts)]
    while stack:
        node, where = stack.pop()
        if len(where) - len(parts) > MAX_DEPTH:
            raise CanonicalJSONError(json_path(where[:len(parts) + 8]) + "…", f"nested deeper than {MAX_DEPTH}")
        if node is None or isinstance(node, bool):
            continue
        if isinstance(node, int):
            if node.bit_length() > MAX_INT_BITS:
                raise CanonicalJSONError(json_path(where), "integer too large for canonical JSON; use a string")
            continue
        if isinstance(node, str):
            _check_text(node, where)
            continue
        if isinstance(node, float) and floats:  # JCS has a canonical form for floats; rfc8785 checks the rest
            continue
        if isinstance(node, float):
            raise CanonicalJSONError(
                json_path(where), f"float {node!r} is not allowed; use an integer or runner decimal_str()"
            )
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise CanonicalJSONError(json_path(where), f"object key {key!r} is {type(key).__name__}, not str")
                _check_text(key, (*where, key))
                stack.append((child, (*where, key)))
            continue
        if isinstance(node, list):
            stack.extend((child, (*where, index)) for index, child in enumerate(node))
            continue
        raise CanonicalJSONError(json_path(where), f"{type(node).__name__} is not a JSON value")


def _check_text(text: str, where: tuple[str | int, ...]) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalJSONError(json_path(where), "string is not valid Unicode (lone surrogate)") from exc


def dumps(obj: Any) -> bytes:
    """Canonical receipt JSON bytes; raises ``CanonicalJSONError`` naming the offending path.

    Written by orjson, which produces the standard library's form byte for byte on what ``_check``
    admits (tests/receipts/test_receipt_canonical.py holds the two together) at native speed:
    ``json.dumps`` with ``indent`` runs its pure-Python encoder. orjson refuses integers wider
    than 64 bits; those documents go to the standard library.
    """
    _check(obj, ())
    try:
        return orjson.dumps(obj, option=_ORJSON_OPTIONS) + b"\n"
    except orjson.JSONEncodeError:
        return stdlib_dumps(obj)


_ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
# How many container levels ``dump_chunks`` opens itself before handing a value to ``dumps`` whole: a summary's
# steps sit at the fourth (document → scenarios → scenario → steps), so each piece is one step or smaller.
_CHUNK_DEPTH = 4


def dump_chunks(obj: Any) -> Iterator[bytes]:
    """``dumps(obj)`` in pieces that join to exactly its bytes, so a large document is never one byte string.

    ``obj`` is checked whole before the first piece (a refusal raises here, not midway through a file).
    """
    _check(obj, ())
    return _chunks_of(obj)


def _chunks_of(obj: Any) -> Iterator[bytes]:
    yield from _pieces(obj, b"\n", _CHUNK_DEPTH)
    yield b"\n"


def _pieces(value: Any, newline: bytes, depth: int) -> Iterator[bytes]:
    """``value`` at the indentation ``newline`` opens (LF plus spaces): containers opened ``depth`` levels deep."""
    kind = type(value)
    if depth == 0 or not value or (kind is not dict and kind is not list):
        yield _piece(value).replace(b"\n", newline)
        return
    inner = newline + b"  "
    if kind is dict:
        keys = sorted(value)  # the order of OPT_SORT_KEYS and of sort_keys: by code point
        for n, key in enumerate(keys):
            yield (b"{" if n == 0 else b",") + inner + _piece(key) + b": "
            yield from _pieces(value[key], inner, depth - 1)
        yield newline + b"}"
    else:
        for n, item in enumerate(value):
            yield (b"[" if n == 0 else b",") + inner
            yield from _pieces(item, inner, depth - 1)
        yield newline + b"]"


def _piece(value: Any) -> bytes:
    """``dumps`` of a checked value without its final newline; JSON strings hold no raw LF to re-indent."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return stdlib_dumps(value)[:-1]


def stdlib_dumps(obj: Any) -> bytes:
    """The reference form of ``dumps`` (``json.dumps``), for documents orjson cannot write and for tests."""
    text = json.dumps(obj, sort_keys=True, indent=2, separators=(",", ": "), ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def jcs(obj: Any) -> bytes:
    """RFC 8785 (JCS) bytes of ``obj``, the form that is hashed or signed."""
    _check(obj, (), floats=True)
    try:
        return rfc8785.dumps(obj)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalJSONError("$", f"not canonicalisable under RFC 8785: {exc}") from exc


def sha256_tag(data: bytes) -> str:
    """``sha256:<hex>``, the digest form every receipt uses."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def decimal_str(value: Decimal | int) -> str:
    """The canonical string of a finite decimal: no exponent, no needless zeros, no ``-0``.

    ``Decimal("1E-9")`` → ``"0.000000001"``, ``Decimal("12.50")`` → ``"12.5"``,
    ``Decimal("1E+2")`` → ``"100"``. Exact: no context rounding is applied (``normalize``
    would round to the context precision). Floats are refused; convert them with
    ``Decimal(str(f))`` deliberately where a float is the source.
    """
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"decimal_str() takes a Decimal or int, not {type(value).__name__}")
    d = Decimal(value)
    if not d.is_finite():
        raise ValueError(f"decimal_str() needs a finite value, not {d}")
    if d.is_zero():
        return "0"
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
