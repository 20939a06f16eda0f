"""Auth sources: cookie normalisation, cookie files, cookie commands, resolution order, bootstrap."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from velikey import RetryPolicy
from velikey._auth import (
    AUTH_SOURCES,
    SESSION_COOKIE_NAME,
    AuthResolution,
    Credentials,
    bootstrap_session,
    credentials_from_env,
    normalize_cookie,
    parse_cookie_file,
    resolve_static_auth,
    run_cookie_command,
)
from velikey._client import Core
from velikey.exceptions import (
    AuthenticationError,
    AuthSchemaMismatchError,
    AuthSourceError,
    ForbiddenError,
    InvalidResponseError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
    VeliKeyError,
)

SECURE_NAME = f"__Secure-{SESSION_COOKIE_NAME}"


def py_command(code: str, *args: str) -> str:
    """A command line running ``code`` in this interpreter, quoted for shlex."""
    return shlex.join([sys.executable, "-c", code, *args])


def storage_state(*cookies: tuple[str, str, str]) -> str:
    return json.dumps(
        {
            "cookies": [
                {"name": n, "value": v, "domain": d, "path": "/", "expires": -1, "httpOnly": True}
                for n, v, d in cookies
            ],
            "origins": [{"origin": "https://axis.test", "localStorage": []}],
        }
    )


# --- normalize_cookie -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("abc.def.ghi", f"{SESSION_COOKIE_NAME}=abc.def.ghi"),
        ("  abc  \n", f"{SESSION_COOKIE_NAME}=abc"),
        ("abc==", f"{SESSION_COOKIE_NAME}=abc=="),  # base64 padding is a bare value, not a pair
        (f"{SESSION_COOKIE_NAME}=tok", f"{SESSION_COOKIE_NAME}=tok"),
        (f" a=b; {SESSION_COOKIE_NAME}=tok; c=d ", f"a=b; {SESSION_COOKIE_NAME}=tok; c=d"),
        (f"{SECURE_NAME}=tok", f"{SECURE_NAME}=tok"),
    ],
)
def test_normalize_cookie(given: str, expected: str) -> None:
    assert normalize_cookie(given) == expected


@pytest.mark.parametrize(
    "given",
    ["", "   \n", "other=value", f"a=b; {SESSION_COOKIE_NAME}=", "a=b; c=d", "line1\nline2"],
)
def test_normalize_cookie_rejects(given: str) -> None:
    with pytest.raises(AuthSourceError) as info:
        normalize_cookie(given, source="AXIS_SESSION_COOKIE")
    assert info.value.source == "AXIS_SESSION_COOKIE"


# --- parse_cookie_file ------------------------------------------------------------------------


def test_cookie_file_raw_text() -> None:
    assert parse_cookie_file("tok\n") == f"{SESSION_COOKIE_NAME}=tok"
    assert parse_cookie_file(f"x=1; {SESSION_COOKIE_NAME}=tok\n") == f"x=1; {SESSION_COOKIE_NAME}=tok"


def test_cookie_file_storage_state_picks_the_session_cookie() -> None:
    text = storage_state(
        ("next-auth.csrf-token", "csrf", "axis.test"),
        (SESSION_COOKIE_NAME, "sess", "axis.test"),
        ("next-auth.callback-url", "https%3A%2F%2Faxis.test", "axis.test"),
    )
    assert parse_cookie_file(text) == f"{SESSION_COOKIE_NAME}=sess"


def test_cookie_file_storage_state_secure_variant() -> None:
    text = storage_state(("other", "x", "axis.test"), (SECURE_NAME, "sess", "axis.test"))
    assert parse_cookie_file(text) == f"{SECURE_NAME}=sess"


def test_cookie_file_storage_state_same_cookie_twice_is_fine() -> None:
    text = storage_state((SESSION_COOKIE_NAME, "sess", "a.test"), (SESSION_COOKIE_NAME, "sess", "b.test"))
    assert parse_cookie_file(text) == f"{SESSION_COOKIE_NAME}=sess"


def test_cookie_file_storage_state_without_session_cookie() -> None:
    text = storage_state(("next-auth.csrf-token", "csrf", "axis.test"))
    with pytest.raises(AuthSourceError) as info:
        parse_cookie_file(text)
    assert info.value.source == "AXIS_SESSION_COOKIE_FILE"
    assert SESSION_COOKIE_NAME in str(info.value) and SECURE_NAME in str(info.value)


def test_cookie_file_storage_state_ambiguous() -> None:
    text = storage_state((SESSION_COOKIE_NAME, "one", "a.test"), (SESSION_COOKIE_NAME, "two", "b.test"))
    with pytest.raises(AuthSourceError, match=r"a\.test, b\.test"):
        parse_cookie_file(text)


@pytest.mark.parametrize(
    "text",
    ['{"cookies": [', "{not json at all}", '{"origins": []}', '{"cookies": {"name": "x"}}'],
)
def test_cookie_file_json_looking_garbage_is_an_error_not_a_cookie(text: str) -> None:
    # A value never starts with "{": a broken export must fail here, not as a 401 later.
    with pytest.raises(AuthSourceError) as info:
        parse_cookie_file(text)
    assert info.value.source == "AXIS_SESSION_COOKIE_FILE"


# --- run_cookie_command -----------------------------------------------------------------------


def test_cookie_command_prints_a_token() -> None:
    assert run_cookie_command(py_command("print('tok-123')")) == f"{SESSION_COOKIE_NAME}=tok-123"


def test_cookie_command_prints_a_header() -> None:
    cmd = py_command(f"print('{SECURE_NAME}=tok')")
    assert run_cookie_command(cmd) == f"{SECURE_NAME}=tok"


def test_cookie_command_failing() -> None:
    with pytest.raises(AuthSourceError, match="exited with code 3") as info:
        run_cookie_command(py_command("import sys; sys.exit(3)"))
    assert info.value.source == "AXIS_SESSION_COOKIE_COMMAND"


def test_cookie_command_empty_output() -> None:
    with pytest.raises(AuthSourceError, match="printed nothing"):
        run_cookie_command(py_command("print('   ')"))


def test_cookie_command_times_out_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(AuthSourceError, match=r"timed out after 0\.3 s"):
        run_cookie_command(py_command("import time; time.sleep(30)"), timeout_s=0.3)
    assert time.monotonic() - started < 2


def test_cookie_command_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The helper spawns a grandchild that inherits stdout: killing only the helper would leave
    # it running (and reading the pipe would wait for it). The grandchild must die too.
    marker = tmp_path / "grandchild-survived"
    grandchild = f"import time, pathlib; time.sleep(0.8); pathlib.Path({str(marker)!r}).touch()"
    code = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    started = time.monotonic()
    with pytest.raises(AuthSourceError, match="timed out"):
        run_cookie_command(py_command(code), timeout_s=0.3)
    assert time.monotonic() - started < 0.8
    time.sleep(1.0)
    assert not marker.exists()


def test_cookie_command_missing_executable() -> None:
    with pytest.raises(AuthSourceError, match="'no-such-cookie-helper-xyz' not found"):
        run_cookie_command("no-such-cookie-helper-xyz --get")


@pytest.mark.parametrize("command", ["", "   ", "'unterminated"])
def test_cookie_command_unusable(command: str) -> None:
    with pytest.raises(AuthSourceError):
        run_cookie_command(command)


def test_cookie_command_has_no_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    literal = [f"$(touch {marker})", ";", "touch", str(marker), "`id`", "&&", "$HOME"]
    code = f"import sys; print('tok-ok' if sys.argv[1:] == {literal!r} else 'tok-BAD')"
    command = py_command(code) + f" '$(touch {marker})' ';' touch {marker} '`id`' '&&' '$HOME'"
    assert run_cookie_command(command) == f"{SESSION_COOKIE_NAME}=tok-ok"
    assert not marker.exists()


# --- resolve_static_auth ----------------------------------------------------------------------


@pytest.fixture
def cookie_file(tmp_path: Path) -> Path:
    path = tmp_path / "storage.json"
    path.write_text(storage_state((SESSION_COOKIE_NAME, "from-file", "axis.test")), encoding="utf-8")
    return path


@pytest.fixture
def full_env(cookie_file: Path) -> dict[str, str]:
    return {
        "AXIS_SESSION_COOKIE": "from-cookie",
        "AXIS_SESSION_TOKEN": "from-token",
        "AXIS_SESSION_COOKIE_FILE": str(cookie_file),
        "AXIS_SESSION_COOKIE_COMMAND": py_command("print('from-command')"),
        "VELIKEY_API_KEY": "from-key",
        "AXIS_AUTH_EMAIL": "owner@example.com",
        "AXIS_AUTH_PASSWORD": "pw",
    }


EXPECTED = {
    "AXIS_SESSION_COOKIE": f"{SESSION_COOKIE_NAME}=from-cookie",
    "AXIS_SESSION_TOKEN": f"{SESSION_COOKIE_NAME}=from-token",
    "AXIS_SESSION_COOKIE_FILE": f"{SESSION_COOKIE_NAME}=from-file",
    "AXIS_SESSION_COOKIE_COMMAND": f"{SESSION_COOKIE_NAME}=from-command",
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_cookie_source_alone(name: str, full_env: dict[str, str]) -> None:
    resolved = resolve_static_auth({name: full_env[name]})
    assert resolved is not None
    assert (resolved.source, resolved.cookie, resolved.api_key) == (name, EXPECTED[name], None)
    assert resolved.headers() == {"Cookie": EXPECTED[name]}


def test_api_key_alone() -> None:
    resolved = resolve_static_auth({"VELIKEY_API_KEY": " key "})
    assert resolved is not None
    assert (resolved.source, resolved.cookie, resolved.api_key) == ("VELIKEY_API_KEY", None, "key")
    assert resolved.headers() == {"Authorization": "Bearer key"}


def test_precedence_follows_the_seed_order(full_env: dict[str, str]) -> None:
    env = dict(full_env)
    seen = []
    static = [name for name in AUTH_SOURCES if "+" not in name]  # pairs are the client's: OAuth, bootstrap
    for name in static:
        resolved = resolve_static_auth(env)
        assert resolved is not None
        seen.append(resolved.source)
        del env[name]
    assert seen == static
    assert resolve_static_auth(env) is None  # only credentials left: the caller bootstraps


def test_explicit_arguments_win(full_env: dict[str, str]) -> None:
    both = resolve_static_auth(full_env, api_key="arg-key", session_cookie="arg-cookie")
    assert both is not None and (both.source, both.cookie) == ("session_cookie", f"{SESSION_COOKIE_NAME}=arg-cookie")
    key = resolve_static_auth(full_env, api_key="arg-key")
    assert key is not None and (key.source, key.api_key) == ("api_key", "arg-key")


def test_empty_values_count_as_unset(cookie_file: Path) -> None:
    env = {
        "AXIS_SESSION_COOKIE": "",
        "AXIS_SESSION_TOKEN": "  ",
        "AXIS_SESSION_COOKIE_FILE": "",
        "AXIS_SESSION_COOKIE_COMMAND": "",
        "VELIKEY_API_KEY": "",
    }
    assert resolve_static_auth(env, api_key="", session_cookie=" ") is None
    resolved = resolve_static_auth({**env, "AXIS_SESSION_COOKIE_FILE": str(cookie_file)})
    assert resolved is not None and resolved.source == "AXIS_SESSION_COOKIE_FILE"


def test_a_failing_source_raises_instead_of_falling_through(tmp_path: Path) -> None:
    env = {"AXIS_SESSION_COOKIE_FILE": str(tmp_path / "missing.json"), "VELIKEY_API_KEY": "key"}
    with pytest.raises(AuthSourceError, match="cannot read") as info:
        resolve_static_auth(env)
    assert info.value.source == "AXIS_SESSION_COOKIE_FILE"
    env = {"AXIS_SESSION_COOKIE_COMMAND": py_command("import sys; sys.exit(1)"), "VELIKEY_API_KEY": "key"}
    with pytest.raises(AuthSourceError) as info:
        resolve_static_auth(env)
    assert info.value.source == "AXIS_SESSION_COOKIE_COMMAND"


def test_cookie_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cookie.bin"
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(AuthSourceError, match="not UTF-8"):
        resolve_static_auth({"AXIS_SESSION_COOKIE_FILE": str(path)})


def test_auth_resolution_needs_exactly_one_secret() -> None:
    with pytest.raises(ValueError):
        AuthResolution("x")
    with pytest.raises(ValueError):
        AuthResolution("x", cookie="c", api_key="k")


def test_credentials_from_env() -> None:
    assert credentials_from_env({}) is None
    assert credentials_from_env({"AXIS_AUTH_EMAIL": "", "AXIS_AUTH_PASSWORD": ""}) is None
    creds = credentials_from_env({"AXIS_AUTH_EMAIL": "a@b.test", "AXIS_AUTH_PASSWORD": " pw "})
    assert creds == Credentials("a@b.test", " pw ")
    with pytest.raises(AuthSourceError, match="AXIS_AUTH_PASSWORD is not set"):
        credentials_from_env({"AXIS_AUTH_EMAIL": "a@b.test"})
    with pytest.raises(AuthSourceError, match="AXIS_AUTH_EMAIL is not set"):
        credentials_from_env({"AXIS_AUTH_PASSWORD": "pw"})


# --- bootstrap_session ------------------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def csrf_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, json={"csrfToken": "csrf-1"}, headers={"Set-Cookie": "next-auth.csrf-token=csrf-1%7Chash; Path=/"}
    )


def session_redirect(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        302,
        headers=[
            ("Location", "https://axis.test/dashboard"),
            ("Set-Cookie", "next-auth.callback-url=https%3A%2F%2Faxis.test; Path=/"),
            ("Set-Cookie", f"{SESSION_COOKIE_NAME}=sess-1; Path=/; HttpOnly; SameSite=Lax"),
        ],
    )


class FakeAxis:
    """A MockTransport double for the two credentials endpoints that records what it saw."""

    def __init__(self, csrf: Handler = csrf_ok, callback: Handler = session_redirect) -> None:
        self.routes = {"/api/auth/csrf": csrf, "/api/auth/callback/credentials": callback}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get(request.url.path)
        return handler(request) if handler else httpx.Response(404, json={"error": "not found"})

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def bootstrap(
    axis: FakeAxis,
    *,
    email: str = "owner@example.com",
    password: str = "pw",
    slept: list[float] | None = None,
    max_response_bytes: int = 1024 * 1024,
) -> str:
    """Bootstrap through a client core's one sender, as ``AegisClient`` does, with waits recorded."""

    async def sleep(seconds: float) -> None:
        (slept if slept is not None else []).append(seconds)

    async def go() -> str:
        core = Core(
            base_url="https://axis.test",
            retry_policy=RetryPolicy(max_retries=2),
            transport=httpx.MockTransport(axis),
            sleep=sleep,
            env={},
            max_response_bytes=max_response_bytes,
        )
        try:
            return await bootstrap_session(core.send_unauthenticated, email=email, password=password)
        finally:
            await core.aclose()

    return asyncio.run(go())


def test_bootstrap_current_shape() -> None:
    axis = FakeAxis()
    assert bootstrap(axis, password="p&w=1") == f"{SESSION_COOKIE_NAME}=sess-1"
    assert axis.paths() == ["GET /api/auth/csrf", "POST /api/auth/callback/credentials"]  # no redirect followed
    callback = axis.requests[1]
    form = parse_qs(callback.content.decode())
    assert form == {"csrfToken": ["csrf-1"], "email": ["owner@example.com"], "password": ["p&w=1"], "json": ["true"]}
    assert "next-auth.csrf-token=csrf-1%7Chash" in callback.headers["Cookie"]  # the csrf cookie goes back
    for sent in axis.requests:  # the headers every request of the client carries
        assert sent.headers["Accept-Encoding"] == "identity" and sent.headers["Accept"] == "application/json"
        assert sent.headers["X-Request-Id"]
    assert "cookie" not in axis.requests[0].headers


def test_bootstrap_json_answer_with_secure_cookie() -> None:
    def callback(request: httpx.Request) -> httpx.Response:
        cookie = f"{SECURE_NAME}=sess-2; Path=/; Secure; HttpOnly"
        return httpx.Response(200, json={"url": "https://axis.test/"}, headers={"Set-Cookie": cookie})

    assert bootstrap(FakeAxis(callback=callback)) == f"{SECURE_NAME}=sess-2"


