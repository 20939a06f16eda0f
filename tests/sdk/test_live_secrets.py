"""Secret canaries: no cookie, token, password, API key, file content or command output escapes.

Each case fails in a different way against a live server, with unique canary values for
every secret it holds. Everything a user or a CI log could end up showing is collected:
the exception's ``str``/``repr``, its full formatted traceback (causes included), the repr
of the exchange it carries, the client's repr, stdout/stderr, and every log record of the
SDK and of its HTTP stack (``velikey``, ``httpx`` and ``httpcore`` at DEBUG, where httpcore
logs raw response headers). No canary may appear, plain, URL-encoded or base64-encoded.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import shlex
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from velikey import AegisClient, RetryPolicy
from velikey import exceptions as exc
from velikey.testing import Fault, ReferenceServer, ServerConfig

# One distinct value per secret, so a leak names its source. Each is a valid token for the server config.
CANARIES = {
    "cookie_arg": "cnry-cookie-arg-4be1d0a7",
    "cookie_env": "cnry-cookie-env-90c3f2e5",
    "session_token_env": "cnry-session-token-6a7d11c4",
    "file_content": "cnry-file-content-e3b08d52",
    "storage_state_content": "cnry-storage-state-1f9ac6b0",
    "command_stdout": "cnry-command-stdout-7d2e4f19",
    "command_stderr": "cnry-command-stderr-c85b3a61",
    "command_wrong_cookie": "cnry-command-cookie-2ae9b7d3",
    "api_key_arg": "cnry-api-key-arg-5c0e8f14",
    "api_key_env": "cnry-api-key-env-b6d4a290",
    "password_wrong": "cnry-password-wrong-83f1c5ad",
    "password_alone": "cnry-password-alone-0d6b9e27",
    "cookie_control_chars": "cnry-cookie-ctrl-f4a2c719",
    "cookie_other_name": "cnry-cookie-other-name-61e8d0b3",
    # The live servers' own secrets: used successfully, then something else fails.
    "server_session_token": "cnry-server-session-token-a9c2e6f0",
    "server_api_key": "cnry-server-api-key-3e7b5d81",
    "server_password": "cnry-server-password-c1f0a4b8",
    "stale_server_session_token": "cnry-stale-session-token-57d9e2c3",
    "stale_server_password": "cnry-stale-password-e0b6a1f5",
}
EMAIL = "owner@example.com"


def _b64_forms(secret: bytes) -> set[str]:
    """Base64 substrings that any encoding containing ``secret`` holds, whatever its alignment."""
    forms = set()
    for start in range(3):
        aligned = secret[start:]
        aligned = aligned[: len(aligned) // 3 * 3]
        forms.add(base64.b64encode(aligned).decode())
        forms.add(base64.urlsafe_b64encode(aligned).decode())
    return forms


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote_plus(secret), *_b64_forms(secret.encode())}


FORMS = {(name, form) for name, secret in CANARIES.items() for form in _forms(secret)}


def leaks(text: str) -> list[str]:
    return sorted({name for name, form in FORMS if form in text})


def python_command(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


@pytest.fixture(scope="module")
def canary_server() -> Iterator[ReferenceServer]:
    """A server whose credentials are canaries; faults on routes the auth cases never call."""
    config = ServerConfig(
        session_token=CANARIES["server_session_token"],
        api_key=CANARIES["server_api_key"],
        email=EMAIL,
        password=CANARIES["server_password"],
        faults=(
            Fault("GET /api/alerts", status=500),
            Fault("GET /api/usage/summary", action="hang"),
            Fault("POST /api/telemetry/ingest", action="drop"),
            Fault("POST /api/rollouts/plan", action="malformed"),
        ),
    )
    with ReferenceServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def stale_server() -> Iterator[ReferenceServer]:
    config = ServerConfig(
        session_token=CANARIES["stale_server_session_token"],
        email=EMAIL,
        password=CANARIES["stale_server_password"],
        auth_schema="stale",
    )
    with ReferenceServer(config) as server:
        yield server


@dataclass(frozen=True)
class Case:
    """One way to fail: how the client is built, what it calls, which typed error it must raise."""

    error: type[exc.VeliKeyError]
    env: dict[str, str] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    call: Callable[[AegisClient], Awaitable[Any]] = lambda client: client.policies.list()
    server: str = "canary"
    files: dict[str, str] = field(default_factory=dict)  # env name -> file content


FAST = RetryPolicy(max_retries=1, initial_backoff_s=0.01, max_backoff_s=0.02)
C = CANARIES
CASES = {
    "wrong-cookie-argument": Case(exc.AuthenticationError, kwargs={"session_cookie": C["cookie_arg"]}),
    "wrong-cookie-env-header": Case(
        exc.AuthenticationError, env={"AXIS_SESSION_COOKIE": f"a=b; next-auth.session-token={C['cookie_env']}"}
    ),
    "wrong-session-token-env": Case(exc.AuthenticationError, env={"AXIS_SESSION_TOKEN": C["session_token_env"]}),
    "wrong-cookie-file": Case(exc.AuthenticationError, files={"AXIS_SESSION_COOKIE_FILE": C["file_content"] + "\n"}),
    "truncated-storage-state": Case(
        exc.AuthSourceError,
        files={
            "AXIS_SESSION_COOKIE_FILE": '{"cookies": [{"name": "next-auth.session-token", "value": "'
            + C["storage_state_content"]
            + '", "domain": "axis"'
        },
    ),
    "failing-cookie-command": Case(
        exc.AuthSourceError,
        env={
            "AXIS_SESSION_COOKIE_COMMAND": python_command(
                f"import sys; print({C['command_stdout']!r}); sys.stderr.write({C['command_stderr']!r}); sys.exit(1)"
            )
        },
    ),
    "cookie-command-prints-a-wrong-cookie": Case(
        exc.AuthenticationError,
        env={"AXIS_SESSION_COOKIE_COMMAND": python_command(f"print({C['command_wrong_cookie']!r})")},
    ),
    "wrong-api-key-argument": Case(exc.AuthenticationError, kwargs={"api_key": C["api_key_arg"]}),
    "wrong-api-key-env": Case(exc.AuthenticationError, env={"VELIKEY_API_KEY": C["api_key_env"]}),
    "wrong-password": Case(
        exc.AuthenticationError, env={"AXIS_AUTH_EMAIL": EMAIL, "AXIS_AUTH_PASSWORD": C["password_wrong"]}
    ),
    "password-without-email": Case(exc.AuthSourceError, env={"AXIS_AUTH_PASSWORD": C["password_alone"]}),
    "stale-auth-schema": Case(
        exc.AuthSchemaMismatchError,
        env={"AXIS_AUTH_EMAIL": EMAIL, "AXIS_AUTH_PASSWORD": C["stale_server_password"]},
        server="stale",
    ),
    "cookie-with-control-characters": Case(
        exc.AuthSourceError, env={"AXIS_SESSION_COOKIE": f"{C['cookie_control_chars']}\nsecond-line"}
    ),
    "cookie-pair-with-another-name": Case(
        exc.AuthSourceError, env={"AXIS_SESSION_COOKIE": f"sid={C['cookie_other_name']}"}
    ),
    "bootstrap-then-server-error": Case(
        exc.ServerError,
        env={"AXIS_AUTH_EMAIL": EMAIL, "AXIS_AUTH_PASSWORD": C["server_password"]},
        kwargs={"retry_policy": FAST},
        call=lambda client: client.monitoring.get_active_alerts(),
    ),
    "api-key-then-timeout": Case(
        exc.TimeoutError,
        kwargs={"api_key": C["server_api_key"], "timeout": 0.3, "max_retries": 0},
        call=lambda client: client.billing.get_usage(),
    ),
    "cookie-then-dropped-connection": Case(
        exc.TransportError,
        kwargs={"session_cookie": C["server_session_token"], "retry_policy": FAST},
        call=lambda client: client.telemetry.ingest({"events": [{"kind": "probe"}]}),
    ),
    "cookie-then-malformed-answer": Case(
        exc.InvalidResponseError,
        kwargs={"session_cookie": C["server_session_token"]},
        call=lambda client: client.rollouts.plan("pol-x", dry_run=True),
    ),
}


def _texts_of(error: BaseException, client: AegisClient) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error)), repr(client)]
    exchange = getattr(error, "exchange", None)
    if exchange is not None:
        texts += [repr(exchange), repr(exchange.request)]
    return texts


@pytest.mark.parametrize("name", list(CASES))
def test_no_canary_escapes(
    name: str,
    canary_server: ReferenceServer,
    stale_server: ReferenceServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = CASES[name]
    server = stale_server if case.server == "stale" else canary_server
    env = dict(case.env)
    for variable, content in case.files.items():
        path = tmp_path / f"{variable.lower()}.txt"
        path.write_text(content, encoding="utf-8")
        env[variable] = str(path)
    for logger in ("velikey", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=logger)

    async def scenario() -> list[str]:
        async with AegisClient(base_url=server.base_url, env=env, **case.kwargs) as client:
            with pytest.raises(case.error) as caught:
                await case.call(client)
            return _texts_of(caught.value, client)

    texts = asyncio.run(scenario())
    records = [r for r in caplog.records if r.name.split(".")[0] in ("velikey", "httpx", "httpcore")]
    if case.error is not exc.AuthSourceError:  # a source error stops before any request
        assert records, "the HTTP stack logged nothing: the log check would be vacuous"
    texts += [caplog.text] + [f"{r.getMessage()} {r.args!r}" for r in records]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    assert leaks("\n".join(texts)) == []


def test_the_canary_check_detects_each_encoding() -> None:
    secret = CANARIES["password_wrong"]
    for text in (
        f"password={secret}",
        quote(f"p={secret}!", safe=""),
        base64.b64encode(f"owner:{secret}".encode()).decode(),
        base64.b64encode(f"xy{secret}".encode()).decode(),
    ):
        assert leaks(text) == ["password_wrong"], text


def test_httpcore_trace_records_lose_credential_header_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="httpcore")
    secret = CANARIES["server_session_token"]
    # The shape of httpcore's trace line, with both quote styles a bytes repr can take.
    logging.getLogger("httpcore.http11").debug(
        "receive_response_headers.complete return_value=(b'HTTP/1.1', 200, b'OK', [(b'Set-Cookie', b'sid=%s; Path=/'), "
        "(b\"authorization\", b\"Bearer it's-%s\"), (b'x-request-id', b'r-1')])",
        secret,
        secret,
    )
    (record,) = caplog.records
    assert leaks(record.getMessage()) == []
    assert "(b'x-request-id', b'r-1')" in record.getMessage(), "other headers stay readable"
