"""The public SDK's exact requests (``velikey`` 0.1.x, the one seed 000 pins) against the reference server.

That SDK was run unchanged against ``velikey-e2e serve`` (issue 9). It differs from ours on the
wire: it filters policies with ``isActive=true``, leaves booleans out when they are false, treats
``canaryPercent`` and ``stabilizationWindowS`` as optional, and sends no ``Idempotency-Key`` on
rollback (nor on apply unless asked). Those requests are written out here with plain httpx over
a real socket, authenticated with the session cookie as the seed's examples are, and each test
checks the answer and the effect (or its absence) in ``/__ref/state``: a request that leaves out
``dryRun`` must really apply, and one that leaves out ``confirm`` must not really roll back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from velikey.testing import ReferenceServer

Start = Callable[..., ReferenceServer]


@pytest.fixture
def server(start_server: Start) -> ReferenceServer:
    """A fresh server per test, so effect counts start from zero."""
    return start_server()


@pytest.fixture
def public_sdk(server: ReferenceServer) -> Iterator[httpx.Client]:
    """What the public SDK's client sends with every request: the session cookie, nothing else of ours."""
    with httpx.Client(
        base_url=server.base_url, headers={"Cookie": server.session_cookie}, trust_env=False, timeout=5.0
    ) as http:
        yield http


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert "idempotent-replayed" not in response.headers
    body: dict[str, Any] = response.json()
    assert body.get("success", True) is True
    return body


def _state(server: ReferenceServer) -> dict[str, Any]:
    return server.state()


def _plan(http: httpx.Client, body: dict[str, Any]) -> str:
    return str(_ok(http.post("/api/rollouts/plan", json=body))["data"]["plan_id"])


# The Minimal Working Example -------------------------------------------------------------


def test_policies_list_active_only_sends_isactive_true(server: ReferenceServer, public_sdk: httpx.Client) -> None:
    body = _ok(public_sdk.get("/api/policies", params={"isActive": "true"}))
    assert [p["isActive"] for p in body["policies"]] == [True, True], "the seed's example must print policies: 2"
    assert body["total"] == 2
    assert body["policies"][0]["id"] == server.first_active_policy_id


def test_policies_list_all_sends_isactive_false(public_sdk: httpx.Client) -> None:
    body = _ok(public_sdk.get("/api/policies", params={"isActive": "false"}))
    assert {p["isActive"] for p in body["policies"]} == {True, False}
    assert body["total"] == 3


def test_minimal_working_example_requests(public_sdk: httpx.Client) -> None:
    assert _ok(public_sdk.get("/api/healthz"))["status"] == "ok"
    assert len(_ok(public_sdk.get("/api/policies", params={"isActive": "true"}))["policies"]) == 2
    usage = _ok(public_sdk.get("/api/usage/summary", params={"period": "current"}))
    assert usage["usage"]["telemetryDataGB"] == 12.5


# Plans: optional fields with defaults, absent booleans false --------------------------------


def test_plan_with_only_a_policy_id_takes_the_defaults(server: ReferenceServer, public_sdk: httpx.Client) -> None:
    data = _ok(public_sdk.post("/api/rollouts/plan", json={"policyId": server.first_active_policy_id}))["data"]
    assert (data["canaryPercent"], data["stabilizationWindowS"], data["dryRun"]) == (5, 300, False)
    assert [s.get("percent") or s.get("seconds") for s in data["steps"]] == [5, 300, 100]
    assert "explanation" not in data, "an absent explain is false"
    spelled_out = {"policyId": server.first_active_policy_id, "canaryPercent": 5, "stabilizationWindowS": 300}
    assert _plan(public_sdk, {**spelled_out, "dryRun": False, "explain": False}) == data["plan_id"]


@pytest.mark.parametrize(
    ("given", "canary", "window"), [({"canaryPercent": 20}, 20, 300), ({"stabilizationWindowS": 60}, 5, 60)]
)
def test_plan_with_one_of_the_optional_fields(
    server: ReferenceServer, public_sdk: httpx.Client, given: dict[str, int], canary: int, window: int
) -> None:
    body = {"policyId": server.first_active_policy_id, **given}
    data = _ok(public_sdk.post("/api/rollouts/plan", json=body))["data"]
    assert (data["canaryPercent"], data["stabilizationWindowS"]) == (canary, window)


# Apply: no Idempotency-Key unless asked; an absent dryRun is a real apply --------------------


def test_apply_without_key_and_without_dry_run_is_a_real_apply(
    server: ReferenceServer, public_sdk: httpx.Client
) -> None:
    plan_id = _plan(public_sdk, {"policyId": server.first_active_policy_id})
    data = _ok(public_sdk.post("/api/rollouts/apply", json={"planId": plan_id}))["data"]
    assert (data["planId"], data["dryRun"], data["applied"]) == (plan_id, False, True)
    assert data["rollbackToken"].startswith("rbk-")
    state = _state(server)
    assert state["unkeyed"] == {"apply": 1, "rollback": 0}
    assert state["effects"]["apply"] == {}, "nothing was keyed, so nothing can be replayed"


