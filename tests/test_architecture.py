"""The import rules of ARCHITECTURE.md, as tests: each rule fails the build when it is broken.

- velikey never imports runner; nothing but the entry point imports runner.cli;
- the runner's stages only look down (the layer table below, the one in ARCHITECTURE.md);
- the runner imports no private SDK module (``velikey._*``), and the reference server only lazily;
- ``import velikey`` loads no FastAPI or uvicorn;
- no import cycles between modules of either package.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Lowest first: a module may import modules of its own layer or of a layer before it, never after.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("runner", "runner._resources", "runner.canonical", "runner.config", "runner.exits", "runner.ids",
     "runner.inputs", "runner.reasons", "runner.catalog_schemas", "runner.control", "runner.heap", "runner.transport",
     "runner.shard"),
    ("runner.scenario",),
    ("runner.preflight",),
    ("runner.engine",),
    ("runner.evidence",),
    ("runner.receipts",),
    ("runner.report", "runner.attest"),
    ("runner.pipeline", "runner.merge"),
    ("runner.cli",),
    ("runner._entry", "runner.__main__"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(path: Path, *, lazy: bool = True) -> set[str]:
    """Absolute names a module imports; ``lazy=False`` keeps module-level imports only."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if lazy else iter(tree.body)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, is_package, node)
            names.add(target)
            # `from pkg import mod` imports pkg.mod when mod is a module.
            names.update(f"{target}.{alias.name}" for alias in node.names
                         if (ROOT / Path(*f"{target}.{alias.name}".split("."))).with_suffix(".py").exists())
    return names


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(path): path for path in (ROOT / package).rglob("*.py")}


def _layer(module: str) -> int:
    best, index = -1, -1
    for number, members in enumerate(LAYERS):
        for member in members:
            if (module == member or module.startswith(member + ".")) and len(member) > best:
                best, index = len(member), number
    return index


def test_sdk_never_imports_the_runner() -> None:
    offenders = [name for name, path in _modules("velikey").items()
                 if any(i == "runner" or i.startswith("runner.") for i in _imports(path))]
    assert offenders == []


def test_nothing_imports_the_cli() -> None:
    offenders = [name for package in ("velikey", "runner") for name, path in _modules(package).items()
                 if name not in ("runner.cli", "runner._entry") and "runner.cli" in _imports(path)]
    assert offenders == []


def test_every_runner_module_has_a_layer() -> None:
    assert [name for name in _modules("runner") if _layer(name) < 0] == []


def test_stages_only_look_down() -> None:
    offenders = [
        f"{name} (layer {_layer(name)}) imports {target} (layer {_layer(target)})"
        for name, path in _modules("runner").items()
        for target in _imports(path)
        if target.startswith("runner") and _layer(target) > _layer(name)
    ]
    assert offenders == []


def test_runner_imports_no_private_sdk_module() -> None:
    offenders = [f"{name} imports {target}" for name, path in _modules("runner").items()
                 for target in _imports(path)
                 if target.startswith("velikey.") and any(part.startswith("_") for part in target.split(".")[1:])]
    assert offenders == []


def test_the_reference_server_is_imported_only_lazily_by_the_runner() -> None:
    offenders = [name for name, path in _modules("runner").items()
                 if any(t == "velikey.testing" or t.startswith("velikey.testing.") for t in _imports(path, lazy=False))]
    assert offenders == []


def test_import_velikey_loads_no_web_framework() -> None:
    frameworks = "{'fastapi', 'uvicorn', 'starlette'}"
    probe = f"import sys, velikey; print(sorted({{m.split('.')[0] for m in sys.modules}} & {frameworks}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("package", ["velikey", "runner"])
def test_no_import_cycles(package: str) -> None:
    """Module-level imports form no cycle (a lazy import inside a function is the deliberate way out)."""
    modules = _modules(package)
    graph = {name: {t for t in _imports(path, lazy=False) if t in modules and t != name}
             for name, path in modules.items()}
    # A package's __init__ re-exporting its own modules is not a cycle through them.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []
