"""Rollouts and telemetry: plans, idempotent applies and rollbacks, each effect exactly once."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import ReferenceServer


@pytest.fixture
def http(start_server: Callable[..., ReferenceServer]) -> Iterator[httpx.Client]:
    """A client on a fresh server, so effect counts start from zero (``client``: the shared one, for the rest)."""
    server = start_server()
    with client_for(server, headers=BEARER) as client:
        client.server = server  # type: ignore[attr-defined]
        yield client


def _policy(http: httpx.Client) -> str:
    return str(http.get("/api/policies", params={"active_only": "true"}).json()["policies"][0]["id"])


def _plan(http: httpx.Client, **overrides: Any) -> str:
    body = {"policyId": _policy(http), "canaryPercent": 5, "stabilizationWindowS": 300, "dryRun": True}
    response = http.post("/api/rollouts/plan", json={**body, **overrides})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["plan_id"])


def _apply(http: httpx.Client, plan_id: str, key: str | None, dry_run: bool = False, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    payload = {"planId": plan_id, "idempotencyKey": None, "dryRun": dry_run, "explain": False, **body}
    return http.post("/api/rollouts/apply", json=payload, headers=headers)


def _rollback(http: httpx.Client, token: str, key: str | None, confirm: bool = True, **body: Any) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    payload = {"rollbackToken": token, "confirm": confirm, "confirmation": "ROLLBACK", "explain": False, **body}
    return http.post("/api/rollouts/rollback", json=payload, headers=headers)


def _effects(http: httpx.Client) -> dict[str, Any]:
    return http.server.state()["effects"]  # type: ignore[attr-defined, no-any-return]


def test_plan_is_a_function_of_its_body(client: httpx.Client) -> None:
    body = {"policyId": _policy(client), "canaryPercent": 10, "stabilizationWindowS": 60, "dryRun": True}
    first = client.post("/api/rollouts/plan", json=body).json()
    assert first == client.post("/api/rollouts/plan", json=body).json()
    data = first["data"]
    assert first["success"] is True
    assert re.fullmatch(r"plan-[0-9a-f]{16}", data["plan_id"])
    assert (data["policyId"], data["canaryPercent"], data["stabilizationWindowS"], data["dryRun"]) == (
        body["policyId"],
        10,
        60,
        True,
    )
    assert [s["action"] for s in data["steps"]] == ["canary", "stabilize", "promote"]
    assert "explanation" not in data
    other = client.post("/api/rollouts/plan", json={**body, "canaryPercent": 11}).json()["data"]["plan_id"]
    assert other != data["plan_id"]


def test_plan_explains_only_when_asked(client: httpx.Client) -> None:
    body = {"policyId": _policy(client), "canaryPercent": 5, "stabilizationWindowS": 300, "explain": True}
    explanation = client.post("/api/rollouts/plan", json=body).json()["data"]["explanation"]
    assert explanation and all(isinstance(line, str) for line in explanation)


@pytest.mark.parametrize(
    "change",
    [
        {"canaryPercent": 0},
        {"canaryPercent": 101},
        {"canaryPercent": "5"},
        {"canaryPercent": 5.5},
        {"stabilizationWindowS": -1},
        {"dryRun": "true"},
        {"policyId": ""},
        {"surprise": 1},
    ],
)
def test_invalid_plans_are_422(client: httpx.Client, change: dict[str, Any]) -> None:
    body = {"policyId": _policy(client), "canaryPercent": 5, "stabilizationWindowS": 300, **change}
    response = client.post("/api/rollouts/plan", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


def test_plan_for_an_unknown_policy_is_404(client: httpx.Client) -> None:
    response = client.post(
        "/api/rollouts/plan", json={"policyId": "pol-nope", "canaryPercent": 5, "stabilizationWindowS": 1}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "policy_not_found"


def test_dry_run_apply_previews_without_effect(http: httpx.Client) -> None:
    plan_id = _plan(http)
    response = _apply(http, plan_id, "key-dry", dry_run=True, explain=True)
    data = response.json()["data"]
    assert response.status_code == 200
    assert (data["planId"], data["dryRun"], data["applied"]) == (plan_id, True, False)
    assert "rollbackToken" not in data and data["steps"] and data["explanation"]
    assert _effects(http)["apply"] == {}


def test_apply_happens_once_and_replays_the_first_answer(http: httpx.Client) -> None:
    plan_id = _plan(http)
    first = _apply(http, plan_id, "key-1")
    assert first.status_code == 200
    data = first.json()["data"]
    assert (data["planId"], data["dryRun"], data["applied"]) == (plan_id, False, True)
    assert re.fullmatch(r"rbk-[0-9a-f]+", data["rollbackToken"])
    again = _apply(http, plan_id, "key-1")
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert _effects(http)["apply"] == {"key-1": {"effects": 1, "replays": 1}}


def test_apply_key_reused_with_another_body_is_409(http: httpx.Client) -> None:
    plan_id = _plan(http)
    assert _apply(http, plan_id, "key-1").status_code == 200
    response = _apply(http, plan_id, "key-1", explain=True)
    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert _effects(http)["apply"] == {"key-1": {"effects": 1, "replays": 0}}


def test_applying_an_applied_plan_under_another_key_is_409(http: httpx.Client) -> None:
    plan_id = _plan(http)
    assert _apply(http, plan_id, "key-1").status_code == 200
    response = _apply(http, plan_id, "key-2")
    assert response.status_code == 409
    assert response.json()["error"] == "plan_already_applied"


def _unkeyed(http: httpx.Client) -> dict[str, int]:
    return http.server.state()["unkeyed"]  # type: ignore[attr-defined, no-any-return]


def test_apply_without_any_key_is_done_once_per_request_and_counted_as_unkeyed(http: httpx.Client) -> None:
    plan_id = _plan(http)
    first = _apply(http, plan_id, None)
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert (data["applied"], data["dryRun"]) == (True, False)
    assert "idempotent-replayed" not in first.headers
    assert (_effects(http)["apply"], _unkeyed(http)) == ({}, {"apply": 1, "rollback": 0})
    # Nothing to replay without a key: the second request is a second attempt, refused as such.
    again = _apply(http, plan_id, None)
    assert (again.status_code, again.json()["error"]) == (409, "plan_already_applied")
    assert _unkeyed(http) == {"apply": 1, "rollback": 0}


def test_unkeyed_applies_of_one_plan_get_distinct_rollback_tokens(http: httpx.Client) -> None:
    plan_id = _plan(http)
    first = _apply(http, plan_id, None).json()["data"]["rollbackToken"]
    assert _rollback(http, first, None).json()["data"]["rolledBack"] is True
    second = _apply(http, plan_id, None).json()["data"]["rollbackToken"]
    assert first != second
    assert _unkeyed(http) == {"apply": 2, "rollback": 1}


def test_apply_key_from_body_and_header_wins(http: httpx.Client) -> None:
    first_plan, second_plan = _plan(http), _plan(http, canaryPercent=50)
    assert _apply(http, first_plan, None, idempotencyKey="body-key").status_code == 200
    assert _apply(http, second_plan, "header-key", idempotencyKey="ignored-body-key").status_code == 200
    assert set(_effects(http)["apply"]) == {"body-key", "header-key"}


def test_apply_of_an_unknown_plan_is_404(client: httpx.Client) -> None:
    response = _apply(client, "plan-0000000000000000", "key-1")
    assert response.status_code == 404
    assert response.json()["error"] == "plan_not_found"


def test_rollback_preview_then_once(http: httpx.Client) -> None:
    plan_id = _plan(http)
    token = _apply(http, plan_id, "apply-1").json()["data"]["rollbackToken"]

    preview = _rollback(http, token, "rb-preview", confirm=False, explain=True)
    assert preview.status_code == 200
    data = preview.json()["data"]
    assert (data["rollbackToken"], data["planId"], data["confirmed"], data["rolledBack"]) == (
        token,
        plan_id,
        False,
        False,
    )
    assert _effects(http)["rollback"] == {}

    done = _rollback(http, token, "rb-1")
    assert done.status_code == 200 and done.json()["data"]["rolledBack"] is True
    assert _rollback(http, token, "rb-1").content == done.content
    assert _rollback(http, token, "rb-2").status_code == 409
    assert _effects(http)["rollback"] == {"rb-1": {"effects": 1, "replays": 1}}

    # Rolled back, the plan may be applied again, under a new key, with a new token.
    reapplied = _apply(http, plan_id, "apply-2")
    assert reapplied.status_code == 200
    assert reapplied.json()["data"]["rollbackToken"] != token


def test_a_confirmed_rollback_needs_the_confirmation_word_and_a_known_token(http: httpx.Client) -> None:
    token = _apply(http, _plan(http), "apply-1").json()["data"]["rollbackToken"]
    assert _rollback(http, token, "rb-1", confirmation="rollback").status_code == 422
    missing = {"rollbackToken": token, "confirm": True}
    assert http.post("/api/rollouts/rollback", json=missing, headers={"Idempotency-Key": "rb-1"}).status_code == 422
    assert _rollback(http, "rbk-unknown", "rb-1").status_code == 404
    assert _effects(http)["rollback"] == {} and _unkeyed(http)["rollback"] == 0


def test_rollback_without_a_key_is_done_once_and_counted_as_unkeyed(http: httpx.Client) -> None:
    token = _apply(http, _plan(http), "apply-1").json()["data"]["rollbackToken"]
    done = _rollback(http, token, None)
    assert done.status_code == 200 and done.json()["data"]["rolledBack"] is True
    assert (_effects(http)["rollback"], _unkeyed(http)) == ({}, {"apply": 0, "rollback": 1})
    again = _rollback(http, token, None)
    assert (again.status_code, again.json()["error"]) == (409, "already_rolled_back")
    assert _unkeyed(http)["rollback"] == 1


@pytest.mark.parametrize(
    ("batch", "accepted"),
    [([{"e": 1}, {"e": 2}, {"e": 3}], 3), ({"events": [{"e": 1}, {"e": 2}]}, 2), ({"cpu": 0.5}, 1), ([], 0)],
)
def test_telemetry_counts_events(client: httpx.Client, batch: Any, accepted: int) -> None:
    response = client.post("/api/telemetry/ingest", json=batch)
    assert response.status_code == 200
    assert response.json() == {"success": True, "accepted": accepted}


def test_telemetry_is_idempotent_by_key(http: httpx.Client) -> None:
    headers = {"Idempotency-Key": "tel-1"}
    first = http.post("/api/telemetry/ingest", json=[1, 2], headers=headers)
    assert http.post("/api/telemetry/ingest", json=[1, 2], headers=headers).content == first.content
    assert http.post("/api/telemetry/ingest", json=[1, 2, 3], headers=headers).status_code == 409
    assert _effects(http)["telemetry"] == {"tel-1": {"effects": 1, "replays": 1}}


@pytest.mark.parametrize("content", [b"42", b'"text"', b"{not json", b"NaN"])
def test_telemetry_refuses_what_is_not_a_json_batch(client: httpx.Client, content: bytes) -> None:
    response = client.post("/api/telemetry/ingest", content=content, headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_telemetry_needs_auth(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as anonymous:
        assert anonymous.post("/api/telemetry/ingest", json=[1]).status_code == 401
