"""Only the commands that serve the reference server import it (and with it FastAPI and uvicorn)."""

from __future__ import annotations

import json
import subprocess
import sys

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
