"""After the first request: a bug in a step is that step's internal_error, and a set that cannot be written is exit 4.

Issue 8, item 1: before, an unexpected exception in a step was a traceback with no receipts, and
a write failure after health, plan and apply had reached the tenant was a traceback too.
"""
# Fixtures come from outcome_helpers by import (no conftest.py here), so their parameters shadow the imports.
# ruff: noqa: F811

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from outcome_helpers import GATE_PASSED, check_outcome, gate_failing_at, run_live

import runner.engine.execute
from velikey.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "velikey-e2e")
StartServer = Callable[..., ReferenceServer]


def test_an_unexpected_exception_in_a_step_is_its_internal_error_and_the_set_is_written(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner.engine.execute.run_step

    async def buggy(index: int, state: Any, ctx: Any) -> Any:
        if state.scenario.steps[index].id == "score":
            raise KeyError("a bug in the tool")
        return await real(index, state, ctx)

    monkeypatch.setattr(runner.engine.execute, "run_step", buggy)
    server = start_server()
    out = tmp_path / "run"
    documents = check_outcome(run_live(server, out), out, exit_code=1, result="fail",
                              expected_steps=gate_failing_at("score", "internal_error", GATE_PASSED))
    score = next(s for s in documents["SUMMARY.json"]["scenarios"][0]["steps"] if s["id"] == "score")
    assert "KeyError" in score["message"] and "a bug in the tool" in score["message"]
    assert "internal_error" in documents["python-sdk-e2e-result.json"]["reason_codes"]


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_set_that_cannot_be_written_after_traffic_is_exit_4_naming_cause_and_traffic(
    start_server: StartServer, tmp_path: Path
) -> None:
    # Files up to 8 KiB can be written (so the preflight probe passes); SUMMARY.json of the gate is larger.
    server = start_server()
    out = tmp_path / "out"
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **server.live_env()}
    done = subprocess.run([CLI, "run", str(ROOT / "scenarios"), "--live", "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=120, preexec_fn=_file_size_limit(8192))
    assert done.returncode == 4, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if not line.startswith("  ")]  # progress lines are indented
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    message = lines[0]
    assert message.startswith("error: the receipts could not be written: ") and "File too large" in message
    sent = sum(server.state()["requests"].values())
    assert sent > 0 and f"{sent} request(s) were sent" in message
    assert "rollouts.apply (apply)" in message  # what can have taken effect is named
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == [".out.lock"]  # no staging left behind
