"""The import rules of ARCHITECTURE.md: velikey never imports runner; nothing imports runner.cli."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_sdk_never_imports_the_runner() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "velikey").rglob("*.py")
        if any(name == "runner" or name.startswith("runner.") for name in _imports(path))
    ]
    assert offenders == []


def test_nothing_imports_the_cli() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("velikey", "runner")
        for path in (ROOT / package).rglob("*.py")
        if path.name not in ("cli.py", "_entry.py") and "runner.cli" in _imports(path)
    ]
    assert offenders == []
