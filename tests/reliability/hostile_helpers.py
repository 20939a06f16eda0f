"""Helpers for the hostile-input tests: a raw-socket HTTP server that misbehaves on purpose,
an audit-hook recorder of file opens and process launches, and hostile scenario fragments.

The raw server is below any HTTP library on purpose: a ``Content-Length`` that lies, a body
that never ends or a connection held open are things a well-behaved framework will not send.
Imported by module name, like the other test helper modules.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from runner.cli import cli

# -- a raw HTTP server -------------------------------------------------------------------------

MAX_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class RawRequest:
    method: str
    path: str
    headers: dict[str, str]
    body_bytes: int


Handler = Callable[[RawRequest, socket.socket], None]


def _read_request(conn: socket.socket) -> RawRequest | None:
    """Read one request head and drain its body (by Content-Length); None if the peer left."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_HEAD_BYTES:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    remaining = int(headers.get("content-length", "0") or 0) - len(rest)
    received = len(rest)
    while remaining > 0:
        chunk = conn.recv(min(remaining, 1 << 20))
        if not chunk:
            break
        remaining -= len(chunk)
        received += len(chunk)
    return RawRequest(method, path, headers, received)


def head(status: int = 200, reason: str = "OK", **headers: str | int) -> bytes:
    """A status line and headers; header names from keywords (``content_length`` -> Content-Length)."""
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name.replace('_', '-').title()}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def respond(body: bytes, status: int = 200, **headers: str | int) -> Handler:
    """A handler answering every request with ``body`` (honest Content-Length unless overridden)."""
    headers.setdefault("content_type", "application/json")
    headers.setdefault("content_length", len(body))
    headers.setdefault("connection", "close")

    def handle(request: RawRequest, conn: socket.socket) -> None:
        conn.sendall(head(status, **headers) + body)

    return handle


