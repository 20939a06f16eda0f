
"""The escape hatch `request`/`get`/`post`: any route, authenticated, retried and error-mapped like a typed call."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import httpx
import pytest

from velikey import AegisClient, AegisClientSync, RetryPolicy
from velikey import exceptions as exc
from velikey.testing import Fault, ReferenceServer

SECRET = "escape-cookie-5b1e"


@pytest.fixture
def live_server(start_server: Callable[..., ReferenceServer]) -> ReferenceServer:
    """A fresh server: these tests move metered usage or make effects, which the shared one must not see."""
    return start_server()


class Script:
    """A MockTransport handler answering from a script (the last answer repeats) and recording requests."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def client_for(script: Script, **kwargs: object) -> AegisClient:
    async def no_sleep(seconds: float) -> None:
        pass

    ids = iter(f"id-{n}" for n in range(100))
    return AegisClient(session_cookie=SECRET, base_url="http://axis.test", transport=httpx.MockTransport(script),
                       sleep=no_sleep, id_source=lambda purpose: next(ids), **kwargs)  # type: ignore[arg-type]


def test_get_sends_auth_ids_and_query_and_returns_the_exchange() -> None:
    script = Script(httpx.Response(200, json={"plans": [1, 2]}))
    answer = asyncio.run(client_for(script).get("api/plans", params={"active": True, "limit": 5, "q": "a b"}))
    assert answer.status == 200 and answer.json() == {"plans": [1, 2]}
    sent = script.requests[0]
    assert str(sent.url) == "http://axis.test/api/plans?active=true&limit=5&q=a+b"
    assert sent.headers["cookie"] == f"next-auth.session-token={SECRET}"
    assert sent.headers["x-request-id"] == "id-0"
    assert "idempotency-key" not in sent.headers


def test_post_keeps_one_idempotency_key_across_retries() -> None:
    script = Script(httpx.Response(503), httpx.Response(200, json={"ok": True}))
    answer = asyncio.run(client_for(script).post("/api/things", json={"n": 1}))
    assert answer.attempts == 2
    first, second = script.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "id-0"
    assert json.loads(second.content) == {"n": 1} and second.headers["content-type"] == "application/json"


def test_a_caller_key_and_request_id_are_used_as_given() -> None:
    script = Script(httpx.Response(200, json={}))
    asyncio.run(client_for(script).request("put", "/api/x", json=[1], idempotency_key="my-key", request_id="rid"))
    sent = script.requests[0]
    assert (sent.method, sent.headers["idempotency-key"], sent.headers["x-request-id"]) == ("PUT", "my-key", "rid")


def test_error_statuses_map_to_typed_errors_with_status_code_and_code() -> None:
    script = Script(httpx.Response(404, json={"error": "plan_not_found", "detail": "no such plan"}))
    with pytest.raises(exc.NotFoundError) as caught:
        asyncio.run(client_for(script).get("/api/rollouts/nope"))
    assert (caught.value.status_code, caught.value.code) == (404, "plan_not_found")


def test_an_unretried_post_without_a_key_is_impossible() -> None:
    # Every mutating request carries a key, so a 503 on POST is retried rather than given up at once.
    script = Script(httpx.Response(503))
    with pytest.raises(exc.ServerError):
        asyncio.run(client_for(script, retry_policy=RetryPolicy(max_retries=2)).post("/api/x"))
    assert len(script.requests) == 3


@pytest.mark.parametrize("path", ["http://evil.test/api", "//evil.test/api", "/api?x=1"])
def test_absolute_urls_and_queries_in_the_path_are_refused(path: str) -> None:
    script = Script(httpx.Response(200, json={}))
    with pytest.raises(ValueError):
        asyncio.run(client_for(script).get(path))
    assert script.requests == []


def test_the_sync_client_has_the_escape_hatch_too() -> None:
    script = Script(httpx.Response(200, json={"ok": 1}))
    with AegisClientSync(session_cookie=SECRET, base_url="http://axis.test",
                         transport=httpx.MockTransport(script)) as client:
        assert client.post("/api/x", json={}).json() == {"ok": 1}
    assert script.requests[0].headers["idempotency-key"]


def test_live_escape_hatch_reads_and_writes(live_server: ReferenceServer) -> None:
    with AegisClientSync(session_cookie=live_server.session_cookie, base_url=live_server.base_url) as client:
        policies = client.get("/api/policies", params={"active_only": False}).json()["policies"]
        assert len(policies) == 3
        ingested = client.post("/api/telemetry/ingest", json=[{"event": "escape-hatch"}], idempotency_key="eh-1")
        replayed = client.post("/api/telemetry/ingest", json=[{"event": "escape-hatch"}], idempotency_key="eh-1")
        assert ingested.status == 200 and replayed.headers.get("idempotent-replayed") == "true"
        with pytest.raises(exc.NotFoundError) as caught:
            client.get("/api/no-such-route")
        assert caught.value.status_code == 404


def test_live_escape_hatch_is_retried_and_unauthenticated_is_typed(start_server, fast_retry) -> None:  # noqa: ANN001
    server = start_server(faults=(Fault("GET /api/usage/summary", times=1, status=503),))
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url,
                         retry_policy=fast_retry()) as client:
        assert client.get("/api/usage/summary").attempts == 2
    with AegisClientSync(session_cookie="wrong", base_url=server.base_url) as client:
        with pytest.raises(exc.AuthenticationError) as caught:
            client.get("/api/policies")
        assert (caught.value.status_code, caught.value.code) == (401, "unauthorized")
