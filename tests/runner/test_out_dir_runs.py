"""The --out lock and leftovers, from outside: real CLI runs on one output directory (issue 8, items 1 and 7).

Before, two runs on one --out raced (one exited 0 over a ``fail`` set), and a killed run's staging
folders piled up beside --out while a parked old set stayed hidden.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from velikey.testing import Fault, ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "velikey-e2e")
SCENARIOS = str(ROOT / "scenarios")
StartServer = Callable[..., ReferenceServer]


def _env(server: ReferenceServer) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", **server.live_env()}


def _wait_for(condition: Callable[[], bool], what: str, limit_s: float = 60) -> None:
    """Poll until ``condition`` holds (a wait, not a timing assertion)."""
    end = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_a_second_run_on_a_held_out_is_exit_2_and_sends_nothing(start_server: StartServer, tmp_path: Path) -> None:
    holder_server = start_server(faults=(Fault("GET /api/usage/summary", action="hang"),))
    other_server = start_server()
    out = tmp_path / "out"
    holder = subprocess.Popen([CLI, "run", SCENARIOS, "--live", "--out", str(out)], env=_env(holder_server),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: holder_server.state()["requests"].get("GET /api/usage/summary", 0) > 0,
                  "the first run to be in flight")
        second = subprocess.run([CLI, "run", SCENARIOS, "--live", "--out", str(out)], env=_env(other_server),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stdout + second.stderr
        assert second.stderr.count("\n") == 1 and "is in use by another run" in second.stderr
        assert sum(other_server.state()["requests"].values()) == 0
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.communicate(timeout=60)
    assert holder.returncode == 130
    assert json.loads((out / "python-sdk-e2e-result.json").read_text())["reason_codes"]


def test_a_killed_runs_leftovers_are_cleaned_and_its_parked_set_restored(shared_server: ReferenceServer,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = subprocess.run([CLI, "run", SCENARIOS, "--dry-run", "--out", str(out)], env=_env(shared_server),
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    # A kill between the writer's two renames: the old set parked, no out; and a staging folder left over.
    out.rename(tmp_path / ".out.old-0123456789abcdef")
    staging = tmp_path / ".out.tmp-fedcba9876543210"
    staging.mkdir()
    (staging / "SUMMARY.json").write_text("{}")
    second = subprocess.run([CLI, "run", SCENARIOS, "--dry-run", "--out", str(out)], env=_env(shared_server),
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
    assert (out / "python-sdk-e2e-result.json").exists()
