"""BLOCKER.json from outside: the exact rerun command, blocked messages naming their scenario, ``needs: []``.

Issue 8, item 7. Before: ``rerun`` dropped ``--confirm`` (even for ``confirmation_required``),
``--out`` and the wrapper form and kept an absolute scenario path; a scenario needing only a
session was reported "live inputs missing: rollback_token" because another scenario needed it;
a scenario with ``needs: []`` still required a session and BLOCKER listed no missing input.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.receipts.validate import validate_run_dir
from velikey.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "velikey-e2e")
SCRIPT = ROOT / "scripts" / "sdk-e2e" / "run_python_sdk_e2e.sh"
APPLY_FOR_REAL = Path(__file__).resolve().parent / "scenarios" / "apply-for-real.yaml"
StartServer = Callable[..., ReferenceServer]

ROLLBACK_NEEDED = """\
id: undo
title: Rollback with a token
needs: [session, rollback_token]
steps:
  - id: rollback
    call: rollouts.rollback
    with: {rollback_token: "${inputs.rollback_token}", confirm: false}
"""
SESSION_ONLY = """\
id: reads
title: Reads with a session
needs: [session]
steps:
  - id: usage
    call: billing.get_usage
"""
NO_NEEDS = """\
id: health-only
title: Health without a session
needs: []
steps:
  - id: health
    call: get_health
"""
NO_NEEDS_BUT_AUTHENTICATED = """\
id: policies-anyway
title: An authenticated read without declaring a session
needs: []
steps:
  - id: health
    call: get_health
  - id: policies
    call: policies.list
"""


def _velikey(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, "run", *args], env={"PATH": "/usr/bin:/bin", **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def _blocker(out: Path) -> dict[str, Any]:
    assert validate_run_dir(out) == []
    data: dict[str, Any] = json.loads((out / "BLOCKER.json").read_text())
    return data


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_a_confirmation_blocker_reruns_with_confirm_out_and_relative_paths(tmp_path: Path) -> None:
    gate = _write(tmp_path / "gates", "apply.yaml", APPLY_FOR_REAL.read_text())
    done = _velikey(str(gate), "--live", "--embedded", "--out", "out", env={}, cwd=tmp_path)  # path given absolute
    assert done.returncode == 3, done.stdout + done.stderr
    blocker = _blocker(tmp_path / "out")
    assert "confirmation_required" in blocker["reason_codes"]
    assert shlex.split(blocker["rerun"]) == [
        "velikey-e2e", "run", "--live", "gates/apply.yaml", "--out", "out", "--embedded", "--confirm"]
    assert str(tmp_path) not in (tmp_path / "out" / "BLOCKER.json").read_text()


def test_confirm_and_flags_given_are_kept(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    gate = _write(tmp_path / "gates", "undo.yaml", ROLLBACK_NEEDED)
    env = {"AXIS_SESSION_COOKIE": server.session_cookie}
    done = _velikey("gates", "--live", "--confirm", "--base-url", server.base_url, "--deadline", "60",
                    "--out", str(tmp_path / "runs" / "one"), env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    assert gate.exists()
    assert shlex.split(_blocker(tmp_path / "runs" / "one")["rerun"]) == [
        "velikey-e2e", "run", "--live", "gates", "--out", "runs/one", "--base-url", server.base_url,
        "--deadline", "60", "--confirm"]


def test_the_wrapper_reruns_as_the_wrapper(tmp_path: Path) -> None:
    gate = _write(tmp_path / "gates", "apply.yaml", APPLY_FOR_REAL.read_text())
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SDK_E2E_PYTHON_BIN": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT), "--live", "gates/apply.yaml", "--embedded", "--out", "out"],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    words = shlex.split(_blocker(tmp_path / "out")["rerun"])
    assert words[:2] == [os.path.relpath(SCRIPT, tmp_path), "--live"]
    assert words[2:] == [gate.relative_to(tmp_path).as_posix(), "--out", "out", "--embedded", "--confirm"]


def test_a_scenario_is_blocked_only_by_its_own_needs_and_the_message_names_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    _write(tmp_path / "gates", "a-reads.yaml", SESSION_ONLY)
    _write(tmp_path / "gates", "b-undo.yaml", ROLLBACK_NEEDED)
    env = {"AXIS_BASE_URL": server.base_url, "AXIS_SESSION_COOKIE": server.session_cookie}
    done = _velikey("gates", "--live", "--out", "out", env=env, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out" / "SUMMARY.json").read_text())
    reads, undo = summary["scenarios"]
    assert [(s["outcome"], s["reason_code"]) for s in reads["steps"]] == [("passed", "ok")]
    assert [(s["outcome"], s["reason_code"], s["message"]) for s in undo["steps"]] == [
        ("blocked", "input_missing", "live inputs missing for scenario undo: rollback_token")]
    blocker = _blocker(tmp_path / "out")
    assert [m["name"] for m in blocker["missing_inputs"]] == ["rollback_token"]
    assert "live inputs missing for scenario undo: rollback_token" in done.stdout
    # Only the runnable scenario reached the tenant, and nothing rolled back.
    assert server.state()["requests"] == {"GET /api/usage/summary": 1}


def test_a_scenario_with_no_needs_requires_no_session(shared_server: ReferenceServer, tmp_path: Path) -> None:
    _write(tmp_path / "gates", "health.yaml", NO_NEEDS)
    done = _velikey("gates", "--live", "--out", "out", env={"AXIS_BASE_URL": shared_server.base_url}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out" / "SUMMARY.json").read_text())
    assert summary["result"] == "pass" and not (tmp_path / "out" / "BLOCKER.json").exists()


def test_an_authenticated_call_without_a_session_names_the_session_in_the_blocker(
    shared_server: ReferenceServer, tmp_path: Path
) -> None:
    _write(tmp_path / "gates", "policies.yaml", NO_NEEDS_BUT_AUTHENTICATED)
    done = _velikey("gates", "--live", "--out", "out", env={"AXIS_BASE_URL": shared_server.base_url}, cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    blocker = _blocker(tmp_path / "out")
    assert [m["name"] for m in blocker["missing_inputs"]] == ["session"]  # never empty-handed
    assert blocker["reason_codes"] == ["auth_missing"]

