"""The rollout event stream over a real socket: phases per plan state, resuming, pacing, faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import Fault, ReferenceServer

Start = Callable[..., ReferenceServer]


def _plan(http: httpx.Client, server: ReferenceServer) -> str:
    response = http.post("/api/rollouts/plan", json={"policyId": server.first_active_policy_id})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["plan_id"])


def _apply(http: httpx.Client, plan_id: str) -> str:
    response = http.post("/api/rollouts/apply", json={"planId": plan_id}, headers={"Idempotency-Key": "k-" + plan_id})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["rollbackToken"])


def _expected(plan_id: str, phases: list[str], first: int = 1) -> bytes:
    """The stream as the wire format spells it, written out here independently of the server's code."""
    blocks = []
    for seq, phase in enumerate(phases, first):
        data = f'{{"planId":"{plan_id}","seq":{seq},"phase":"{phase}"}}'
        blocks.append(f"id: {seq}\nevent: phase\ndata: {data}\n\n")
    return "".join(blocks).encode()


@pytest.fixture
def server(start_server: Start) -> ReferenceServer:
    return start_server(sse_interval_s=0)


@pytest.fixture
def http(server: ReferenceServer) -> Iterator[httpx.Client]:
    with client_for(server, headers=BEARER) as client:
        yield client


def test_a_planned_plan_streams_planned_then_ends(server: ReferenceServer, http: httpx.Client) -> None:
    plan_id = _plan(http, server)
    response = http.get(f"/api/rollouts/{plan_id}/events")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == _expected(plan_id, ["planned"])


def test_an_applied_plan_streams_to_stable(server: ReferenceServer, http: httpx.Client) -> None:
    plan_id = _plan(http, server)
    _apply(http, plan_id)
    body = http.get(f"/api/rollouts/{plan_id}/events").content
    assert body == _expected(plan_id, ["planned", "applying", "canary", "stable"])
    assert [json.loads(line[6:])["seq"] for line in body.decode().splitlines() if line.startswith("data: ")] == [
        1,
        2,
        3,
        4,
    ]


def test_a_rolled_back_plan_ends_rolled_back_and_a_reapply_is_stable_again(
    server: ReferenceServer, http: httpx.Client
) -> None:
    plan_id = _plan(http, server)
    token = _apply(http, plan_id)
    rollback = {"rollbackToken": token, "confirm": True, "confirmation": "ROLLBACK"}
    assert http.post("/api/rollouts/rollback", json=rollback).json()["data"]["rolledBack"] is True
    events = f"/api/rollouts/{plan_id}/events"
    assert http.get(events).content == _expected(plan_id, ["planned", "applying", "canary", "rolled_back"])
    http.post("/api/rollouts/apply", json={"planId": plan_id}, headers={"Idempotency-Key": "second"})
    assert http.get(events).content == _expected(plan_id, ["planned", "applying", "canary", "stable"])


def test_a_dry_run_apply_leaves_the_plan_planned(server: ReferenceServer, http: httpx.Client) -> None:
    plan_id = _plan(http, server)
    http.post("/api/rollouts/apply", json={"planId": plan_id, "dryRun": True})
    assert http.get(f"/api/rollouts/{plan_id}/events").content == _expected(plan_id, ["planned"])


@pytest.mark.parametrize(("last", "rest"), [("0", 4), ("1", 3), ("3", 1), ("4", 0), ("99", 0)])
def test_last_event_id_resumes_after_that_event(
    server: ReferenceServer, http: httpx.Client, last: str, rest: int
) -> None:
    plan_id = _plan(http, server)
    _apply(http, plan_id)
    response = http.get(f"/api/rollouts/{plan_id}/events", headers={"Last-Event-ID": last})
    assert response.status_code == 200
    phases = ["planned", "applying", "canary", "stable"]
    assert response.content == _expected(plan_id, phases[4 - rest :], first=5 - rest)


@pytest.mark.parametrize("last", ["-1", "two", "1.5"])
def test_a_bad_last_event_id_is_422(server: ReferenceServer, http: httpx.Client, last: str) -> None:
    response = http.get(f"/api/rollouts/{_plan(http, server)}/events", headers={"Last-Event-ID": last})
    assert (response.status_code, response.json()["error"]) == (422, "validation_error")


def test_unknown_plans_are_404_json_and_the_stream_needs_auth(server: ReferenceServer, http: httpx.Client) -> None:
    unknown = http.get("/api/rollouts/plan-0000000000000000/events")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert unknown.json()["error"] == "plan_not_found"
    with client_for(server) as anonymous:
        assert anonymous.get(f"/api/rollouts/{_plan(http, server)}/events").status_code == 401


def test_events_are_paced_and_a_client_that_gave_up_resumes_where_it_stopped(start_server: Start) -> None:
    # 30 s between events against a 1 s read timeout: the first event comes at once, the second
    # does not come in time; a reconnect with Last-Event-ID gets the second at once instead.
    server = start_server(sse_interval_s=30)
    with client_for(server, headers=BEARER) as http:
        plan_id = _plan(http, server)
        _apply(http, plan_id)
        events = f"/api/rollouts/{plan_id}/events"
        with httpx.Client(base_url=server.base_url, headers=BEARER, trust_env=False, timeout=1.0) as impatient:
            with impatient.stream("GET", events) as stream:
                chunks = stream.iter_bytes()
                assert next(chunks) == _expected(plan_id, ["planned"])
                with pytest.raises(httpx.ReadTimeout):
                    next(chunks)
            with impatient.stream("GET", events, headers={"Last-Event-ID": "1"}) as resumed:
                assert next(resumed.iter_bytes()) == _expected(plan_id, ["applying"], first=2)


def test_faults_match_the_event_route(start_server: Start) -> None:
    # Plan ids are a function of the plan body, so a second server with the same seed knows the id ahead.
    probe = start_server()
    with client_for(probe, headers=BEARER) as http:
        route = f"GET /api/rollouts/{_plan(http, probe)}/events"
    faults = (Fault(route, times=1, status=503, retry_after="1"), Fault(route, after=1, times=1, action="drop"))
    server = start_server(faults=faults, sse_interval_s=0)
    with client_for(server, headers=BEARER) as http:
        plan_id = _plan(http, server)
        refused = http.get(f"/api/rollouts/{plan_id}/events")
        assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
        with pytest.raises(httpx.TransportError):
            http.get(f"/api/rollouts/{plan_id}/events")
        assert http.get(f"/api/rollouts/{plan_id}/events").content == _expected(plan_id, ["planned"])
    assert server.state()["faults_injected"] == {route: 2}
