"""A strict YAML reader: YAML 1.2-style scalars, no duplicate keys, a line for every value.

PyYAML implements YAML 1.1, where ``no``/``on`` are booleans, ``1:30`` is 90 and ``017``
is 15. A release gate must never read a value other than the one written, so
``StrictLoader`` replaces the implicit resolvers with this table, and anything else is a
string:

=========  ===========================================================  ==============
type       plain scalar text                                            Python value
=========  ===========================================================  ==============
null       ``~``, ``null``, ``Null``, ``NULL``, empty                   ``None``
bool       ``true``/``True``/``TRUE``, ``false``/``False``/``FALSE``    ``bool``
int        ``[-+]?(0|[1-9][0-9]*)``                                     ``int``
decimal    the same integer part with a fraction and/or exponent,      ``Decimal``
           or ``.5``-style                                              (never float)
=========  ===========================================================  ==============

Integers with leading zeros (``017``), ``0x1F``, ``0o17``, ``1_000``, ``.inf``, ``.nan``
and timestamps stay strings: the YAML 1.2 *core* schema would read ``017`` as 17, but a
leading zero usually means an identifier (``017`` the build, not seventeen), so we follow
the stricter JSON-schema rule and keep what was written. Aliases (``*name``) and merge
keys (``<<``) are refused; mapping keys must be strings. A number may have at most
``MAX_DIGITS`` digits written out in plain notation: receipts write decimals in full, so
``1e-99999999`` (a dozen characters here) would become a 100 MB receipt. ``compose_lines`` returns the
plain data plus a table from each value's path to its 1-based line, which is how a
pydantic error location becomes ``file:line``.

Parsing runs in libyaml (``yaml.CSafeLoader``, the same resolvers) when PyYAML has it: about
ten times the pure-Python composer's speed, and its events become the data directly, with no node
graph held. The C path only ever answers for a well-formed tree; any error, an alias or deep
nesting sends the text to the pure-Python ``StrictLoader``, whose messages and lines are the
contract. tests/scenario/test_strict_yaml_c.py holds the two paths to the same data and lines on
a corpus.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "TOO_LONG",
    "Path",
    "StrictLoader",
    "StrictYAMLError",
    "compose_lines",
    "compose_lines_pure",
    "plain_digits",
]

Path = tuple[str | int, ...]

MAX_DEPTH = 64
MAX_DIGITS = 100
TOO_LONG = f"number too long: at most {MAX_DIGITS} digits when written out in full"
# Scalar strings up to this length are interned by the event loader.
_INTERNED = 64
_UNSEEN = object()

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"

_NULL_RE = re.compile(r"(?:~|null|Null|NULL|)\Z")
_BOOL_RE = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)\Z")


class StrictYAMLError(Exception):
    """A YAML problem with its 1-based line and the path of the value it concerns."""

    def __init__(self, line: int | None, path: Path, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.path = path
        self.message = message


def plain_digits(value: Decimal) -> int:
    """How many digits ``value`` has written out in plain notation, from its tuple alone.

    Never by formatting it: ``1E+999999999`` must not build its gigabyte of zeros to be measured.
    """
    _, mantissa, exponent = value.as_tuple()
    if not isinstance(exponent, int):  # NaN and infinities are refused elsewhere
        return 0
    return max(len(mantissa) + exponent, 1) + max(-exponent, 0)


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def scalar_value(node: ScalarNode) -> Any:
    """The value of a scalar node under the table above; raises ``StrictYAMLError``."""
    text = str(node.value)
    tag = node.tag
    if tag == _STR:
        return text
    if tag == _NULL and _NULL_RE.match(text):
        return None
    if tag == _BOOL and _BOOL_RE.match(text):
        return text.lower() == "true"
    if tag == _INT and _INT_RE.match(text):
        # Checked before int(): past 4300 digits int() itself raises ValueError.
        if len(text.lstrip("+-")) > MAX_DIGITS:
            raise StrictYAMLError(_line(node), (), f"{_shown(text)}: {TOO_LONG}")
        return int(text)
    if tag == _FLOAT and (_FLOAT_RE.match(text) or _INT_RE.match(text)):
        number = Decimal(text)
        if plain_digits(number) > MAX_DIGITS:
            raise StrictYAMLError(_line(node), (), f"{_shown(text)}: {TOO_LONG}")
        return number
    if tag in (_NULL, _BOOL, _INT, _FLOAT):
        kind = tag.rsplit(":", 1)[1]
        raise StrictYAMLError(_line(node), (), f"{text!r} is not a valid {kind}")
    raise StrictYAMLError(_line(node), (), f"unsupported YAML tag {tag!r}; only plain values are allowed")


def _shown(text: str) -> str:
    return text if len(text) <= 24 else text[:20] + "..."


class StrictLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    """``yaml.SafeLoader`` with YAML 1.2-style scalars, no aliases and no duplicate keys.

    ``yaml.load(text, Loader=StrictLoader)`` gives plain data; ``compose_lines`` also gives
    the line of every value.
    """

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    yaml_constructors: ClassVar[dict[Any, Any]] = {}
    yaml_multi_constructors: ClassVar[dict[Any, Any]] = {}

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed; write the value out", event.start_mark
            )
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nesting deeper than {MAX_DEPTH} levels",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        return node

    def _strict_scalar(self, node: ScalarNode) -> Any:
        return scalar_value(node)

    def _strict_mapping(self, node: MappingNode) -> Any:
        data, _ = _Walker().walk(node, ())
        return data

    def _strict_sequence(self, node: SequenceNode) -> Any:
        data, _ = _Walker().walk(node, ())
        return data


for _tag in (_STR, _INT, _FLOAT, _BOOL, _NULL):
    StrictLoader.add_constructor(_tag, StrictLoader._strict_scalar)
StrictLoader.add_constructor(_MAP, StrictLoader._strict_mapping)
StrictLoader.add_constructor(_SEQ, StrictLoader._strict_sequence)
StrictLoader.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])
StrictLoader.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
StrictLoader.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
StrictLoader.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+.0123456789"))


_CLoader: Any = None
if getattr(yaml, "__with_libyaml__", False):

    class _CStrictLoader(yaml.CSafeLoader):  # type: ignore[misc,name-defined,unused-ignore]
        """libyaml's parser and composer with ``StrictLoader``'s resolvers (the tags its table gives)."""

        yaml_implicit_resolvers = StrictLoader.yaml_implicit_resolvers

    _CLoader = _CStrictLoader


# Where libyaml reads differently from PyYAML (found by tests/scenario/test_strict_yaml_c.py's fuzzing):
# it takes a tab as a separator, a byte-order mark past the start, and a block scalar header followed
# by ``#`` without a space, all of which PyYAML refuses. Texts with any of them take the reference path.
_C_DIFFERS = re.compile(r"[\t\ufeff]|[|>][-+0-9]*#")


class _NotATree(Exception):
    """libyaml's events are not a plain tree (an alias, deep nesting, ...): the pure path decides and words it."""


