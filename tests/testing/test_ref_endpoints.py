"""The read endpoints and auth enforcement of the reference server, over a real socket."""

from __future__ import annotations

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import ReferenceServer

AUTHED_READS = ["/api/policies", "/api/usage/summary?period=current", "/api/alerts?resolved=false&limit=10"]


@pytest.mark.parametrize("path", ["/api/healthz", "/health"])
def test_health_needs_no_auth(shared_server: ReferenceServer, path: str) -> None:
    with client_for(shared_server) as http:
        response = http.get(path)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "axis-reference", "version": "0.1.0"}


@pytest.mark.parametrize("path", AUTHED_READS)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic vk_test_reference_0"},
        {"Cookie": "next-auth.session-token=wrong"},
        {"Cookie": "ref-session-token-0"},
    ],
    ids=["none", "wrong-key", "not-bearer", "wrong-cookie", "bare-cookie"],
)
def test_reads_refuse_missing_or_wrong_credentials(
    shared_server: ReferenceServer, path: str, headers: dict[str, str]
) -> None:
    with client_for(shared_server, headers=headers) as http:
        response = http.get(path)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", AUTHED_READS)
@pytest.mark.parametrize(
    "headers",
    [{"Authorization": "Bearer vk_test_reference_0"}, {"Cookie": "next-auth.session-token=ref-session-token-0"}],
    ids=["bearer", "cookie"],
)
def test_reads_accept_bearer_or_session_cookie(
    shared_server: ReferenceServer, path: str, headers: dict[str, str]
) -> None:
    with client_for(shared_server, headers=headers) as http:
        assert http.get(path).status_code == 200


def test_auth_is_checked_before_the_body(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as http:
        response = http.post("/api/rollouts/plan", json={"nonsense": True})
    assert response.status_code == 401


def test_policies_lists_active_and_inactive_by_id(client: httpx.Client) -> None:
    answer = client.get("/api/policies").json()
    everything = answer["policies"]
    assert {p["isActive"] for p in everything} == {True, False}
    assert answer["total"] == len(everything) == 3
    assert [p["id"] for p in everything] == sorted(p["id"] for p in everything)
    for policy in everything:
        assert set(policy) == {"id", "name", "isActive", "mode", "version"}
        assert policy["id"].startswith("pol-")


@pytest.mark.parametrize(
    ("query", "active_only"),
    [
        ({"isActive": "true"}, True),
        ({"active_only": "true"}, True),
        ({"isActive": "false"}, False),
        ({"active_only": "false"}, False),
        ({}, False),
    ],
    ids=lambda value: "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value),
)
def test_both_filter_forms_select_the_active_policies(
    client: httpx.Client, query: dict[str, str], active_only: bool
) -> None:
    everything = client.get("/api/policies").json()["policies"]
    answer = client.get("/api/policies", params=query).json()
    expected = [p for p in everything if p["isActive"] or not active_only]
    assert answer == {"policies": expected, "total": len(expected)}


def test_the_first_active_policy_is_the_first_listed(shared_server: ReferenceServer, client: httpx.Client) -> None:
    listed = client.get("/api/policies", params={"isActive": "true"}).json()["policies"]
    assert listed[0]["id"] == shared_server.first_active_policy_id


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (1, 1), (2, 1), (5, 0), (1, 3), (1000, 2)])
def test_policies_page_with_limit_and_offset(client: httpx.Client, limit: int, offset: int) -> None:
    everything = client.get("/api/policies").json()["policies"]
    page = client.get("/api/policies", params={"limit": limit, "offset": offset}).json()
    assert page == {"policies": everything[offset : offset + limit], "total": 3}


def test_policy_pages_walk_the_whole_list_once(client: httpx.Client) -> None:
    everything = client.get("/api/policies").json()["policies"]
    walked = [
        p for offset in range(0, 3) for p in client.get(f"/api/policies?limit=1&offset={offset}").json()["policies"]
    ]
    assert walked == everything


@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (1, 1), (2, 1), (100, 2)])
def test_alerts_page_with_limit_and_offset(start_server, limit: int, offset: int) -> None:
    with client_for(start_server(critical_alerts=2), headers=BEARER) as http:
        everything = http.get("/api/alerts").json()
        page = http.get("/api/alerts", params={"limit": limit, "offset": offset}).json()
    assert everything["total"] == len(everything["alerts"]) == 4
    assert page == {"alerts": everything["alerts"][offset : offset + limit], "total": 4}


def test_policy_ids_come_from_the_seed(start_server) -> None:
    def ids(seed: int) -> list[str]:
        with client_for(start_server(seed=seed), headers=BEARER) as http:
            return [p["id"] for p in http.get("/api/policies").json()["policies"]]

    assert ids(0) == ids(0)
    assert ids(0) != ids(1)


def test_usage_of_seed_0_is_fixed(client: httpx.Client) -> None:
    response = client.get("/api/usage/summary", params={"period": "current"})
    assert response.status_code == 200
    assert response.json() == {
        "usage": {"telemetryDataGB": 12.5, "telemetryDays": 14, "agents": 3, "environments": 2},
        "period": {"start": "2026-11-01", "end": "2026-11-30"},
    }


def test_open_alerts_of_seed_0_leave_a_perfect_health_score(client: httpx.Client) -> None:
    body = client.get("/api/alerts", params={"resolved": "false", "limit": "50"}).json()
    assert sorted(a["severity"] for a in body["alerts"]) == ["info", "warning"]
    assert body["total"] == 2
    assert all(set(a) == {"id", "severity", "title", "resolved"} and not a["resolved"] for a in body["alerts"])


def test_alerts_limit_and_resolved_filter(client: httpx.Client) -> None:
    limited = client.get("/api/alerts", params={"resolved": "false", "limit": "1"}).json()
    assert len(limited["alerts"]) == 1 and limited["total"] == 2
    resolved = client.get("/api/alerts", params={"resolved": "true"}).json()
    assert [a["resolved"] for a in resolved["alerts"]] == [True]


@pytest.mark.parametrize(
    "path",
    [
        "/api/alerts?limit=0",
        "/api/alerts?limit=many",
        "/api/alerts?resolved=perhaps",
        "/api/usage/summary?period=last",
        "/api/policies?active_only=2x",
        "/api/policies?isActive=yes-please",
        "/api/policies?limit=0",
        "/api/policies?limit=1001",
        "/api/policies?offset=-1",
        "/api/policies?offset=one",
        "/api/alerts?offset=-1",
        "/api/alerts?limit=1001",
    ],
)
def test_bad_query_parameters_are_422(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


def test_unknown_paths_and_methods_have_json_errors(client: httpx.Client) -> None:
    assert client.get("/api/nothing").json() == {"error": "not_found"}
    response = client.delete("/api/policies")
    assert response.status_code == 405
    assert response.json() == {"error": "method_not_allowed"}


def test_answers_are_ascii_json_without_date_or_server_headers(client: httpx.Client) -> None:
    response = client.get("/api/healthz")
    assert "date" not in response.headers and "server" not in response.headers
    assert response.content.isascii()
