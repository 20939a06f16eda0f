"""The blocking client against a live server: same operations, and nothing left running after close().

``AegisClientSync`` drives the async client on a private event loop; these tests check it
over a real socket, including a host name (whose lookup runs on the loop's default
executor thread), and that ``close()`` leaves no thread, loop or socket behind (unclosed
resources would surface as ``ResourceWarning``, an error in this suite).
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable

import pytest

from velikey import AegisClientSync, RetryPolicy
from velikey import exceptions as exc
from velikey.testing import Fault, ReferenceServer


def thread_names() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_sync_client_operations_and_a_clean_close(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()  # its own: the probe below is metered, which the shared server must not be
    before = thread_names()
    base_url = server.base_url.replace("127.0.0.1", "localhost")  # a name to resolve, on the executor
    with AegisClientSync(session_cookie=server.session_cookie, base_url=base_url) as client:
        assert client.get_health()["status"] == "ok"
        assert len(client.policies.list(active_only=True)) == 2
        assert client.billing.get_usage(period="current")["usage"]["telemetryDataGB"] == 12.5
        assert client.monitoring.get_health_score().overall_score == 100
        plan = client.rollouts.plan(server.first_active_policy_id, dry_run=True, explain=True)
        applied = client.rollouts.apply(plan["data"]["plan_id"], dry_run=True)
        assert applied["success"] is True and applied["data"]["applied"] is False
        probe = client.probe_payload(server.payload_url, b"sync probe")
        assert probe.matched and probe.bytes_sent == 10
        assert client.auth_source == "session_cookie"
        assert repr(client).startswith("AegisClientSync(")
        loop = client._loop
    assert loop.is_closed()
    gc.collect()
    assert thread_names() == before, "close() left a thread running"


def test_sync_client_bootstraps_and_retries(
    start_server: Callable[..., ReferenceServer], fast_retry: Callable[..., RetryPolicy]
) -> None:
    server = start_server(faults=(Fault("GET /api/policies", times=2, status=503),))
    env = {"AXIS_AUTH_EMAIL": server.config.email, "AXIS_AUTH_PASSWORD": server.config.password}
    with AegisClientSync(base_url=server.base_url, env=env, retry_policy=fast_retry()) as client:
        assert len(client.policies.list()) == 2
        assert client.auth_source == "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"
    assert server.state()["requests"]["GET /api/policies"] == 3


def test_sync_client_raises_typed_errors(shared_server: ReferenceServer) -> None:
    with AegisClientSync(session_cookie="wrong-session", base_url=shared_server.base_url) as client:
        with pytest.raises(exc.AuthenticationError):
            client.policies.list()
        assert client.get_health()["status"] == "ok", "the client stays usable after an error"


def test_close_is_idempotent_and_a_closed_client_says_so(shared_server: ReferenceServer) -> None:
    client = AegisClientSync(session_cookie=shared_server.session_cookie, base_url=shared_server.base_url)
    assert client.get_health()["status"] == "ok"
    client.close()
    client.close()
    with pytest.raises(RuntimeError, match="closed"):
        client.get_health()  # no "coroutine was never awaited" warning either: that would fail this suite


def test_a_failing_constructor_leaves_no_event_loop_behind() -> None:
    with pytest.raises(TypeError):
        AegisClientSync(not_an_option=True)
    gc.collect()  # an unclosed loop would raise ResourceWarning here


def test_sync_client_inside_a_running_loop_is_a_clear_error(shared_server: ReferenceServer) -> None:
    client = AegisClientSync(session_cookie=shared_server.session_cookie, base_url=shared_server.base_url)

    async def misuse() -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            client.get_health()
        with pytest.raises(RuntimeError, match="running event loop"):
            client.close()

    try:
        asyncio.run(misuse())
        assert client.get_health()["status"] == "ok", "still usable outside the loop"
    finally:
        client.close()
