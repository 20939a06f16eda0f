"""Retries, timeouts and exactly-once effects against real faults on a real socket.

The reference server injects each fault below the HTTP layer where it matters (a dropped
answer is a closed connection, a hang holds the socket), and ``/__ref/state`` says what it
really saw, so these tests count requests and effects instead of trusting the client's word.
Backoffs are injected small wherever waiting is not what is tested.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from velikey import AegisClient, RetryPolicy
from velikey import exceptions as exc
from velikey.testing import Fault, ReferenceServer

StartServer = Callable[..., ReferenceServer]


def client_for(server: ReferenceServer, **kwargs: Any) -> AegisClient:
    return AegisClient(session_cookie=server.session_cookie, base_url=server.base_url, **kwargs)


def test_503_twice_then_success(start_server: StartServer, fast_retry: Callable[..., RetryPolicy]) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", times=2, status=503),))

    async def scenario() -> float:
        async with client_for(server, retry_policy=fast_retry()) as client:
            usage = await client.billing.get_usage()
            return float(usage["usage"]["telemetryDataGB"])

    assert asyncio.run(scenario()) == 12.5
    state = server.state()
    assert state["requests"]["GET /api/usage/summary"] == 3
    assert state["faults_injected"]["GET /api/usage/summary"] == 2


def test_429_retry_after_is_waited_for(start_server: StartServer) -> None:
    server = start_server(faults=(Fault("GET /api/policies", times=1, status=429, retry_after="1"),))
    # Fast backoff, so the wait measured can only come from the server's Retry-After.
    policy = RetryPolicy(max_retries=2, initial_backoff_s=0.01, max_backoff_s=0.05)

    async def scenario() -> tuple[int, float]:
        async with client_for(server, retry_policy=policy) as client:
            started = time.monotonic()
            policies = await client.policies.list()
            return len(policies), time.monotonic() - started

    count, elapsed = asyncio.run(scenario())
    assert count == 2
    assert 1.0 <= elapsed < 5.0
    assert server.state()["requests"]["GET /api/policies"] == 2


def test_permanent_500_is_a_server_error_after_max_retries(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("GET /api/alerts", status=500),))
    max_retries = 2

    async def scenario() -> None:
        async with client_for(server, retry_policy=fast_retry(max_retries)) as client:
            await client.monitoring.get_active_alerts()

    with pytest.raises(exc.ServerError) as caught:
        asyncio.run(scenario())
    assert caught.value.status == 500
    assert caught.value.attempts == max_retries + 1
    assert server.state()["requests"]["GET /api/alerts"] == max_retries + 1


def test_dropped_apply_is_retried_under_one_key_and_applied_once(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("POST /api/rollouts/apply", times=1, action="drop"),))

    async def scenario() -> dict[str, Any]:
        async with client_for(server, retry_policy=fast_retry()) as client:
            plan = await client.rollouts.plan(server.first_active_policy_id, dry_run=False)
            return await client.rollouts.apply(plan["data"]["plan_id"], dry_run=False, idempotency_key="apply-key-1")

    applied = asyncio.run(scenario())
    assert applied["data"]["applied"] is True and applied["data"]["rollbackToken"].startswith("rbk-")
    state = server.state()
    assert state["requests"]["POST /api/rollouts/apply"] == 2
    assert state["faults_injected"]["POST /api/rollouts/apply"] == 1
    # The first attempt took effect on the server before its answer was lost: the retry replayed it.
    assert state["effects"]["apply"] == {"apply-key-1": {"effects": 1, "replays": 1}}


def test_dropped_apply_without_an_explicit_key_still_applies_once(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("POST /api/rollouts/apply", times=2, action="drop"),))

    async def scenario() -> None:
        async with client_for(server, retry_policy=fast_retry()) as client:
            plan = await client.rollouts.plan(server.first_active_policy_id, dry_run=False)
            await client.rollouts.apply(plan["data"]["plan_id"], dry_run=False)

    asyncio.run(scenario())
    effects = server.state()["effects"]["apply"]
    assert [(entry["effects"], entry["replays"]) for entry in effects.values()] == [(1, 2)]


def test_dropped_probe_is_retried_and_metered_once(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("POST /ingest", times=1, action="drop"),))
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def scenario() -> tuple[bool, int, float]:
        async with client_for(server, retry_policy=fast_retry()) as client:
            probe = await client.probe_payload(server.payload_url, payload, idempotency_key="probe-key-1")
            usage = await client.billing.get_usage()
            return probe.matched, probe.exchange.attempts, usage["usage"]["telemetryDataGB"]

    matched, attempts, gb = asyncio.run(scenario())
    assert matched and attempts == 2
    state = server.state()
    assert state["ingested_bytes"] == len(payload)
    assert state["effects"]["ingest"] == {"probe-key-1": {"effects": 1, "replays": 1}}
    assert gb == (25 * 1024**3 // 2 + len(payload)) / 1024**3, "metered once, not twice"


def test_malformed_answer_is_an_invalid_response_error(start_server: StartServer) -> None:
    server = start_server(faults=(Fault("GET /api/policies", times=1, action="malformed"),))

    async def scenario() -> None:
        async with client_for(server) as client:
            await client.policies.list()

    with pytest.raises(exc.InvalidResponseError) as caught:
        asyncio.run(scenario())
    assert not isinstance(caught.value, json.JSONDecodeError)
    assert caught.value.status == 200
    assert "expected a JSON body from GET /api/policies" in str(caught.value)


def test_hang_is_a_timeout_within_the_configured_timeout(start_server: StartServer) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", action="hang"),))

    async def scenario() -> None:
        async with client_for(server, timeout=0.5, max_retries=0) as client:
            await client.billing.get_usage()

    started = time.monotonic()
    with pytest.raises(exc.TimeoutError) as caught:
        asyncio.run(scenario())
    assert time.monotonic() - started < 3.0
    assert isinstance(caught.value, exc.TransportError)
    assert caught.value.attempts == 1


def test_one_hang_then_success_is_retried(start_server: StartServer, fast_retry: Callable[..., RetryPolicy]) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", times=1, action="hang"),))

    async def scenario() -> int:
        async with client_for(server, timeout=0.5, retry_policy=fast_retry(1)) as client:
            return int((await client.billing.get_usage())["usage"]["agents"])

    assert asyncio.run(scenario()) == 3
    assert server.state()["requests"]["GET /api/usage/summary"] == 2


def test_slow_503_within_the_timeout_is_retried_not_a_timeout(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", times=1, status=503, delay_s=0.3),))

    async def scenario() -> tuple[str, int]:
        async with client_for(server, timeout=2.0, retry_policy=fast_retry(1)) as client:
            result = await client.call("get_health")
            return result.result["status"], result.exchanges[0].attempts

    assert asyncio.run(scenario()) == ("ok", 2)
    assert server.state()["requests"]["GET /api/healthz"] == 2


def test_connection_refused_is_a_transport_error_after_retries(
    start_server: StartServer, fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server()
    base_url, cookie = server.base_url, server.session_cookie
    server.stop()

    async def scenario() -> None:
        async with AegisClient(session_cookie=cookie, base_url=base_url, retry_policy=fast_retry(2)) as client:
            await client.policies.list()

    with pytest.raises(exc.TransportError) as caught:
        asyncio.run(scenario())
    assert not isinstance(caught.value, exc.TimeoutError)
    assert caught.value.attempts == 3
