"""Every auth source end to end: env → client → a real request the reference server accepts.

The unit tests (``test_auth.py``) cover parsing and precedence with fakes; these prove that
what each source produces is what a real server takes, over a real socket, and that each
failure is the typed error a user can act on. The environment is always passed with
``env=``; ``os.environ`` is never touched.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from velikey import AegisClient
from velikey import exceptions as exc
from velikey.testing import Fault, ReferenceServer

CREDENTIALS = "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"


def python_command(code: str) -> str:
    """An ``AXIS_SESSION_COOKIE_COMMAND`` running ``code`` in this interpreter (split with shlex, no shell)."""
    return shlex.join([sys.executable, "-c", code])


async def list_policies(server: ReferenceServer, env: Mapping[str, str], **kwargs: object) -> tuple[int, str | None]:
    async with AegisClient(base_url=server.base_url, env=env, **kwargs) as client:  # type: ignore[arg-type]
        policies = await client.policies.list(active_only=True)
        return len(policies), client.auth_source


def storage_state(server: ReferenceServer, session_value: str) -> str:
    """A Playwright ``storageState`` export as a browser session leaves it: several cookies, origins."""
    host = server.base_url.removeprefix("http://").split(":")[0]
    cookie = {"domain": host, "path": "/", "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}
    return json.dumps(
        {
            "cookies": [
                {**cookie, "name": "next-auth.csrf-token", "value": "csrf%7Cabc"},
                {**cookie, "name": "next-auth.session-token", "value": session_value},
                {**cookie, "name": "next-auth.callback-url", "value": "http%3A%2F%2Flocalhost"},
            ],
            "origins": [{"origin": server.base_url, "localStorage": []}],
        },
        indent=2,
    )


def test_session_cookie_bare_value(shared_server: ReferenceServer) -> None:
    env = {"AXIS_SESSION_COOKIE": shared_server.config.session_token}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_COOKIE")


def test_session_cookie_full_header_among_other_cookies(shared_server: ReferenceServer) -> None:
    env = {"AXIS_SESSION_COOKIE": f"theme=dark; {shared_server.session_cookie}; next-auth.callback-url=%2F"}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_COOKIE")


def test_session_token(shared_server: ReferenceServer) -> None:
    env = {"AXIS_SESSION_TOKEN": shared_server.config.session_token}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_TOKEN")


def test_cookie_file_raw_text(shared_server: ReferenceServer, tmp_path: Path) -> None:
    path = tmp_path / "axis.cookie"
    path.write_text(shared_server.session_cookie + "\n", encoding="utf-8")
    env = {"AXIS_SESSION_COOKIE_FILE": str(path)}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_COOKIE_FILE")


def test_cookie_file_playwright_storage_state(shared_server: ReferenceServer, tmp_path: Path) -> None:
    path = tmp_path / "axis.owner.velikey.storage.json"
    path.write_text(storage_state(shared_server, shared_server.config.session_token), encoding="utf-8")
    env = {"AXIS_SESSION_COOKIE_FILE": str(path)}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_COOKIE_FILE")


def test_cookie_command_printing_the_cookie(shared_server: ReferenceServer) -> None:
    env = {"AXIS_SESSION_COOKIE_COMMAND": python_command(f"print({shared_server.config.session_token!r})")}
    assert asyncio.run(list_policies(shared_server, env)) == (2, "AXIS_SESSION_COOKIE_COMMAND")


def test_cookie_command_failing_is_a_source_error_before_any_request(shared_server: ReferenceServer) -> None:
    before = shared_server.state()["requests"].get("GET /api/policies", 0)
    env = {"AXIS_SESSION_COOKIE_COMMAND": python_command("import sys; sys.exit(3)")}
    with pytest.raises(exc.AuthSourceError) as caught:
        asyncio.run(list_policies(shared_server, env))
    assert caught.value.source == "AXIS_SESSION_COOKIE_COMMAND"
    assert "exited with code 3" in str(caught.value)
    assert shared_server.state()["requests"].get("GET /api/policies", 0) == before


def test_slow_cookie_command_is_bounded_by_the_client_timeout(shared_server: ReferenceServer) -> None:
    env = {"AXIS_SESSION_COOKIE_COMMAND": python_command("import time; time.sleep(30); print('late')")}
    started = time.monotonic()
    with pytest.raises(exc.AuthSourceError) as caught:
        asyncio.run(list_policies(shared_server, env, timeout=0.5))
    assert time.monotonic() - started < 3.0
    assert caught.value.source == "AXIS_SESSION_COOKIE_COMMAND"
    assert "timed out" in str(caught.value)


def test_api_key_env_is_sent_as_bearer(shared_server: ReferenceServer) -> None:
    async def scenario() -> tuple[int, str | None, bool]:
        env = {"VELIKEY_API_KEY": shared_server.config.api_key}
        async with AegisClient(base_url=shared_server.base_url, env=env) as c:
            return len(await c.policies.list()), c.auth_source, c.uses_api_key

    assert asyncio.run(scenario()) == (2, "VELIKEY_API_KEY", True)


def test_api_key_argument(shared_server: ReferenceServer) -> None:
    assert asyncio.run(list_policies(shared_server, {}, api_key=shared_server.config.api_key)) == (2, "api_key")


def test_credentials_bootstrap_mints_a_session(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(email="release@example.com", password="correct horse battery staple")
    env = {"AXIS_AUTH_EMAIL": "release@example.com", "AXIS_AUTH_PASSWORD": "correct horse battery staple"}

    async def scenario() -> tuple[str, int, int]:
        async with AegisClient(base_url=server.base_url, env=env) as client:
            source = await client.resolve_auth()
            first = len(await client.policies.list())
            usage = await client.billing.get_usage()  # the minted session keeps working
            return source, first, usage["usage"]["agents"]

    assert asyncio.run(scenario()) == (CREDENTIALS, 2, 3)
    requests = server.state()["requests"]
    assert requests["GET /api/auth/csrf"] == 1
    assert requests["POST /api/auth/callback/credentials"] == 1


def test_credentials_bootstrap_survives_a_503_like_any_request(start_server: Callable[..., ReferenceServer]) -> None:
    # The bootstrap sends through the client's one sender, so its GET is retried by the same policy.
    server = start_server(faults=(Fault("GET /api/auth/csrf", times=1, status=503),))
    env = {"AXIS_AUTH_EMAIL": server.config.email, "AXIS_AUTH_PASSWORD": server.config.password}
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert asyncio.run(list_policies(server, env, sleep=sleep)) == (2, CREDENTIALS)
    requests = server.state()["requests"]
    assert (requests["GET /api/auth/csrf"], requests["POST /api/auth/callback/credentials"]) == (2, 1)
    assert len(slept) == 1


def test_concurrent_first_calls_bootstrap_once(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    env = {"AXIS_AUTH_EMAIL": server.config.email, "AXIS_AUTH_PASSWORD": server.config.password}

    async def scenario() -> list[int]:
        async with AegisClient(base_url=server.base_url, env=env) as client:
            results = await asyncio.gather(*(client.policies.list() for _ in range(5)))
            assert client.auth_source == CREDENTIALS
            return [len(policies) for policies in results]

    assert asyncio.run(scenario()) == [2] * 5
    assert server.state()["requests"]["POST /api/auth/callback/credentials"] == 1


def test_credentials_bootstrap_wrong_password(shared_server: ReferenceServer) -> None:
    env = {"AXIS_AUTH_EMAIL": shared_server.config.email, "AXIS_AUTH_PASSWORD": "not-the-password"}
    with pytest.raises(exc.AuthenticationError) as caught:
        asyncio.run(list_policies(shared_server, env))
    assert caught.value.status == 401
    assert "credentials bootstrap" in str(caught.value)


def test_credentials_bootstrap_against_a_stale_auth_schema(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(auth_schema="stale")
    env = {"AXIS_AUTH_EMAIL": server.config.email, "AXIS_AUTH_PASSWORD": server.config.password}
    with pytest.raises(exc.AuthSchemaMismatchError) as caught:
        asyncio.run(list_policies(server, env))
    assert "csrfToken" in str(caught.value)
    assert "GET /api/policies" not in server.state()["requests"], "nothing is sent without a session"


def test_wrong_session_cookie_is_an_authentication_error(shared_server: ReferenceServer) -> None:
    with pytest.raises(exc.AuthenticationError) as caught:
        asyncio.run(list_policies(shared_server, {"AXIS_SESSION_COOKIE": "expired-session"}))
    assert caught.value.status == 401
    assert caught.value.attempts == 1, "a 401 is not retried"


def test_no_source_is_auth_missing_but_health_needs_none(shared_server: ReferenceServer) -> None:
    async def scenario() -> dict[str, object]:
        async with AegisClient(base_url=shared_server.base_url, env={}) as client:
            health = await client.get_health()
            with pytest.raises(exc.AuthMissingError):
                await client.policies.list()
            return health

    assert asyncio.run(scenario())["status"] == "ok"
