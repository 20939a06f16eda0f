
"""Client conveniences: `status_code`/`code` on errors, `aclose()`, an injected httpx client, `AXIS_BASE_URL`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from velikey import AegisClient, AegisClientSync
from velikey import exceptions as exc
from velikey.testing import ReferenceServer


@pytest.fixture
def live_server(start_server: Callable[..., ReferenceServer]) -> ReferenceServer:
    """A fresh server: these tests move metered usage or make effects, which the shared one must not see."""
    return start_server()


def answering(response: httpx.Response, seen: list[httpx.Request] | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return response

    return httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"error": "invalid_client"}', "invalid_client"),
        (b'{"code": "E_RATE", "detail": "slow down"}', "E_RATE"),
        (b'{"error": {"nested": 1}, "code": "fallback"}', "fallback"),
        (b'{"error": "free text with spaces, maybe a secret"}', None),
        (b'{"detail": "no code"}', None),
        (b"<html>oops</html>", None),
        (b"[1, 2]", None),
    ],
)
def test_error_code_is_the_servers_short_code_or_none(body: bytes, code: str | None) -> None:
    transport = answering(httpx.Response(429, content=body, headers={"Retry-After": "2"}))
    client = AegisClient(api_key="k-123456", base_url="http://axis.test", transport=transport, max_retries=0)
    with pytest.raises(exc.RateLimitError) as caught:
        asyncio.run(client.policies.list())
    assert (caught.value.status_code, caught.value.status, caught.value.code) == (429, 429, code)
    assert caught.value.retry_after == 2


def test_aclose_closes_the_clients_own_pool() -> None:
    client = AegisClient(api_key="k-123456", base_url="http://axis.test", transport=answering(httpx.Response(200)))

    async def use() -> None:
        async with client:
            pass
        await client.aclose()  # twice is fine

    asyncio.run(use())
    assert client._core._http.is_closed


def test_an_injected_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    async def use() -> httpx.AsyncClient:
        http = httpx.AsyncClient(transport=answering(httpx.Response(200, json={"policies": []}), seen))
        async with AegisClient(api_key="k-123456", base_url="http://axis.test", http_client=http) as client:
            assert await client.policies.list() == []
        assert not http.is_closed, "the SDK closed a client it does not own"
        await http.aclose()
        return http

    asyncio.run(use())
    assert seen[0].headers["authorization"] == "Bearer k-123456"
    assert str(seen[0].url).startswith("http://axis.test/api/policies")


def test_transport_and_http_client_together_are_refused() -> None:
    async def build() -> None:
        async with httpx.AsyncClient() as http:
            with pytest.raises(ValueError, match="not both"):
                AegisClient(api_key="k", http_client=http, transport=answering(httpx.Response(200)))

    asyncio.run(build())


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        (None, {"AXIS_BASE_URL": "http://from-env.test/"}, "http://from-env.test"),
        ("http://explicit.test", {"AXIS_BASE_URL": "http://from-env.test"}, "http://explicit.test"),
        (None, {"AXIS_BASE_URL": "  "}, "https://axis.velikey.com"),
        (None, {}, "https://axis.velikey.com"),
    ],
)
def test_base_url_is_explicit_then_axis_base_url_then_the_default(
    given: str | None, env: dict[str, str], expected: str
) -> None:
    client = AegisClient(api_key="k", base_url=given, env=env)
    assert client.base_url == expected
    asyncio.run(client.close())


def test_axis_base_url_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXIS_BASE_URL", "http://process-env.test")
    with AegisClientSync(api_key="k") as client:
        assert client.base_url == "http://process-env.test"


def test_live_defaults_and_injection(live_server: ReferenceServer) -> None:
    env = {"AXIS_BASE_URL": live_server.base_url, "AXIS_SESSION_COOKIE": live_server.session_cookie}

    async def use() -> None:
        async with httpx.AsyncClient() as http:
            client = AegisClient(env=env, http_client=http)
            assert (await client.get_health())["status"] == "ok"
            with pytest.raises(exc.NotFoundError) as caught:
                await client.rollouts.apply("plan-that-does-not-exist", dry_run=True)
            assert caught.value.status_code == 404 and caught.value.code is not None
            await client.aclose()
            assert not http.is_closed

    asyncio.run(use())
