"""Only the commands that serve the reference server import it (and with it FastAPI and uvicorn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = """
import json, sys
import runner.cli
try:
    runner.cli.main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"fastapi", "uvicorn"} | (
    {"velikey.testing"} if "velikey.testing" in sys.modules else set()))
sys.stderr.write(json.dumps(loaded) + "\\n")
"""


def _loaded(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=60)
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("lint", "--help"), ("reasons",)])
def test_other_commands_never_import_the_reference_server(args: tuple[str, ...]) -> None:
    assert _loaded(*args) == []


def test_serve_imports_it() -> None:
    assert _loaded("serve", "--help") == ["fastapi", "uvicorn", "velikey.testing"]


# What a run needs and a start-up command does not: the pipeline pulls in the SDK (httpx,
# pydantic), the engine, the receipts (jsonschema) and the scenario loader (PyYAML).
_RUN_ONLY = {"runner.pipeline", "runner.engine", "runner.receipts", "runner.scenario", "velikey",
             "httpx", "pydantic", "jsonschema", "yaml", "jinja2", "asyncio"}


def _imported_by_installed_cli(*args: str) -> set[str]:
    """The modules ``velikey-e2e ARGS`` imports, read from ``python -X importtime`` (a whole process)."""
    script = Path(sys.executable).parent / "velikey-e2e"
    done = subprocess.run([sys.executable, "-X", "importtime", str(script), *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("reasons",), ("run", "--help")])
def test_start_up_commands_import_only_what_they_use(args: tuple[str, ...]) -> None:
    imported = _imported_by_installed_cli(*args)
    assert "click" in imported  # the probe does see imports
    heavy = {m for m in imported if m in _RUN_ONLY or m.split(".")[0] in _RUN_ONLY
             or any(m.startswith(prefix + ".") for prefix in _RUN_ONLY)}
    assert heavy == set()


# Cheaper modules a start-up command does not need either: each command imports them in its body
# (json for --json, pathlib when a path is given, the config when it runs, canonical JSON and argparse
# for `python -m runner.reasons --write`), and the reason catalog is a NamedTuple, not a dataclass.
_NOT_AT_START_UP = {"json", "dataclasses", "pathlib", "argparse", "runner.config", "runner.shard",
                    "runner.canonical", "runner._resources", "hashlib", "orjson", "rfc8785"}


def _imported_by_python(*args: str) -> set[str]:
    """What the interpreter itself imports before any of our code (site, a .pth's finder …)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True, timeout=60)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("args", [("--help",), ("--version",), ("reasons",), ("run", "--help")])
def test_start_up_commands_leave_the_standard_library_they_do_not_use(args: tuple[str, ...]) -> None:
    imported = _imported_by_installed_cli(*args) - _imported_by_python("-c", "pass")
    assert "runner.cli" in imported
    assert imported & _NOT_AT_START_UP == set()


def test_reasons_json_imports_json_but_not_the_rest() -> None:
    imported = _imported_by_installed_cli("reasons", "--json") - _imported_by_python("-c", "pass")
    assert imported & _NOT_AT_START_UP == {"json"}


def test_a_dry_run_imports_the_pipeline(tmp_path: Path) -> None:
    imported = _imported_by_installed_cli("run", "--dry-run", "--out", str(tmp_path / "out"), "scenarios")
    assert {"runner.pipeline", "httpx", "pydantic", "jsonschema_rs"} <= imported
    # Every receipt was valid, so the reference validator (only asked about a refused document) never loaded.
    assert "jsonschema" not in imported
    # Nor httpx's own command line (rich, pygments): the entry point marks it absent before httpx loads.
    assert {m for m in imported if m.split(".")[0] in ("rich", "pygments")} == set()
    # No --junit, no junit module (nor xml.etree).
    assert {"runner.report.junit", "xml.etree.ElementTree"} & imported == set()


def test_a_dry_run_with_junit_imports_it(tmp_path: Path) -> None:
    imported = _imported_by_installed_cli("run", "--dry-run", "--out", str(tmp_path / "out"),
                                          "--junit", str(tmp_path / "junit.xml"), "scenarios")
    assert "runner.report.junit" in imported
    assert (tmp_path / "junit.xml").is_file()


def _fake_pydantic_plugin(root: Path) -> Path:
    """A distribution on ``PYTHONPATH`` declaring a pydantic plugin that leaves a mark when it is loaded."""
    info = root / "markplugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: markplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nmark = markplugin:plugin\n")
    (root / "markplugin.py").write_text(
        "import os, pathlib\npathlib.Path(os.environ['MARK_FILE']).write_text('loaded')\n"
        "class Plugin:\n    def new_schema_validator(self, *args, **kwargs):\n        return None, None, None\n"
        "plugin = Plugin()\n")
    return root


def test_a_run_loads_no_pydantic_plugin(tmp_path: Path) -> None:
    site = _fake_pydantic_plugin(tmp_path / "site")
    mark = tmp_path / "mark"
    env = {**os.environ, "PYTHONPATH": str(site), "MARK_FILE": str(mark)}
    env.pop("PYDANTIC_DISABLE_PLUGINS", None)
    # The plugin is seen: a plain pydantic model in the same environment loads it.
    subprocess.run([sys.executable, "-c", "import pydantic\nclass M(pydantic.BaseModel):\n    x: int\nM(x=1)"],
                   env=env, check=True, timeout=60)
    assert mark.read_text() == "loaded"
    mark.unlink()
    script = Path(sys.executable).parent / "velikey-e2e"
    done = subprocess.run([str(script), "run", "--dry-run", "--out", str(tmp_path / "out"), "scenarios"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not mark.exists()