@pytest.mark.parametrize(
    "csrf",
    [
        lambda r: httpx.Response(200, json={"token": "csrf-1"}),  # the stale shape
        lambda r: httpx.Response(200, text="<html>sign in</html>"),
        lambda r: httpx.Response(200, json={"csrfToken": 42}),
        lambda r: httpx.Response(200, json=["csrf-1"]),
        lambda r: httpx.Response(404, text="not here"),
        lambda r: httpx.Response(302, headers={"Location": "/login"}),
    ],
    ids=["stale-token-field", "not-json", "not-a-string", "not-an-object", "404", "redirect"],
)
def test_bootstrap_csrf_shape_mismatch(csrf: Handler) -> None:
    axis = FakeAxis(csrf=csrf)
    with pytest.raises(AuthSchemaMismatchError, match="csrf"):
        bootstrap(axis)
    assert axis.paths() == ["GET /api/auth/csrf"]


def test_bootstrap_csrf_server_error_is_not_a_schema_mismatch() -> None:
    axis = FakeAxis(csrf=lambda r: httpx.Response(503))
    with pytest.raises(ServerError) as info:
        bootstrap(axis)
    assert info.value.status == 503
    assert info.value.attempts == 3 and len(axis.requests) == 3, "retried like any other GET"


def test_bootstrap_503_then_200_is_retried_like_any_request() -> None:
    answers = iter([httpx.Response(503), None])

    def flaky(request: httpx.Request) -> httpx.Response:
        return next(answers) or csrf_ok(request)

    axis, slept = FakeAxis(csrf=flaky), []
    assert bootstrap(axis, slept=slept) == f"{SESSION_COOKIE_NAME}=sess-1"
    assert axis.paths() == ["GET /api/auth/csrf", "GET /api/auth/csrf", "POST /api/auth/callback/credentials"]
    assert len(slept) == 1 and 0 <= slept[0] <= 0.5  # the policy's first backoff
    assert axis.requests[0].headers["X-Request-Id"] == axis.requests[1].headers["X-Request-Id"]