@dataclass
class RawServer:
    """A threaded loopback server calling ``handler`` once per connection, then closing it.

    ``stop()`` closes the listener and every open connection, so a handler blocked on a
    send or a sleep ends promptly; no thread outlives the ``with`` block by more than a moment.
    """

    handler: Handler
    requests: list[RawRequest] = field(default_factory=list)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)
    _conns: list[socket.socket] = field(default_factory=list)
    _stopped: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        assert self._listener is not None
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def stopped(self) -> threading.Event:
        """Set when the server stops; handlers that wait should wait on it."""
        return self._stopped

    def __enter__(self) -> RawServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.1)
        self._listener = listener
        accept = threading.Thread(target=self._accept, name="raw-server-accept", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            self._conns.append(conn)
            worker = threading.Thread(target=self._serve, args=(conn,), name="raw-server-conn", daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            if request is not None:
                self.requests.append(request)
                self.handler(request, conn)
        except OSError:
            pass  # the client gave up (as it should with a hostile answer); nothing to report
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
        for conn in list(self._conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(5)


# -- what the process does: file opens and process launches -------------------------------------

_LAUNCH_EVENTS = ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "pty.spawn")
_EVAL_EVENTS = ("exec", "compile")


class AuditRecorder:
    """Records ``open`` and launch/eval audit events while ``recording()`` is active.

    Audit hooks cannot be removed, so one hook is installed per process and stays idle
    outside ``recording()``.
    """

    def __init__(self) -> None:
        self.active = False
        self.opened: list[str] = []
        self.launched: list[tuple[str, str]] = []
        self.evaluated: list[str] = []
        self._thread: int | None = None
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        # Only the recording thread: the reference server's thread is not under test here.
        if not self.active or threading.get_ident() != self._thread:
            return
        if event == "open":
            path = args[0]
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if isinstance(path, str):
                self.opened.append(path)
        elif event.startswith(_LAUNCH_EVENTS):
            self.launched.append((event, repr(args)[:200]))
        elif event in _EVAL_EVENTS:
            self.evaluated.append(event)

    @contextmanager
    def recording(self) -> Iterator[AuditRecorder]:
        self.opened, self.launched, self.evaluated = [], [], []
        self._thread = threading.get_ident()
        self.active = True
        try:
            yield self
        finally:
            self.active = False

    def opened_outside(self, *allowed: Path) -> list[str]:
        """Opened paths that resolve outside every ``allowed`` root."""
        roots = [Path(os.path.realpath(root)) for root in allowed]
        outside = []
        for name in self.opened:
            real = Path(os.path.realpath(name))
            if not any(real == root or real.is_relative_to(root) for root in roots):
                outside.append(name)
        return outside


_recorder: AuditRecorder | None = None


def audit() -> AuditRecorder:
    """The process's one recorder (installed on first use)."""
    global _recorder
    if _recorder is None:
        _recorder = AuditRecorder()
    return _recorder


def code_roots() -> tuple[Path, ...]:
    """Where the interpreter and the installed packages live: opening files there is expected."""
    repo = Path(__file__).resolve().parents[2]
    return (
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        repo / "runner",
        repo / "velikey",
        repo / "schemas",
    )


# -- the CLI, in-process -------------------------------------------------------------------------

# Inputs that would make a dry run look different or a live run reach a real tenant.
CLEAN_ENV: dict[str, str | None] = {
    name: None
    for name in (
        "AXIS_BASE_URL", "AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN", "AXIS_SESSION_COOKIE_FILE",
        "AXIS_SESSION_COOKIE_COMMAND", "AXIS_AUTH_EMAIL", "AXIS_AUTH_PASSWORD", "VELIKEY_API_KEY",
        "AEGIS_POLICY_ID", "AEGIS_ROLLBACK_TOKEN", "SDK_E2E_PAYLOAD_URL", "SOURCE_DATE_EPOCH",
    )
}  # fmt: skip


@dataclass(frozen=True)
class Invocation:
    exit_code: int
    output: str
    exception: BaseException | None


def invoke(*args: str, env: dict[str, str] | None = None) -> Invocation:
    """Run ``velikey-e2e ARGS`` in-process; ``exception`` is set only for a crash (not SystemExit)."""
    result = CliRunner().invoke(cli, list(args), env={**CLEAN_ENV, **(env or {})}, catch_exceptions=True)
    crash = None if result.exception is None or isinstance(result.exception, SystemExit) else result.exception
    return Invocation(result.exit_code, result.output, crash)


# -- a scenario folder with things a scenario must not reach ----------------------------------------

SECRET = b"CANARY-SECRET-0123456789"
INSIDE = b"inside the scenario folder\x00\xff\n"


@dataclass(frozen=True)
class Sandbox:
    """``folder`` holds the scenario, an ordinary file (``data.bin``), a symlink out of the folder
    (``link-out``), a symlink loop (``loop.bin``) and a directory (``sub``); ``secret`` (outside)
    and ``home/.ssh/id_rsa`` must never be read, and ``pwned`` never created."""

    root: Path
    folder: Path
    secret: Path
    home: Path
    pwned: Path
    receipts: Path

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home)}


@contextmanager
def sandbox() -> Iterator[Sandbox]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        folder, outside, home, receipts = root / "sc", root / "outside", root / "home", root / "receipts"
        for directory in (folder, outside, home / ".ssh", receipts, folder / "sub"):
            directory.mkdir(parents=True)
        secret = outside / "secret.txt"
        secret.write_bytes(SECRET)
        (home / ".ssh" / "id_rsa").write_bytes(SECRET)
        (folder / "data.bin").write_bytes(INSIDE)
        (folder / "link-out").symlink_to(secret)
        (folder / "loop.bin").symlink_to(folder / "loop.bin")
        yield Sandbox(root, folder, secret, home, root / "pwned", receipts)


# -- hostile scenario material -------------------------------------------------------------------

# YAML that a careless loader would turn into code execution or objects: always refused.
CODE_TAGS = (
    '!!python/object/apply:os.system ["touch {canary}"]',
    "!!python/object/apply:subprocess.check_output [[touch, {canary}]]",
    "!!python/name:os.system",
    "!!python/module:os",
    '!!python/object/new:subprocess.Popen [["touch", "{canary}"]]',
    "!<tag:yaml.org,2002:python/object/apply:os.system> [touch {canary}]",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!timestamp 2001-12-14",
    "!custom x",
)
# Explicit standard tags on plain values: allowed, and still only plain values.
PLAIN_TAGS = ("!!float 1.5", "!!str 5", "!!int 7", "!!bool true", "!!null ''")
