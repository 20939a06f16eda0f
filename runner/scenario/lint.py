"""``velikey-e2e lint``: every problem in the given scenario files, one line each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .load import load_scenarios

__all__ = ["lint"]


def lint(paths: Sequence[Path | str], cwd: Path | None = None) -> list[str]:
    """``file:line: field: message`` for each error; empty when every file is valid."""
    return [str(error) for error in load_scenarios(paths, cwd).errors]
