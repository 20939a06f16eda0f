"""``velikey-e2e lint``: every problem in the given scenario files, one line each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import ScenarioError
from .load import load_scenarios

__all__ = ["lint", "lint_errors"]


def lint_errors(paths: Sequence[Path | str], cwd: Path | None = None) -> tuple[ScenarioError, ...]:
    """Every error of the scenario files under ``paths``, located by file and line (for annotations)."""
    return load_scenarios(paths, cwd).errors


def lint(paths: Sequence[Path | str], cwd: Path | None = None) -> list[str]:
    """``file:line: field: message`` for each error; empty when every file is valid."""
    return [str(error) for error in lint_errors(paths, cwd)]