def test_apply_dry_run_as_the_canary_example_sends_it(server: ReferenceServer, public_sdk: httpx.Client) -> None:
    plan_body = {
        "policyId": server.first_active_policy_id,
        "canaryPercent": 5,
        "stabilizationWindowS": 300,
        "dryRun": True,
        "explain": True,
    }
    plan = _ok(public_sdk.post("/api/rollouts/plan", json=plan_body))["data"]
    assert plan["explanation"]
    data = _ok(
        public_sdk.post("/api/rollouts/apply", json={"planId": plan["plan_id"], "dryRun": True, "explain": True})
    )
    assert (data["data"]["applied"], data["data"]["dryRun"]) == (False, True)
    assert "rollbackToken" not in data["data"] and data["data"]["explanation"]
    assert _state(server)["unkeyed"] == {"apply": 0, "rollback": 0}


def test_apply_with_a_key_when_asked_is_idempotent(server: ReferenceServer, public_sdk: httpx.Client) -> None:
    plan_id = _plan(public_sdk, {"policyId": server.first_active_policy_id})
    headers = {"Idempotency-Key": "public-sdk-key"}
    first = public_sdk.post("/api/rollouts/apply", json={"planId": plan_id}, headers=headers)
    again = public_sdk.post("/api/rollouts/apply", json={"planId": plan_id}, headers=headers)
    assert (first.status_code, again.content, again.headers["idempotent-replayed"]) == (200, first.content, "true")
    state = _state(server)
    assert state["effects"]["apply"] == {"public-sdk-key": {"effects": 1, "replays": 1}}
    assert state["unkeyed"]["apply"] == 0


# Rollback: no Idempotency-Key; an absent confirm is a preview --------------------------------


def _applied(server: ReferenceServer, http: httpx.Client) -> str:
    plan_id = _plan(http, {"policyId": server.first_active_policy_id})
    return str(_ok(http.post("/api/rollouts/apply", json={"planId": plan_id}))["data"]["rollbackToken"])


@pytest.mark.parametrize("extra", [{}, {"confirmation": "ROLLBACK"}], ids=["token-only", "with-confirmation-word"])
def test_rollback_without_confirm_is_a_preview_without_effect(
    server: ReferenceServer, public_sdk: httpx.Client, extra: dict[str, str]
) -> None:
    token = _applied(server, public_sdk)
    data = _ok(public_sdk.post("/api/rollouts/rollback", json={"rollbackToken": token, **extra}))["data"]
    assert (data["confirmed"], data["rolledBack"]) == (False, False)
    assert "explanation" not in data
    assert _state(server)["unkeyed"] == {"apply": 1, "rollback": 0}
    # Still applied: the real rollback is yet to come, and works.
    confirmed = {"rollbackToken": token, "confirm": True, "confirmation": "ROLLBACK"}
    assert _ok(public_sdk.post("/api/rollouts/rollback", json=confirmed))["data"]["rolledBack"] is True


def test_confirmed_rollback_without_key_is_done_once(server: ReferenceServer, public_sdk: httpx.Client) -> None:
    token = _applied(server, public_sdk)
    body = {"rollbackToken": token, "confirm": True, "confirmation": "ROLLBACK", "explain": True}
    data = _ok(public_sdk.post("/api/rollouts/rollback", json=body))["data"]
    assert (data["confirmed"], data["rolledBack"]) == (True, True) and data["explanation"]
    assert _state(server)["unkeyed"] == {"apply": 1, "rollback": 1}
    again = public_sdk.post("/api/rollouts/rollback", json=body)
    assert (again.status_code, again.json()["error"]) == (409, "already_rolled_back")
    assert _state(server)["unkeyed"]["rollback"] == 1 and _state(server)["effects"]["rollback"] == {}


def test_the_canary_example_with_a_rollback_token_from_a_real_apply(
    server: ReferenceServer, public_sdk: httpx.Client
) -> None:
    """The seed's Canary example once ``AEGIS_ROLLBACK_TOKEN`` is set: it crashed on a 422 before."""
    token = _applied(server, public_sdk)
    plan_body = {
        "policyId": server.first_active_policy_id,
        "canaryPercent": 5,
        "stabilizationWindowS": 300,
        "dryRun": True,
        "explain": True,
    }
    plan_id = _plan(public_sdk, plan_body)
    _ok(public_sdk.post("/api/rollouts/apply", json={"planId": plan_id, "dryRun": True, "explain": True}))
    rollback = {"rollbackToken": token, "confirm": True, "confirmation": "ROLLBACK", "explain": True}
    assert _ok(public_sdk.post("/api/rollouts/rollback", json=rollback))["success"] is True
    state = _state(server)
    assert state["unkeyed"] == {"apply": 1, "rollback": 1}
    assert state["requests"]["POST /api/rollouts/rollback"] == 1