def test_bootstrap_429_honours_retry_after_and_reports_it() -> None:
    axis, slept = FakeAxis(csrf=lambda r: httpx.Response(429, headers={"Retry-After": "4"})), []
    with pytest.raises(RateLimitError) as info:
        bootstrap(axis, slept=slept)
    assert slept == [4.0, 4.0] and info.value.retry_after == 4.0 and info.value.attempts == 3


def test_bootstrap_sign_in_post_is_not_replayed() -> None:
    # It carries no idempotency key, so like every such POST it is sent once.
    axis = FakeAxis(callback=lambda r: httpx.Response(503))
    with pytest.raises(ServerError) as info:
        bootstrap(axis)
    assert info.value.attempts == 1 and axis.paths().count("POST /api/auth/callback/credentials") == 1


@pytest.mark.parametrize("route", ["csrf", "callback"])
def test_bootstrap_answer_over_the_byte_budget_is_an_invalid_response(route: str) -> None:
    huge: Handler = lambda r: httpx.Response(200, json={"csrfToken": "c", "pad": "x" * 5000})  # noqa: E731
    axis = FakeAxis(csrf=huge) if route == "csrf" else FakeAxis(callback=huge)
    with pytest.raises(InvalidResponseError, match="exceeds 1024 bytes"):
        bootstrap(axis, max_response_bytes=1024)


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, ForbiddenError), (422, ValidationError), (500, ServerError)],
)
def test_bootstrap_callback_error_status(status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        bootstrap(FakeAxis(callback=lambda r: httpx.Response(status, json={"error": "no"})))
    assert getattr(info.value, "status", None) == status


def test_bootstrap_callback_without_session_cookie_is_a_schema_mismatch() -> None:
    with pytest.raises(AuthSchemaMismatchError, match=SESSION_COOKIE_NAME):
        bootstrap(FakeAxis(callback=lambda r: httpx.Response(200, json={"ok": True})))


def test_bootstrap_callback_unexpected_status_is_a_schema_mismatch() -> None:
    with pytest.raises(AuthSchemaMismatchError, match="204"):
        bootstrap(FakeAxis(callback=lambda r: httpx.Response(204)))


@pytest.mark.parametrize(
    "callback",
    [
        lambda r: httpx.Response(302, headers={"Location": "/api/auth/error?error=CredentialsSignin"}),
        lambda r: httpx.Response(200, json={"url": "https://axis.test/api/auth/signin?error=CredentialsSignin"}),
    ],
    ids=["redirect", "json"],
)
def test_bootstrap_refused_sign_in_is_an_authentication_error(callback: Handler) -> None:
    # NextAuth answers a wrong password with a redirect to its error page, not with 401.
    with pytest.raises(AuthenticationError, match="CredentialsSignin"):
        bootstrap(FakeAxis(callback=callback))


def test_bootstrap_transport_errors_are_retried_then_typed() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    axis = FakeAxis(csrf=down)
    with pytest.raises(TransportError) as info:
        bootstrap(axis)
    assert info.value.attempts == 3 and len(axis.requests) == 3
    assert "GET /api/auth/csrf" in str(info.value)


# --- secrets never leak -----------------------------------------------------------------------

CANARY = "CANARY-7f3a9c"


def leaked(exc: BaseException) -> bool:
    rendered = [str(exc), repr(exc), "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    return any(CANARY in text for text in rendered)


def failures() -> Iterator[Any]:
    c = CANARY
    password = f"{c}-password"

    def case(name: str, fail: Callable[[], object]) -> Any:
        return pytest.param(fail, id=name)

    yield case("cookie-other-pair", lambda: normalize_cookie(f"other={c}-cookie"))
    yield case("cookie-header-without-session", lambda: normalize_cookie(f"a={c}; b={c}"))
    yield case("cookie-multiline", lambda: normalize_cookie(f"{c}\n{c}"))
    yield case("file-no-session", lambda: parse_cookie_file(storage_state(("other", f"{c}-file", "axis.test"))))
    two = storage_state((SESSION_COOKIE_NAME, f"{c}-1", "a.test"), (SESSION_COOKIE_NAME, f"{c}-2", "b.test"))
    yield case("file-ambiguous", lambda: parse_cookie_file(two))
    yield case("file-broken-json", lambda: parse_cookie_file('{"cookies": [{"name": "' + c + '", oops'))
    yield case("file-not-storage-state", lambda: parse_cookie_file('{"' + c + '": 1}'))
    noisy = f"import sys; print('{c}-out'); print('{c}-err', file=sys.stderr); sys.exit(2)"
    yield case("command-exit", lambda: run_cookie_command(py_command(noisy)))
    yield case("command-multiline", lambda: run_cookie_command(py_command(f"print('{c}-a'); print('{c}-b')")))
    slow = f"import time; print('{c}-out', flush=True); time.sleep(30)"
    yield case("command-timeout", lambda: run_cookie_command(py_command(slow), timeout_s=0.3))
    yield case("env-token-pair", lambda: resolve_static_auth({"AXIS_SESSION_TOKEN": f"x={c}"}))
    yield case("credentials-half", lambda: credentials_from_env({"AXIS_AUTH_PASSWORD": password}))

    def refused(request: httpx.Request) -> httpx.Response:
        target = f"/api/auth/error?error=CredentialsSignin&callbackUrl={c}"
        return httpx.Response(302, headers={"Location": target, "X-Echo": c})

    def odd_code(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"url": f"/api/auth/error?error={c}-/x"})

    callbacks: dict[str, Handler] = {
        "401": lambda r: httpx.Response(401, json={"error": c, "password": password}),
        "403": lambda r: httpx.Response(403, text=c),
        "500": lambda r: httpx.Response(500, text=c),
        "no-cookie": lambda r: httpx.Response(200, json={"ok": True, "echo": c}),
        "refused": refused,
        "odd-error-code": odd_code,
    }
    csrfs: dict[str, Handler] = {
        "stale": lambda r: httpx.Response(200, json={"token": c}),
        "html": lambda r: httpx.Response(200, text=f"<p>{c}</p>"),
    }

    def run(axis: FakeAxis) -> Callable[[], object]:
        return lambda: bootstrap(axis, password=password)

    for name, callback in callbacks.items():
        yield case(f"callback-{name}", run(FakeAxis(callback=callback)))
    for name, csrf in csrfs.items():
        yield case(f"csrf-{name}", run(FakeAxis(csrf=csrf)))


@pytest.mark.parametrize("fail", list(failures()))
def test_no_secret_in_any_error(fail: Callable[[], object]) -> None:
    with pytest.raises(VeliKeyError) as info:
        fail()
    assert not leaked(info.value), str(info.value)


def test_no_secret_in_reprs(tmp_path: Path) -> None:
    path = tmp_path / "cookie.txt"
    path.write_text(f"{CANARY}-file\n", encoding="utf-8")
    env = {
        "AXIS_SESSION_COOKIE": f"{CANARY}-cookie",
        "AXIS_SESSION_TOKEN": f"{CANARY}-token",
        "AXIS_SESSION_COOKIE_FILE": str(path),
        "AXIS_SESSION_COOKIE_COMMAND": py_command(f"print('{CANARY}-command')"),
        "VELIKEY_API_KEY": f"{CANARY}-key",
    }
    resolutions = [resolve_static_auth({name: value}) for name, value in env.items()]
    resolutions.append(resolve_static_auth({}, session_cookie=f"{CANARY}-arg"))
    resolutions.append(resolve_static_auth({}, api_key=f"{CANARY}-arg"))
    for resolved in resolutions:
        assert resolved is not None
        assert CANARY in (resolved.cookie or resolved.api_key or "")  # the secret is there...
        assert CANARY not in repr(resolved) and CANARY not in str(resolved)  # ...but never shown
    creds = Credentials("owner@example.com", f"{CANARY}-password")
    assert CANARY not in repr(creds) and CANARY not in str(creds)
