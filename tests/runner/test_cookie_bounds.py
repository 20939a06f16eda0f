"""Cookie sources are bounded: a cookie file is a small regular file, a cookie command ends at its timeout (issue 8).

Found from outside: ``AXIS_SESSION_COOKIE_FILE=/dev/zero`` read without bound, a FIFO hung the
run, and a cookie command whose child left its process group held the run for the child's life.
Each run here is the installed CLI against a fresh reference server, whose request count says
whether anything was sent.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from velikey.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("velikey-e2e")
# A hang guard, not a timing assertion: a run still going at this point fails the test.
HANG_GUARD_S = 60


def _run(env: dict[str, str], out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), "run", str(ROOT / "scenarios"), "--live", "--confirm", "--out", str(out),
                           *extra],
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True,
                          timeout=HANG_GUARD_S)


def _env(server: ReferenceServer, **auth: str) -> dict[str, str]:
    env = server.live_env()
    del env["AXIS_SESSION_COOKIE"]
    return {**env, **auth}


def _fifo(tmp_path: Path) -> str:
    path = tmp_path / "cookie.fifo"
    os.mkfifo(path)
    return str(path)


def _oversized(tmp_path: Path) -> str:
    path = tmp_path / "cookie.txt"
    path.write_text("next-auth.session-token=" + "a" * (64 * 1024), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda tmp: "/dev/zero", "is a device", id="dev-zero"),
        pytest.param(_fifo, "is a FIFO", id="fifo"),
        pytest.param(lambda tmp: str(tmp), "is a folder", id="folder"),
        pytest.param(_oversized, "larger than 65536 bytes", id="oversized"),
    ],
)
def test_a_cookie_file_that_is_not_a_small_regular_file_is_exit_2_before_any_request(
    make: Callable[[Path], str], says: str, start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    server = start_server()
    done = _run(_env(server, AXIS_SESSION_COOKIE_FILE=make(tmp_path)), tmp_path / "out")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "AXIS_SESSION_COOKIE_FILE" in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
    assert sum(server.state()["requests"].values()) == 0
    assert not (tmp_path / "out").exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _sh(script: str) -> str:
    return f"/bin/sh -c {shlex.quote(script)}"


def test_a_cookie_command_that_leaves_a_child_holding_its_output_does_not_hold_the_run(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    # The child leaves the command's process group (setsid) and keeps stdout open for a minute;
    # the command itself prints the cookie and exits. The run uses the cookie and ends.
    server = start_server()
    pid_file = tmp_path / "child.pid"
    script = f"setsid sleep 120 & echo $! > {pid_file}; echo {shlex.quote(server.session_cookie)}"
    done = _run(_env(server, AXIS_SESSION_COOKIE_COMMAND=_sh(script)), tmp_path / "out")
    try:
        assert done.returncode == 0, done.stderr
        manifest = json.loads((tmp_path / "out" / "run-manifest.json").read_text(encoding="utf-8"))
        assert manifest["auth_source"] == "AXIS_SESSION_COOKIE_COMMAND"
    finally:
        os.kill(int(pid_file.read_text()), 9)


def test_a_cookie_command_timeout_ends_its_whole_process_group(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    # A background child holds stdout; the command never prints. At the timeout (the request
    # timeout, 1 s) the whole group ends: the run is blocked as auth_missing, the child is gone.
    server = start_server()
    pid_file = tmp_path / "child.pid"
    script = f"sleep 120 & echo $! > {pid_file}; wait"
    done = _run(_env(server, AXIS_SESSION_COOKIE_COMMAND=_sh(script)), tmp_path / "out", "--request-timeout", "1")
    assert done.returncode == 3, done.stderr
    assert "timed out" in (tmp_path / "out" / "BLOCKER.json").read_text()
    pid = int(pid_file.read_text())
    assert not _alive(pid) or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    assert sum(server.state()["requests"].values()) == 0


def test_a_cookie_command_printing_without_bound_is_refused(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    server = start_server()
    done = _run(_env(server, AXIS_SESSION_COOKIE_COMMAND="/bin/cat /dev/zero"), tmp_path / "out")
    assert done.returncode == 3, done.stderr
    assert "printed more than 65536 bytes" in (tmp_path / "out" / "BLOCKER.json").read_text()
    assert sum(server.state()["requests"].values()) == 0
