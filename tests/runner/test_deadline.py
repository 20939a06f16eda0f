"""``--deadline`` runs from start-up and covers auth resolution; a live run always has one (issue 8).

Found from outside: with a credentials bootstrap against a login that hangs, ``--deadline 2``
was ignored (the deadline started with the first step, after auth), and a live run without
``--deadline`` had none at all. Runs are the installed CLI against a fresh reference server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from runner.control import DEFAULT_LIVE_DEADLINE_S
from runner.receipts.validate import validate_run_dir
from velikey.testing import Fault, ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("velikey-e2e")
# A hang guard, not a timing assertion: the login hangs far longer than this.
HANG_GUARD_S = 60


def _run(env: dict[str, str], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "run", str(ROOT / "scenarios"), "--live", "--out", str(out), *extra],
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


def _credentials_env(server: ReferenceServer) -> dict[str, str]:
    env = server.live_env()
    del env["AXIS_SESSION_COOKIE"]
    return {**env, "AXIS_AUTH_EMAIL": server.config.email, "AXIS_AUTH_PASSWORD": server.config.password}


def test_the_deadline_covers_a_hanging_credentials_bootstrap(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    # The login hangs for the whole request timeout (300 s): far past the hang guard without the deadline.
    server = start_server(faults=(Fault("POST /api/auth/callback/credentials", action="hang"),))
    out = tmp_path / "out"
    done = _run(_credentials_env(server), out, "--deadline", "2", "--request-timeout", "300")
    assert done.returncode == 3, done.stderr
    assert validate_run_dir(out) == []
    result = json.loads((out / "python-sdk-e2e-result.json").read_text(encoding="utf-8"))
    assert result["reason_codes"] == ["timeout"]
    blocker = json.loads((out / "BLOCKER.json").read_text(encoding="utf-8"))
    assert any("deadline" in line for line in blocker["guidance"])
    summary = json.loads((out / "SUMMARY.json").read_text(encoding="utf-8"))
    assert {step["reason_code"] for sc in summary["scenarios"] for step in sc["steps"]} == {"timeout"}


def test_a_live_run_records_its_default_deadline(start_server: Callable[..., ReferenceServer], tmp_path: Path) -> None:
    out = tmp_path / "out"  # a fresh tenant: the release gate ingests and applies for real
    done = _run(start_server().live_env(), out, "--concurrency", "1")
    assert done.returncode in (0, 1), done.stderr
    manifest = json.loads((out / "run-manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["deadline"] == f"{DEFAULT_LIVE_DEADLINE_S:g}"


def test_the_default_deadline_is_in_the_help() -> None:
    done = subprocess.run([str(CLI), "run", "--help"], capture_output=True, text=True, timeout=HANG_GUARD_S,
                          env={"PATH": os.environ["PATH"], "COLUMNS": "200"})
    assert f"[default with --live: {DEFAULT_LIVE_DEADLINE_S:g}]" in done.stdout
