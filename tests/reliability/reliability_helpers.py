"""Helpers for the interruption, secrets and load suites: the CLI in a subprocess, receipt-set
checks, and every encoded form of a secret.

Imported by module name (``from reliability_helpers import ...``), like the other test
helper modules; there is deliberately no ``conftest.py`` in this folder.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from runner.receipts.validate import RESULT_FILE, validate_run_dir
from velikey.testing import ReferenceServer, ServerConfig

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
RELEASE_GATE = SCENARIOS / "release-gate.yaml"

# What must never reach stderr, whatever happens to the process.
CRASH_MARKERS = ("Traceback (most recent call last)", "Exception ignored", "Task was destroyed",
                 "Task exception was never retrieved", "Error in atexit", "Fatal Python error")


def live_env(server: ReferenceServer, **extra: str) -> dict[str, str]:
    """A clean environment holding every live input of ``server`` (plus ``extra``), as a user exports them.

    Only what a subprocess needs to start is kept from ``os.environ``: a stray ``AXIS_*`` or
    ``VELIKEY_*`` variable of the developer's shell must not change which auth source is used.
    """
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    env = {**keep, "PYTHONUNBUFFERED": "1", **server.live_env()}
    env.update(extra)
    return env


@contextmanager
def reference_server(**fields: Any) -> Iterator[ReferenceServer]:
    """A fresh reference server configured with ``ServerConfig(**fields)``, stopped on exit."""
    with ReferenceServer(ServerConfig(**fields)) as server:
        yield server


def runner_command(*args: str | Path) -> list[str]:
    """``python -m runner ARGS``, with the interpreter running the tests."""
    return [sys.executable, "-m", "runner", *(str(a) for a in args)]


@dataclass(frozen=True)
class Finished:
    """What a finished CLI process left: exit status (negative: killed by that signal) and its output."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str | Path, env: Mapping[str, str], cwd: Path, timeout: float = 60.0) -> Finished:
    """Run the CLI to completion in a subprocess and capture everything it printed."""
    done = subprocess.run(runner_command(*args), env=dict(env), cwd=cwd, capture_output=True, timeout=timeout,
                          check=False)
    return Finished(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace"))


@dataclass
class Watched:
    """A CLI subprocess whose stderr lines are read as they come, so a test can act on progress lines."""

    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)
    _closed: bool = False

    def wait_for_line(self, text: str, timeout: float) -> bool:
        """Block until a stderr line containing ``text`` has been printed; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while not any(text in line for line in self.lines):
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return False
                self._seen.wait(remaining)
        return True

    def finish(self, timeout: float) -> Finished:
        """Wait for the process to end; its whole stdout and stderr (stderr read by the reader thread only)."""
        assert self.process.stdout is not None
        self.process.wait(timeout)  # stdout is a verdict of a few lines: it cannot fill the pipe
        stdout = self.process.stdout.read()
        with self._seen:
            self._seen.wait_for(lambda: self._closed, timeout)
        return Finished(self.process.returncode, stdout.decode("utf-8", "replace"), "".join(self.lines))

    def _read(self, stream: Any) -> None:
        for raw in stream:
            with self._seen:
                self.lines.append(raw.decode("utf-8", "replace"))
                self._seen.notify_all()
        with self._seen:
            self._closed = True
            self._seen.notify_all()


@contextmanager
def watched_cli(*args: str | Path, env: Mapping[str, str], cwd: Path) -> Iterator[Watched]:
    """Start the CLI; the process is always reaped on exit (killed if a failing test left it running)."""
    process = subprocess.Popen(runner_command(*args), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watched = Watched(process)
    reader = threading.Thread(target=watched._read, args=(process.stderr,), name="cli-stderr", daemon=True)
    reader.start()
    try:
        yield watched
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def has_mapped(pid: int, fragment: str) -> bool:
    """Whether process ``pid`` has mapped a file whose path contains ``fragment`` (Linux ``/proc``)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as maps:
            return any(fragment in line for line in maps)
    except OSError:
        return False


def crash_lines(stderr: str) -> list[str]:
    """stderr lines that betray a crash rather than a handled stop."""
    return [line for line in stderr.splitlines() if any(marker in line for marker in CRASH_MARKERS)]


def staging_leftovers(out_dir: Path) -> list[str]:
    """Hidden siblings a receipt write may leave beside ``out_dir`` (``.<name>.tmp-*``, ``.<name>.old-*``).

    The run's lock file (``.<name>.lock``, empty, kept on purpose: removing it would race the next run) is not one.
    """
    parent = out_dir.parent
    if not parent.is_dir():
        return []
    lock = f".{out_dir.name}.lock"
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{out_dir.name}.") and p.name != lock)


def temp_files(root: Path) -> list[str]:
    """Temp files of an atomic write anywhere under ``root`` (``.<name>.tmp-<hex>``)."""
    if not root.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".tmp-" in p.name)


def result_receipt(run_dir: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((run_dir / RESULT_FILE).read_text(encoding="utf-8"))
    return loaded


def assert_valid_run(run_dir: Path) -> dict[str, Any]:
    """The run directory is a complete, valid receipt set with no temp files; returns the result receipt."""
    problems = validate_run_dir(run_dir)
    assert problems == [], f"{run_dir} is not a valid receipt set:\n" + "\n".join(problems)
    assert temp_files(run_dir) == []
    return result_receipt(run_dir)


def receipt_bytes(run_dir: Path, *, skip: tuple[str, ...] = ("timings.json",)) -> dict[str, bytes]:
    """relative path → bytes of every file of a run directory, except ``skip``."""
    return {
        p.relative_to(run_dir).as_posix(): p.read_bytes()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file() and p.relative_to(run_dir).as_posix() not in skip
    }


# -- secrets ------------------------------------------------------------------------------------


def secret_forms(secret: str) -> dict[str, str]:
    """Every form a secret may leak in: verbatim, URL-encoded and base64 (std/urlsafe, +/- padding)."""
    raw = secret.encode("utf-8")
    std, urlsafe = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {
        "verbatim": secret,
        "quote": quote(secret, safe=""),
        "quote-default": quote(secret),
        "quote_plus": quote_plus(secret),
        "base64": std,
        "base64-unpadded": std.rstrip("="),
        "base64url": urlsafe,
        "base64url-unpadded": urlsafe.rstrip("="),
    }


def find_leaks(haystacks: Mapping[str, bytes | str], secrets: Mapping[str, str]) -> list[str]:
    """``where: secret (form)`` for every occurrence of any form of any secret; empty means clean."""
    leaks = []
    for where, content in haystacks.items():
        text = content if isinstance(content, str) else content.decode("utf-8", "replace")
        for label, secret in secrets.items():
            for form, value in secret_forms(secret).items():
                if value and value in text:
                    leaks.append(f"{where}: {label} ({form})")
    return leaks


def every_file(root: Path) -> dict[str, bytes]:
    """relative path → bytes of every regular file under ``root``, hidden ones included."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
