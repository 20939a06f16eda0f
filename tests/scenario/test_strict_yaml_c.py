"""The libyaml path of ``compose_lines`` gives the pure-Python path's data, lines and errors.

libyaml composes (fast); the pure ``StrictLoader`` is the reference and the fallback. On every
YAML file of the repository, hostile snippets (YAML 1.1 coercions, aliases, merge keys,
duplicates, odd line breaks, deep nesting) and fuzzed text, the two agree: same data and
lines, or the same error (line, path, message). Without libyaml the pure path answers alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.scenario import strict_yaml
from runner.scenario.strict_yaml import StrictYAMLError, compose_lines, compose_lines_pure

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(p for folder in ("scenarios", "tests", "bench") for p in (ROOT / folder).rglob("*.y*ml"))

SNIPPETS = [
    "", "# only a comment\n", "a: 1\n", "a: no\nb: on\nc: yes\nd: off\n", "v: 017\nw: 0x1F\nx: 0o17\ny: 1_000\n",
    "t: 1:30\nu: 2001-12-14\nv: .inf\nw: -.nan\nx: .5\ny: 1e3\nz: -0.0\n", "n: ~\nm: null\nk:\nj: NULL\n",
    "a: &x {b: 1}\nc: *x\n", "a: *undefined\n", "- &a 1\n- *a\n", "a: {<<: {b: 1}}\n", "a: {'<<': {b: 1}}\n",
    "a: 1\na: 2\n", "a: 1\nb:\n  a: 1\n  a: 1\n", "? [a, b]\n: 1\n", "1: one\n", "true: x\n", "'1': one\n",
    "a: !!binary aGk=\n", "a: !custom x\n", "a: !!str 017\n", "a: !!int 17\n", "a: !!float 1.5\n",
    "a:\tb\n", "\ta: 1\n", "a: |#\n", "a: >-1#\n  x\n", "a: \ufeff\n",
    "\ufeffa: 1\n", "a: 1\r\nb: 2\r\n", "a: x\u2028y\nb: 2\n", "a: x\x85y\nb: 2\n",
    "a: \"esc \\u00e9 \\x41 \\t\"\n", "a: |\n  lit\n  eral\nb: >\n  fold\n  ed\n", "a: 'it''s'\n",
    "--- \na: 1\n--- \nb: 2\n", "a: [1, 2\n", "a: {b: 1\n", "a: 'open\n", "- a\nb: 1\n", "a: b: c\n",
    "a: \x07\n", "a: \x00\n", "steps:\n  - {id: s1, call: x, with: {n: 1e-99999999}}\n", "a: " + "9" * 101 + "\n",
    "[" * 70 + "]" * 70 + "\n", "[" * 60 + "]" * 60 + "\n", "a:\n" + "".join("  " * i + "- x\n" for i in range(1, 70)),
    "a: [1, {b: [2, {c: 3}]}]\nd: -1\ne: +1\nf: 1.\ng: 1.50\n", "key with spaces: v\n\"quoted key\": v\n",
    # The event loader resolves each plain text once: the same text quoted, tagged or plain must still differ.
    "a: 1\nb: '1'\nc: !!str 1\nd: 1\ne: \"1\"\nf: |\n  1\n", "- !!str true\n- true\n- 'true'\n- true\n",
    "- 1.50\n- !!float 1.50\n- 1.50\n- !!int 1.50\n", "- 017\n- 017\n", "a: !!map {b: 1}\nc: !!seq [1]\nd: ! {e: 1}\n",
    "a: !!seq {b: 1}\n", "a: !!map [1]\n", "'1': x\n1: y\n",
]


def _outcome(compose: Any, text: str) -> Any:
    try:
        data, lines = compose(text)
    except StrictYAMLError as exc:
        return ("error", exc.line, exc.path, exc.message)
    return ("ok", repr(data), sorted(lines.items(), key=repr))


def test_the_c_path_is_there_to_test() -> None:
    assert strict_yaml._CLoader is not None, "PyYAML without libyaml: the fallback is all that runs"


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_every_yaml_file_reads_the_same_both_ways(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    assert _outcome(compose_lines, text) == _outcome(compose_lines_pure, text)


@pytest.mark.parametrize("text", SNIPPETS)
def test_hostile_snippets_read_the_same_both_ways(text: str) -> None:
    assert _outcome(compose_lines, text) == _outcome(compose_lines_pure, text)


def test_the_c_path_answers_a_plain_document_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a fallback in disguise: the pure composer is never asked about a well-formed tree.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the pure composer was used")

    monkeypatch.setattr(strict_yaml, "StrictLoader", refuse)
    data, lines = compose_lines("a: 017\nb:\n  - no\n  - 1.50\n")
    assert data == {"a": "017", "b": ["no", strict_yaml.Decimal("1.50")]}
    assert lines[("b", 1)] == 4


def test_the_c_path_builds_no_node_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    # A long scenario's node graph was the loader's peak (issue 11): the data is made from libyaml's events.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a node graph was composed")

    monkeypatch.setattr(strict_yaml, "StrictLoader", refuse)
    monkeypatch.setattr(strict_yaml._CLoader, "get_single_node", refuse)
    monkeypatch.setattr(strict_yaml._CLoader, "get_node", refuse)
    data, lines = compose_lines("steps:\n  - {id: a, expect: [{path: x, min: 1}]}\n  - id: b\n")
    assert data == {"steps": [{"id": "a", "expect": [{"path": "x", "min": 1}]}, {"id": "b"}]}
    assert lines[("steps", 1, "id")] == 3 and lines[("steps", 0, "expect", 0, "min")] == 2


def test_without_libyaml_the_pure_path_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(strict_yaml, "_CLoader", None)
    monkeypatch.setattr(yaml, "CSafeLoader", None, raising=False)
    assert compose_lines("a: 1\nb: [x]\n") == ({"a": 1, "b": ["x"]}, {(): 1, ("a",): 1, ("b",): 2, ("b", 0): 2})
    with pytest.raises(StrictYAMLError, match="duplicate key"):
        compose_lines("a: 1\na: 2\n")


_YAMLISH = st.lists(st.sampled_from(list("ab01-:[]{},&*!|>'\"#?~. \n\t<%@`\\\r") + [
    "\u2028", "\x85", "é", "no", "017", "  ", "- ", ": ", "\n  ", "<<", "!!str", "---", "...", " #", "\ufeff", "|-",
    ">+2", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "\"\\", "x\x00", "\x1b", "\U0001f600"]),
    max_size=30).map("".join)


@given(_YAMLISH)
@settings(max_examples=1500, deadline=None)
def test_fuzzed_text_reads_the_same_both_ways(text: str) -> None:
    assert _outcome(compose_lines, text) == _outcome(compose_lines_pure, text)
