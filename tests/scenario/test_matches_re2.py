"""``matches``: RE2 in linear time on bounded text, and lint refusing what RE2 cannot run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from scenario_helpers import VALID, errors_of, replace, write

from runner.engine.expect import check, holds
from runner.scenario.interpolate import MISSING
from runner.scenario.model import Expectation
from runner.scenario.regex import MAX_PATTERN_CHARS, MAX_TEXT_BYTES, search

CLI = Path(sys.executable).with_name("velikey-e2e")


def _with_pattern(pattern: str) -> str:
    quoted = pattern.replace("'", "''")
    return replace("{path: success, equals: true}", f"{{path: success, matches: '{quoted}'}}", VALID)


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "invalid escape sequence"),
        ("(?=ok)o", "invalid perl operator"),
        ("(?<!x)ok", "invalid perl operator"),
        ("a{1001}", "invalid repetition size"),
        ("(", "missing )"),
        ("x" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS} characters"),
    ],
)
def test_lint_refuses_what_re2_cannot_run_at_file_and_line(tmp_path: Path, pattern: str, why: str) -> None:
    errors = errors_of(tmp_path, _with_pattern(pattern))
    assert len(errors) == 1, errors
    error = errors[0]
    assert (error.file, error.line, error.field) == ("s.yaml", 19, "steps[2].expect[0].matches")
    assert error.message.startswith("invalid regular expression")
    assert why in error.message


def test_the_lint_command_reports_it_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, _with_pattern("(?=ok)o"))
    done = subprocess.run([str(CLI), "lint", str(path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "NO_COLOR": "1"}, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{path.name}:19: steps[2].expect[0].matches: invalid regular expression")
    assert "Traceback" not in done.stderr and "re2.cc" not in done.stderr  # RE2's own log stays quiet


@pytest.mark.parametrize("pattern", ["^ok$", r"(?i)OK", r"^\w+\s*\d{2,3}$", r"(?P<word>[a-z]+)", "é"])
def test_ordinary_patterns_lint_clean(tmp_path: Path, pattern: str) -> None:
    assert errors_of(tmp_path, _with_pattern(pattern)) == ()


def test_catastrophic_backtracking_patterns_answer_at_once() -> None:
    """With Python's re these would run for longer than the universe: the test would time out."""
    hostile = "a" * 50_000 + "!"
    assert search(r"(a+)+$", hostile) is False
    assert search(r"(a|aa)*b", hostile) is False
    assert search(r"^(\w+\s?)*$", hostile) is False
    assert search(r"(a+)+!$", hostile) is True


def test_only_the_first_64_kib_are_searched() -> None:
    assert search("needle", "x" * (MAX_TEXT_BYTES - 6) + "needle") is True
    assert search("needle", "x" * (MAX_TEXT_BYTES - 5) + "needle") is False
    # Cut on a character boundary: 2-byte characters past the limit are dropped whole.
    assert search("^é+$", "é" * MAX_TEXT_BYTES) is True


def test_text_that_is_not_valid_unicode_does_not_raise() -> None:
    assert search("a", "\ud800a") is True


@pytest.mark.parametrize(
    ("actual", "pattern", "expected"),
    [("ok", "^o", True), ("ok", "^k", False), (1, "1", False), (MISSING, ".", False), ("", "^$", True)],
)
def test_holds_for_matches(actual: object, pattern: str, expected: bool) -> None:
    assert holds("matches", actual, pattern) is expected


def test_check_records_the_verdict() -> None:
    expectation = Expectation(path="status", matches="^o")
    entry = check(expectation, {"status": "degraded"})
    assert (entry.op, entry.expected, entry.actual, entry.passed) == ("matches", "^o", "degraded", False)
