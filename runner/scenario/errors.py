"""Where a scenario value came from, and the one error type the loader reports.

Every problem with a scenario file becomes a ``ScenarioError`` naming file, line and
field, so the CLI can print ``file:line: field: message`` and exit 2 without a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_TEXT", "ScenarioError", "SourceLocation", "format_field"]

MAX_TEXT = 400


@dataclass(frozen=True, order=True)
class SourceLocation:
    """A position in a scenario file: its display path (never absolute) and 1-based line."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ScenarioError:
    """One problem in one scenario file; ``str()`` is ``file:line: field: message``.

    ``line`` is ``None`` only when the problem is not inside the text (unreadable file,
    missing path). ``field`` is a dotted path such as ``steps[3].with.policy_id``, or a
    word naming the stage that failed (``file``, ``encoding``, ``yaml``, ``document``).
    """

    file: str
    line: int | None
    field: str
    message: str

    def __post_init__(self) -> None:
        # Messages quote the author's values; one line of output must stay one readable line.
        for name in ("field", "message"):
            text = " ".join(str(getattr(self, name)).split())
            if len(text) > MAX_TEXT:
                text = text[: MAX_TEXT - 1] + "…"
            object.__setattr__(self, name, text)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}"

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.file, self.line)


def format_field(path: tuple[str | int, ...]) -> str:
    """``('steps', 3, 'with', 'x')`` -> ``steps[3].with.x``; the empty path is ``document``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "document"