class _Walker:
    """Builds plain data from a node tree and records the line of each path."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}

    def walk(self, node: Node, path: Path) -> tuple[Any, dict[Path, int]]:
        self.lines[path] = _line(node)
        return self._value(node, path), self.lines

    def _value(self, node: Node, path: Path) -> Any:
        if isinstance(node, ScalarNode):
            try:
                return scalar_value(node)
            except StrictYAMLError as exc:
                raise StrictYAMLError(exc.line, path, exc.message) from None
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                raise StrictYAMLError(_line(node), path, f"unsupported YAML tag {node.tag!r}")
            items = []
            for index, item in enumerate(node.value):
                self.lines[path + (index,)] = _line(item)
                items.append(self._value(item, path + (index,)))
            return items
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                raise StrictYAMLError(_line(node), path, f"unsupported YAML tag {node.tag!r}")
            data: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._key(key_node, path)
                if key in data:
                    first = self.lines[path + (key,)]
                    raise StrictYAMLError(
                        _line(key_node), path + (key,), f"duplicate key {key!r} (first at line {first})"
                    )
                self.lines[path + (key,)] = _line(key_node)
                data[key] = self._value(value_node, path + (key,))
            return data
        raise StrictYAMLError(_line(node), path, "unsupported YAML node")  # pragma: no cover

    def _key(self, node: Node, path: Path) -> str:
        if not isinstance(node, ScalarNode):
            raise StrictYAMLError(_line(node), path, "mapping keys must be plain strings, not collections")
        key = self._value(node, path)
        if not isinstance(key, str):
            raise StrictYAMLError(_line(node), path, f"mapping key {node.value!r} is not a string; quote it")
        if key == "<<" and not node.style:  # plain: None from the pure composer, "" from libyaml
            raise StrictYAMLError(_line(node), path, "merge keys (<<) are not allowed; write the keys out")
        return key


def _yaml_message(exc: yaml.YAMLError) -> tuple[int | None, str]:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        parts = [p for p in (exc.context, exc.problem) if p]
        return (int(mark.line) + 1 if mark is not None else None), ": ".join(parts) or "invalid YAML"
    return None, str(exc) or "invalid YAML"


def compose_lines(text: str) -> tuple[Any, Mapping[Path, int]]:
    """Parse one YAML document strictly: its plain data and the line of every path.

    An empty document gives ``(None, {})``. Raises ``StrictYAMLError`` for any problem,
    YAML syntax included, never another exception.
    """
    if _CLoader is not None and not _C_DIFFERS.search(text):
        fast = _compose_in_c(text)
        if fast is not None:
            return fast
    return compose_lines_pure(text)


def _compose_in_c(text: str) -> tuple[Any, Mapping[Path, int]] | None:
    """``compose_lines`` by libyaml for a well-formed tree; None for anything the pure path must decide."""
    try:
        loader = _CLoader(text)
        try:
            return _EventWalker(loader).document()
        finally:
            loader.dispose()
    except Exception:  # noqa: BLE001 - any problem at all: the pure path gives its exact message
        return None


class _EventWalker:
    """Plain data and lines straight from libyaml's parse events, as ``_Walker`` makes them from nodes.

    No node graph is built: composing one held about 5 KiB a step of a long scenario at once, the
    loader's peak (issue 11). Events give what nodes would (the composer makes each node from its
    event: tag, value, style, start mark). Anything a tree of plain values does not have (an alias,
    a second document, deep nesting, an empty plain scalar, a bad key) raises, and the pure path decides.
    """

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self.lines: dict[Path, int] = {}
        # Short plain scalars repeat (keys, operators, methods): each text is resolved and converted once.
        self._plain: dict[str, Any] = {}

    def _next(self, kind: type[yaml.Event] | None = None) -> Any:
        event = self._loader.get_event()
        if kind is not None and not isinstance(event, kind):
            raise _NotATree
        return event

    def document(self) -> tuple[Any, dict[Path, int]]:
        self._next(yaml.StreamStartEvent)
        event = self._next()
        if isinstance(event, yaml.StreamEndEvent):
            return None, {}
        if not isinstance(event, yaml.DocumentStartEvent):
            raise _NotATree
        root = self._next()
        self.lines[()] = int(root.start_mark.line) + 1
        data = self._value(root, ())
        self._next(yaml.DocumentEndEvent)
        self._next(yaml.StreamEndEvent)
        return data, self.lines

    def _tag(self, kind: type[Node], event: Any, value: str | None) -> str:
        """The tag the composer gives the event's node: its own, or the resolvers' for none or ``!``."""
        if event.tag is None or event.tag == "!":
            return str(self._loader.resolve(kind, value, event.implicit))
        return str(event.tag)

    def _value(self, event: Any, path: Path) -> Any:
        if len(path) >= MAX_DEPTH - 2:
            raise _NotATree
        if isinstance(event, yaml.ScalarEvent):
            text, style = event.value, event.style
            if event.tag is None:
                if style:  # quoted or block, untagged: the resolvers give every such scalar the str tag
                    return sys.intern(text) if len(text) <= _INTERNED else text
                known = self._plain.get(text, _UNSEEN)  # a plain scalar resolves by its text alone
                if known is not _UNSEEN:
                    return known
            if not text and not style:  # libyaml marks an empty plain scalar unlike PyYAML
                raise _NotATree
            tag = self._tag(ScalarNode, event, text)
            mark: Any = event.start_mark  # libyaml's Mark, which a node composed in C holds too
            value = scalar_value(ScalarNode(tag, text, mark, mark, style))
            # One object for each repeated short string (keys, operation names, paths), not one per occurrence:
            # they outlive the file in the scenario and in every step's summary entry (issue 11).
            if type(value) is str and len(value) <= _INTERNED:
                value = sys.intern(value)
            if event.tag is None and len(text) <= _INTERNED:
                self._plain[text] = value
            return value
        # An untagged collection resolves to the plain seq or map tag (no path resolvers): only a tagged one is asked.
        next_event, lines = self._loader.get_event, self.lines
        if isinstance(event, yaml.SequenceStartEvent):
            if event.tag is not None and self._tag(SequenceNode, event, None) != _SEQ:
                raise _NotATree
            items: list[Any] = []
            while type(item := next_event()) is not yaml.SequenceEndEvent:
                where = path + (len(items),)
                lines[where] = item.start_mark.line + 1
                items.append(self._value(item, where))
            return items
        if isinstance(event, yaml.MappingStartEvent):
            if event.tag is not None and self._tag(MappingNode, event, None) != _MAP:
                raise _NotATree
            data: dict[str, Any] = {}
            while type(key_event := next_event()) is not yaml.MappingEndEvent:
                key = self._value(key_event, path) if type(key_event) is yaml.ScalarEvent else None
                if type(key) is not str or key in data or (key == "<<" and not key_event.style):
                    raise _NotATree
                where = path + (key,)
                lines[where] = key_event.start_mark.line + 1
                data[key] = self._value(next_event(), where)
            return data
        raise _NotATree  # an alias, or an event no tree of plain values has


def compose_lines_pure(text: str) -> tuple[Any, Mapping[Path, int]]:
    """``compose_lines`` by PyYAML's pure-Python composer: the reference for the C path, and its fallback."""
    try:
        loader = StrictLoader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(text, exc) from None
    try:
        try:
            node = loader.get_single_node()
        except yaml.reader.ReaderError as exc:
            raise _reader_error(text, exc) from None
        except yaml.YAMLError as exc:
            line, message = _yaml_message(exc)
            raise StrictYAMLError(line, (), message) from None
        if node is None:
            return None, {}
        return _Walker().walk(node, ())
    finally:
        loader.dispose()


def _reader_error(text: str, exc: yaml.reader.ReaderError) -> StrictYAMLError:
    position = max(int(exc.position), 0)
    line = text.count("\n", 0, position) + 1
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return StrictYAMLError(line, (), f"unacceptable character #x{char:04x}: YAML allows only printable characters")
