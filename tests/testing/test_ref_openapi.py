"""The checked-in OpenAPI document is the one the server generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from velikey.testing import export_openapi

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "axis-openapi.json"


def test_checked_in_openapi_matches_the_server() -> None:
    checked_in = SCHEMA.read_text(encoding="utf-8")
    generated = json.dumps(export_openapi(), indent=2, sort_keys=True) + "\n"
    assert checked_in == generated, (
        "schemas/axis-openapi.json is out of date; regenerate it with `python -m velikey.testing.openapi`"
    )


def test_openapi_covers_the_contract() -> None:
    doc = export_openapi()
    expected = {
        "/api/healthz": "get",
        "/health": "get",
        "/api/policies": "get",
        "/api/usage/summary": "get",
        "/api/alerts": "get",
        "/api/rollouts/plan": "post",
        "/api/rollouts/apply": "post",
        "/api/rollouts/rollback": "post",
        "/api/rollouts/{planId}/events": "get",
        "/api/telemetry/ingest": "post",
        "/ingest": "post",
        "/api/auth/csrf": "get",
        "/api/auth/callback/credentials": "post",
        "/api/oauth/token": "post",
    }
    assert {path: next(iter(ops)) for path, ops in doc["paths"].items()} == expected
    assert set(doc["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyCookie"}
    assert "security" in doc["paths"]["/api/policies"]["get"]
    assert "security" not in doc["paths"]["/api/healthz"]["get"]
    assert "security" not in doc["paths"]["/api/oauth/token"]["post"], "the token endpoint is how a client gets auth"
    events = doc["paths"]["/api/rollouts/{planId}/events"]["get"]
    assert set(events["responses"]["200"]["content"]) == {"text/event-stream"}
    assert set(events["responses"]["404"]["content"]) == {"application/json"}


def test_openapi_documents_the_public_sdk_wire_forms() -> None:
    paths = export_openapi()["paths"]
    policies = {p["name"] for p in paths["/api/policies"]["get"]["parameters"]}
    assert policies == {"isActive", "active_only", "limit", "offset"}
    assert {p["name"] for p in paths["/api/alerts"]["get"]["parameters"]} == {"resolved", "limit", "offset"}
    schemas = export_openapi()["components"]["schemas"]
    assert schemas["PlanRequest"]["required"] == ["policyId"]
    assert schemas["ApplyRequest"]["required"] == ["planId"]
    assert schemas["RollbackRequest"]["required"] == ["rollbackToken"]
    assert {schemas["PlanRequest"]["properties"][name]["default"] for name in ("dryRun", "explain")} == {False}
    assert schemas["ApplyRequest"]["properties"]["dryRun"]["default"] is False
    assert schemas["RollbackRequest"]["properties"]["confirm"]["default"] is False
    assert set(schemas["PoliciesResponse"]["required"]) == {"policies", "total"}


def test_openapi_links_plans_and_applies_to_their_event_stream() -> None:
    paths = export_openapi()["paths"]
    operation = paths["/api/rollouts/{planId}/events"]["get"]["operationId"]
    for path, pointer in (("/api/rollouts/plan", "plan_id"), ("/api/rollouts/apply", "planId")):
        link = paths[path]["post"]["responses"]["200"]["links"]["Events"]
        assert link["operationId"] == operation
        assert link["parameters"] == {"path.planId": f"$response.body#/data/{pointer}"}


def test_the_regeneration_command_writes_the_checked_in_bytes(tmp_path: Path) -> None:
    from velikey.testing.openapi import main

    target = tmp_path / "axis-openapi.json"
    assert main([str(target)]) == 0
    assert target.read_bytes() == SCHEMA.read_bytes()


def test_the_document_does_not_take_python_s_reason_phrases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.13 renamed 422 "Unprocessable Content" (and 413, 416): the checked-in file must not change with it."""
    import http.client

    renamed = {**http.client.responses, 413: "Content Too Large", 422: "Unprocessable Content", 400: "Changed",
               401: "Changed", 403: "Changed", 404: "Changed", 409: "Changed"}
    monkeypatch.setattr(http.client, "responses", renamed)
    assert json.dumps(export_openapi(), indent=2, sort_keys=True) + "\n" == SCHEMA.read_text(encoding="utf-8")
