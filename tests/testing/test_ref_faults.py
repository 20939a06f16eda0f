"""Fault injection as a client meets it: statuses, closed connections, garbage, silence, lies."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import Fault, ReferenceServer

Start = Callable[..., ReferenceServer]


def _client(server: ReferenceServer, **kwargs: Any) -> httpx.Client:
    return client_for(server, headers=BEARER, **kwargs)


def test_respond_answers_the_status_retry_after_and_body(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", times=1, status=503, retry_after="1"),))
    with _client(server) as http:
        faulted = http.get("/api/usage/summary", params={"period": "current"})
        passed = http.get("/api/usage/summary", params={"period": "current"})
    assert faulted.status_code == 503
    assert faulted.headers["retry-after"] == "1"
    assert faulted.json() == {"error": "injected_fault", "status": 503}
    assert passed.status_code == 200
    state = server.state()
    assert state["requests"] == {"GET /api/usage/summary": 2}
    assert state["faults_injected"] == {"GET /api/usage/summary": 1}


def test_respond_has_no_retry_after_unless_given_and_skips_the_effect(start_server: Start) -> None:
    server = start_server(faults=(Fault("POST /ingest", status=429),))
    with _client(server) as http:
        response = http.post("/ingest", content=b"x" * 100_000, headers={"Idempotency-Key": "k"})
    assert response.status_code == 429
    assert "retry-after" not in response.headers
    assert server.state()["ingested_bytes"] == 0


def test_after_and_times_open_a_window(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", after=1, times=2, status=500),))
    with _client(server) as http:
        statuses = [http.get("/api/healthz").status_code for _ in range(5)]
    assert statuses == [200, 500, 500, 200, 200]
    assert server.state()["faults_injected"] == {"GET /api/healthz": 2}


def test_times_omitted_faults_every_later_request(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", after=2, status=502),))
    with _client(server) as http:
        assert [http.get("/api/healthz").status_code for _ in range(4)] == [200, 200, 502, 502]


def test_rules_on_one_route_stage_a_sequence(start_server: Start) -> None:
    faults = (Fault("GET /api/healthz", times=2, status=503), Fault("GET /api/healthz", after=2, times=1, status=429))
    server = start_server(faults=faults)
    with _client(server) as http:
        assert [http.get("/api/healthz").status_code for _ in range(4)] == [503, 503, 429, 200]


def test_rules_match_method_and_path_but_not_the_query(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/alerts", status=500),))
    with _client(server) as http:
        assert http.get("/api/alerts", params={"resolved": "false", "limit": "3"}).status_code == 500
        assert http.post("/api/alerts").status_code == 405
        assert http.get("/api/policies").status_code == 200


def test_drop_is_a_transport_error_not_a_status(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/policies", times=1, action="drop"),))
    with _client(server) as http:
        with pytest.raises(httpx.TransportError) as caught:
            http.get("/api/policies")
        assert isinstance(caught.value, httpx.RemoteProtocolError)
        assert http.get("/api/policies").status_code == 200
    assert server.state()["faults_injected"] == {"GET /api/policies": 1}


def test_dropped_post_took_effect_and_a_retry_replays_it(start_server: Start) -> None:
    server = start_server(faults=(Fault("POST /api/rollouts/apply", times=1, action="drop"),))
    with _client(server) as http:
        policy = http.get("/api/policies", params={"active_only": "true"}).json()["policies"][0]["id"]
        plan = http.post("/api/rollouts/plan", json={"policyId": policy, "canaryPercent": 5, "stabilizationWindowS": 0})
        body = {"planId": plan.json()["data"]["plan_id"], "idempotencyKey": "apply-1", "dryRun": False}
        with pytest.raises(httpx.TransportError):
            http.post("/api/rollouts/apply", json=body, headers={"Idempotency-Key": "apply-1"})
        assert server.state()["effects"]["apply"] == {"apply-1": {"effects": 1, "replays": 0}}
        retried = http.post("/api/rollouts/apply", json=body, headers={"Idempotency-Key": "apply-1"})
    assert retried.status_code == 200 and retried.json()["data"]["applied"] is True
    assert server.state()["effects"]["apply"] == {"apply-1": {"effects": 1, "replays": 1}}


def test_dropped_payload_was_metered(start_server: Start) -> None:
    server = start_server(faults=(Fault("POST /ingest", times=1, action="drop"),))
    with _client(server) as http:
        with pytest.raises(httpx.TransportError):
            http.post("/ingest", content=b"p" * 2048, headers={"Idempotency-Key": "probe"})
        replay = http.post("/ingest", content=b"p" * 2048, headers={"Idempotency-Key": "probe"})
    assert replay.json()["bytes"] == 2048
    assert server.state()["ingested_bytes"] == 2048


def test_malformed_is_200_and_not_json(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", action="malformed"),))
    with _client(server) as http:
        response = http.get("/api/usage/summary")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_corrupt_echo_reports_altered_bytes_but_meters_the_real_ones(start_server: Start) -> None:
    server = start_server(faults=(Fault("POST /ingest", times=2, action="corrupt"),))
    body = b"exact bytes"
    with _client(server) as http:
        echo = http.post("/ingest", content=body).json()
        empty = http.post("/ingest", content=b"").json()
        honest = http.post("/ingest", content=body).json()
    altered = bytes([body[0] ^ 0xFF]) + body[1:]
    assert echo == {"sha256": hashlib.sha256(altered).hexdigest(), "bytes": len(body)}
    assert empty == {"sha256": hashlib.sha256(b"\x00").hexdigest(), "bytes": 1}
    assert honest == {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}
    assert server.state()["ingested_bytes"] == 2 * len(body)


def test_corrupt_elsewhere_is_200_json_with_altered_content(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", times=1, action="corrupt"),))
    with _client(server) as http:
        corrupted = http.get("/api/usage/summary").json()
        real = http.get("/api/usage/summary").json()
    assert corrupted != real
    assert corrupted["usage"]["agents"] == real["usage"]["agents"] + 1
    assert set(corrupted) == set(real)


def test_hang_never_answers_until_the_client_gives_up(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", times=1, action="hang"),))
    with _client(server) as http:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            http.get("/api/healthz", timeout=0.3)
        assert time.monotonic() - started < 2
        assert http.get("/api/healthz").status_code == 200
    assert server.state()["faults_injected"] == {"GET /api/healthz": 1}


def test_delay_comes_before_the_action(start_server: Start) -> None:
    server = start_server(faults=(Fault("GET /api/healthz", times=1, delay_s=0.2, status=503),))
    with _client(server) as http:
        started = time.monotonic()
        assert http.get("/api/healthz").status_code == 503
        assert time.monotonic() - started >= 0.2


def test_unknown_routes_are_counted_and_state_is_not(start_server: Start) -> None:
    server = start_server()
    with _client(server) as http:
        http.get("/api/healthz")
        http.get("/api/healthz")
        http.get("/nowhere")
        http.get("/__ref/state")
    assert server.state()["requests"] == {"GET /api/healthz": 2, "GET /nowhere": 1}


def test_drop_without_a_reachable_transport_promises_a_body_it_never_sends() -> None:
    # Under a server other than uvicorn's h11, the drop still leaves the answer incomplete.
    from velikey.testing._inject import _drop

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(_drop(receive, send))
    assert sent == [{"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}]
