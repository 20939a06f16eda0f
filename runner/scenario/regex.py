"""``matches`` patterns: RE2 syntax, searched in linear time on bounded text.

Python's ``re`` backtracks, so a pattern such as ``(a+)+$`` against a long answer runs for
hours inside the event loop, where ``--deadline``, SIGINT and SIGTERM cannot take effect.
RE2 (``google-re2``) guarantees time linear in the text and memory bounded by the
pattern, and refuses what it cannot run that way (backreferences, lookaround), which
``lint`` reports at the pattern's file:line. The text searched is the value's first
``MAX_TEXT_BYTES`` of UTF-8, so even the linear bound is small.
"""

from __future__ import annotations

import functools
from typing import Any, Final

__all__ = ["MAX_PATTERN_CHARS", "MAX_TEXT_BYTES", "compile_pattern", "search"]

MAX_PATTERN_CHARS: Final = 1024
MAX_TEXT_BYTES: Final = 64 * 1024


@functools.cache
def _re2() -> Any:
    """The RE2 module, imported by the first pattern (a few ms every run would pay, most scenarios have none)."""
    import re2

    return re2


@functools.cache
def _options() -> Any:
    options = _re2().Options()
    options.log_errors = False  # the error is raised to lint; RE2's own log would go to stderr
    return options


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 program for ``pattern``; ``ValueError`` (one line) if RE2 cannot run it."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"a matches pattern is at most {MAX_PATTERN_CHARS} characters, this one {len(pattern)}")
    re2 = _re2()
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        text = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(f"RE2 cannot run it ({text}); matches runs in linear time, so backreferences"
                         " and lookaround are not available") from None
    except UnicodeError:
        raise ValueError("the pattern is not valid Unicode text") from None


def search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` occurs in the first ``MAX_TEXT_BYTES`` of ``text`` (UTF-8)."""
    head = text.encode("utf-8", "replace")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")
    return compile_pattern(pattern).search(head) is not None
