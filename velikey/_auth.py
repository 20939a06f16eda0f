"""Auth sources: where the SDK's session cookie or API key comes from, and the credentials bootstrap.

Static sources are resolved in one fixed order (explicit arguments, then the seed's env
names), so a run always says which identity it used. Every error here names the source
and the reason, never a cookie, token, password, API key, or a command's output: those
are exactly the things a release gate must keep out of its logs and receipts.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shlex
import signal
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ._exchange import Exchange, status_error
from .exceptions import (
    APIStatusError,
    AuthenticationError,
    AuthSchemaMismatchError,
    AuthSourceError,
    AuthSourceRefusedError,
)
from .operations import AUTH_SOURCES, CREDENTIALS_SOURCE, RequestSpec

__all__ = [
    "AUTH_SOURCES",
    "COMMAND_TIMEOUT_S",
    "CREDENTIALS_SOURCE",
    "MAX_COOKIE_BYTES",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_NAMES",
    "AuthResolution",
    "Credentials",
    "Send",
    "bootstrap_session",
    "credentials_from_env",
    "normalize_cookie",
    "parse_cookie_file",
    "resolve_static_auth",
    "run_cookie_command",
]

SESSION_COOKIE_NAME = "next-auth.session-token"
# NextAuth prefixes the name with __Secure- when the site is served over HTTPS.
SESSION_COOKIE_NAMES: tuple[str, ...] = (SESSION_COOKIE_NAME, f"__Secure-{SESSION_COOKIE_NAME}")


# How long a cookie command may run; a client with a shorter request timeout passes that instead.
COMMAND_TIMEOUT_S = 10.0
# The most a cookie file or a cookie command's output may hold: a storage state with a few dozen
# cookies is a few KiB, and a source must not make the SDK read without bound (``/dev/zero``).
MAX_COOKIE_BYTES = 64 * 1024

_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 6265 token
_NEXTAUTH_ERROR = re.compile(r"[A-Za-z]{1,64}")  # NextAuth error codes, e.g. CredentialsSignin


def _looked_for() -> str:
    return " or ".join(SESSION_COOKIE_NAMES)


def normalize_cookie(value: str, *, source: str = "session_cookie") -> str:
    """A ``Cookie`` header value carrying the session cookie, from a bare value or a header.

    A bare value becomes ``next-auth.session-token=<value>``; a header that already names
    a session cookie is kept as given (trimmed). A single ``name=value`` pair with another
    name is rejected rather than wrapped, since it is almost surely the wrong cookie; a
    bare value may still end in ``=`` padding. ``source`` only labels the error.
    """
    text = value.strip()
    if not text:
        raise AuthSourceError(f"{source}: the session cookie is empty", source=source)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise AuthSourceError(
            f"{source}: the session cookie contains control characters (e.g. several lines)", source=source
        )
    pairs = [part.strip().partition("=") for part in text.split(";")]
    named = {name.strip(): val.strip() for name, sep, val in pairs if sep}
    if any(named.get(name) for name in SESSION_COOKIE_NAMES):
        return text
    name, _, rest = text.partition("=")
    # `other=value` is a pair; `abc==` or `abc=` is a bare value ending in base64 padding.
    looks_like_pair = bool(_COOKIE_NAME.fullmatch(name)) and bool(rest) and not rest.startswith("=")
    if ";" in text or looks_like_pair:
        raise AuthSourceError(
            f"{source}: the cookie header has no non-empty {_looked_for()} cookie", source=source
        )
    return f"{SESSION_COOKIE_NAME}={text}"


def parse_cookie_file(text: str, *, source: str = "AXIS_SESSION_COOKIE_FILE") -> str:
    """The session ``Cookie`` header from a cookie file: raw cookie text or a storage-state JSON.

    Text starting with ``{`` is read as a browser storage state (Playwright's
    ``{"cookies": [...], "origins": [...]}``), never as a raw cookie, because a cookie value
    never starts with ``{``: a truncated export then fails here, naming the file's source,
    instead of being sent and failing later as a confusing 401. Several session cookies
    with different values (several domains) are refused rather than guessed between.
    """
    stripped = text.strip()
    if not stripped.startswith("{"):
        return normalize_cookie(stripped, source=source)
    try:
        state: Any = json.loads(stripped)
    except json.JSONDecodeError as exc:
        # Only the position is reported: the message must not quote the file's content.
        raise AuthSourceError(
            f"{source}: the file looks like JSON but does not parse (line {exc.lineno}, column {exc.colno})",
            source=source,
        ) from None
    cookies = state.get("cookies") if isinstance(state, dict) else None
    if not isinstance(cookies, list):
        raise AuthSourceError(
            f"{source}: the JSON is not a browser storage state (no 'cookies' list)", source=source
        )
    found = {
        (cookie["name"], cookie["value"]): str(cookie.get("domain", "?"))
        for cookie in cookies
        if isinstance(cookie, dict)
        and cookie.get("name") in SESSION_COOKIE_NAMES
        and isinstance(cookie.get("value"), str)
        and cookie["value"]
    }
    if not found:
        raise AuthSourceError(
            f"{source}: the storage state holds no {_looked_for()} cookie ({len(cookies)} cookie(s) present)",
            source=source,
        )
    if len(found) > 1:
        domains = ", ".join(sorted(set(found.values())))
        raise AuthSourceError(
            f"{source}: the storage state holds {len(found)} different session cookies "
            f"(domains: {domains}); keep only the one for this Axis tenant",
            source=source,
        )
    ((name, value),) = found
    return normalize_cookie(f"{name}={value}", source=source)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    # The command runs in its own session, so killing the group also ends any children that
    # hold its pipes open (``sh -c 'sleep 60; ...'``).
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError):  # no process groups (Windows), or already gone
        proc.kill()
    proc.wait()


def _collect(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[bytes, int] | None:
    """stdout (at most ``MAX_COOKIE_BYTES`` + 1 bytes) and stderr's size; None when ``timeout_s`` passed.

    Reading ends when the command itself has exited and its output is drained, not at the pipes'
    end of file: a child that left the command's process group (``setsid``) may hold them open for
    its whole life, and nothing would end it.
    """
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    out, err_bytes = bytearray(), 0
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        selector.register(proc.stderr, selectors.EVENT_READ)
        while selector.get_map() and len(out) <= MAX_COOKIE_BYTES:
            exited = proc.poll() is not None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            # A short tick while it runs, to notice its exit; once it exited, only what is already there.
            ready = selector.select(0 if exited else min(remaining, 0.05))
            if exited and not ready:
                break
            for key, _ in ready:
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    out += chunk
                else:
                    err_bytes += len(chunk)  # counted for the message, never kept
    if len(out) > MAX_COOKIE_BYTES:
        return bytes(out), err_bytes  # the caller kills it
    try:
        proc.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:  # closed its output but runs on
        return None
    return bytes(out), err_bytes


def run_cookie_command(
    command: str, timeout_s: float = COMMAND_TIMEOUT_S, *, source: str = "AXIS_SESSION_COOKIE_COMMAND"
) -> str:
    """The session ``Cookie`` header printed on stdout by ``command`` (e.g. a keychain lookup).

    The command is split with ``shlex`` and run without a shell, so nothing in it is
    expanded or chained. It runs in its own session; at its timeout, or when it prints more
    than ``MAX_COOKIE_BYTES``, its whole process group is killed. Failures say why (exit code,
    timeout, not found) and name the executable, but never quote stdout or stderr: either may
    hold the secret. stderr is captured, not inherited, so it cannot leak into a CI log; its
    size is reported as a hint.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AuthSourceError(f"{source}: the command does not parse ({exc})", source=source) from None
    if not argv:
        raise AuthSourceError(f"{source}: the command is empty", source=source)
    exe = argv[0]
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise AuthSourceError(f"{source}: executable {exe!r} not found", source=source) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AuthSourceError(f"{source}: could not start {exe!r}: {reason}", source=source) from None
    with proc:  # closes both pipes, whoever else still holds them
        collected = _collect(proc, timeout_s)
        if collected is None or len(collected[0]) > MAX_COOKIE_BYTES:
            _kill(proc)
            too_much = f"printed more than {MAX_COOKIE_BYTES} bytes"
            why = f"timed out after {timeout_s:g} s" if collected is None else too_much
            raise AuthSourceError(f"{source}: {exe!r} {why}", source=source)
    stdout, stderr_bytes = collected
    if proc.returncode != 0:
        raise AuthSourceError(
            f"{source}: {exe!r} exited with code {proc.returncode} (stderr: {stderr_bytes} bytes, not shown)",
            source=source,
        )
    try:
        out = stdout.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise AuthSourceError(f"{source}: {exe!r} printed output that is not UTF-8", source=source) from None
    if not out:
        raise AuthSourceError(f"{source}: {exe!r} printed nothing on stdout", source=source)
    return normalize_cookie(out, source=source)


@dataclass(frozen=True, repr=False)
class AuthResolution:
    """The identity a client uses: exactly one of ``cookie`` or ``api_key``, and its source's name.

    ``source`` is what the run manifest records; the repr shows only it, so a resolution
    can be logged or land in a traceback without leaking the secret.
    """

    source: str
    cookie: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        if (self.cookie is None) == (self.api_key is None):
            raise ValueError("AuthResolution needs exactly one of cookie or api_key")

    def __repr__(self) -> str:
        return f"AuthResolution(source={self.source!r})"

    def headers(self) -> dict[str, str]:
        """The request headers that carry this identity."""
        if self.cookie is not None:
            return {"Cookie": self.cookie}
        return {"Authorization": f"Bearer {self.api_key}"}


def _given(value: str | None) -> str | None:
    # Empty and whitespace-only values count as unset: `export AXIS_SESSION_COOKIE=` is common.
    return value.strip() if value and value.strip() else None


def _not_regular(mode: int) -> str | None:
    """What a file that is not a regular file is, in a word; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def _read_cookie_file(path_text: str) -> str:
    """A cookie file's text: a regular file of at most ``MAX_COOKIE_BYTES``, else refused unread.

    A FIFO would block the read forever and ``/dev/zero`` would never end, so the type is checked
    before opening (without blocking, in case a FIFO was swapped in) and again on the open file.
    """
    source = "AXIS_SESSION_COOKIE_FILE"
    path = Path(path_text).expanduser()
    try:
        if kind := _not_regular(path.stat().st_mode):
            raise AuthSourceRefusedError(f"{source}: {path} is {kind}, not a regular file", source=source)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        with open(fd, "rb") as handle:
            if kind := _not_regular(os.fstat(fd).st_mode):
                raise AuthSourceRefusedError(f"{source}: {path} is {kind}, not a regular file", source=source)
            data = handle.read(MAX_COOKIE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise AuthSourceError(f"{source}: cannot read {path}: {reason}", source=source) from None
    if len(data) > MAX_COOKIE_BYTES:
        raise AuthSourceRefusedError(
            f"{source}: {path} is larger than {MAX_COOKIE_BYTES} bytes; a cookie file is a few KiB", source=source
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AuthSourceError(f"{source}: {path} is not UTF-8 text", source=source) from None
    return parse_cookie_file(text, source=source)


def resolve_static_auth(
    env: Mapping[str, str],
    *,
    api_key: str | None = None,
    session_cookie: str | None = None,
    command_timeout_s: float = COMMAND_TIMEOUT_S,
) -> AuthResolution | None:
    """The first configured static auth source, or ``None`` when only a bootstrap could help.

    Order: the explicit ``session_cookie`` then ``api_key`` arguments, then
    ``AXIS_SESSION_COOKIE``, ``AXIS_SESSION_TOKEN``, ``AXIS_SESSION_COOKIE_FILE``,
    ``AXIS_SESSION_COOKIE_COMMAND``, ``VELIKEY_API_KEY`` (see ``AUTH_SOURCES``). Empty
    values count as unset. A source that is configured but fails (unreadable file, failing
    command, cookie-less storage state) raises ``AuthSourceError`` at once instead of
    falling through to the next one: a release gate must not quietly run as another identity.
    ``None`` means the caller may try ``credentials_from_env`` and ``bootstrap_session``.
    """
    if cookie := _given(session_cookie):
        return AuthResolution("session_cookie", cookie=normalize_cookie(cookie))
    if key := _given(api_key):
        return AuthResolution("api_key", api_key=key)
    for name in ("AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN"):
        if value := _given(env.get(name)):
            return AuthResolution(name, cookie=normalize_cookie(value, source=name))
    if value := _given(env.get("AXIS_SESSION_COOKIE_FILE")):
        return AuthResolution("AXIS_SESSION_COOKIE_FILE", cookie=_read_cookie_file(value))
    if value := _given(env.get("AXIS_SESSION_COOKIE_COMMAND")):
        return AuthResolution(
            "AXIS_SESSION_COOKIE_COMMAND", cookie=run_cookie_command(value, command_timeout_s)
        )
    if key := _given(env.get("VELIKEY_API_KEY")):
        return AuthResolution("VELIKEY_API_KEY", api_key=key)
    return None


@dataclass(frozen=True, repr=False)
class Credentials:
    """An email and password for the credentials bootstrap; the repr never shows either."""

    email: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(source={CREDENTIALS_SOURCE!r})"


def credentials_from_env(env: Mapping[str, str]) -> Credentials | None:
    """``AXIS_AUTH_EMAIL`` + ``AXIS_AUTH_PASSWORD``, or ``None`` when neither is set.

    Only one of the two set is a configuration mistake, reported as such rather than as
    "no auth source", so the user fixes the variable they forgot.
    """
    email, password = _given(env.get("AXIS_AUTH_EMAIL")), env.get("AXIS_AUTH_PASSWORD") or None
    if email is None and password is None:
        return None
    if email is None or password is None:
        missing = "AXIS_AUTH_EMAIL" if email is None else "AXIS_AUTH_PASSWORD"
        raise AuthSourceError(f"{CREDENTIALS_SOURCE}: {missing} is not set", source=CREDENTIALS_SOURCE)
    # The password is kept verbatim: leading or trailing spaces may be part of it.
    return Credentials(email, password)


# How the bootstrap sends: a request and the cookie header to send with it, to the final answer.
Send = Callable[[RequestSpec, str | None], Awaitable[Exchange]]
_CSRF = RequestSpec("GET", "/api/auth/csrf", auth_required=False)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _status_error(exchange: Exchange, what: str) -> APIStatusError:
    return status_error(exchange, f"credentials bootstrap: {what} answered {exchange.status}")


def _mismatch(exchange: Exchange, message: str) -> AuthSchemaMismatchError:
    error = AuthSchemaMismatchError(message, status=exchange.status, request_id=exchange.request_id)
    error.attempts = exchange.attempts
    return error


def _cookies_set(exchange: Exchange) -> httpx.Cookies:
    """The cookies an answer sets, as a cookie jar accepts them for the request's URL."""
    request = httpx.Request(exchange.request.method, exchange.request.url)
    return httpx.Response(exchange.status, headers=exchange.headers, request=request).cookies


def _signin_error(exchange: Exchange) -> str | None:
    """NextAuth's ``error`` code when a sign-in was refused: it answers 200/302, not 401.

    The code sits in the redirect target (``Location``, or ``url`` in the ``json=true``
    answer); only a plain code such as ``CredentialsSignin`` is returned, nothing else of the URL.
    """
    target = exchange.headers.get("Location")
    if target is None:
        try:
            body: Any = json.loads(exchange.body)
        except (ValueError, RecursionError):
            return None
        target = body.get("url") if isinstance(body, dict) else None
    if not isinstance(target, str):
        return None
    codes = parse_qs(urlsplit(target).query).get("error", [])
    if not codes:
        return None
    return codes[0] if _NEXTAUTH_ERROR.fullmatch(codes[0]) else "unrecognised"


async def bootstrap_session(send: Send, *, email: str, password: str) -> str:
    """Mint a session with the credentials flow and return its ``Cookie`` header value.

    ``GET /api/auth/csrf`` then ``POST /api/auth/callback/credentials``, both through ``send``
    (the client's one sender: byte budget, identity encoding, retries, transport errors
    mapped), carrying NextAuth's csrf cookie from the first answer to the second request.
    Redirects are not followed: a 200 or a redirect is the success shape, and it must set
    the session cookie. A shape this SDK does not know is ``AuthSchemaMismatchError``
    (``axis_auth_schema_mismatch``); refused credentials are ``AuthenticationError``, 403
    ``ForbiddenError``, and other error statuses their ``error_for_status`` class, so a 503
    is not misreported as a stale deployment. No error quotes a body or the password.
    """
    csrf = await send(_CSRF, None)
    if csrf.status in (401, 403, 429) or csrf.status >= 500:
        raise _status_error(csrf, "GET /api/auth/csrf")
    if csrf.status != 200:
        raise _mismatch(csrf, f"credentials bootstrap: GET /api/auth/csrf answered {csrf.status}, expected 200")
    try:
        body: Any = json.loads(csrf.body)
    except (ValueError, RecursionError):
        body = None
    token = body.get("csrfToken") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise _mismatch(
            csrf,
            "credentials bootstrap: GET /api/auth/csrf did not answer a JSON object "
            "with a non-empty string field 'csrfToken'",
        )

    form = (("csrfToken", token), ("email", email), ("password", password), ("json", "true"))
    sent_back = "; ".join(f"{cookie.name}={cookie.value}" for cookie in _cookies_set(csrf).jar)
    callback = await send(
        RequestSpec("POST", "/api/auth/callback/credentials", form=form, auth_required=False), sent_back or None
    )
    what = "POST /api/auth/callback/credentials"
    if callback.status >= 400:
        raise _status_error(callback, what)
    if callback.status != 200 and not (callback.status in _REDIRECTS and "location" in callback.headers):
        raise _mismatch(
            callback, f"credentials bootstrap: {what} answered {callback.status}, expected 200 or a redirect"
        )
    for cookie in _cookies_set(callback).jar:
        if cookie.name in SESSION_COOKIE_NAMES and cookie.value:
            return f"{cookie.name}={cookie.value}"
    if code := _signin_error(callback):
        error = AuthenticationError(
            f"credentials bootstrap: sign-in refused ({code})", status=callback.status, request_id=callback.request_id
        )
        error.attempts = callback.attempts
        raise error
    raise _mismatch(
        callback,
        f"credentials bootstrap: {what} answered {callback.status} without setting the {_looked_for()} cookie",
    )
