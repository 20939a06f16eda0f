"""The checked-in OpenAPI document is the one the server generates."""

from __future__ import annotations

import json
from pathlib import Path

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
        "/api/telemetry/ingest": "post",
        "/ingest": "post",
        "/api/auth/csrf": "get",
        "/api/auth/callback/credentials": "post",
    }
    assert {path: next(iter(ops)) for path, ops in doc["paths"].items()} == expected
    assert set(doc["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyCookie"}
    assert "security" in doc["paths"]["/api/policies"]["get"]
    assert "security" not in doc["paths"]["/api/healthz"]["get"]


def test_the_regeneration_command_writes_the_checked_in_bytes(tmp_path: Path) -> None:
    from velikey.testing.openapi import main

    target = tmp_path / "axis-openapi.json"
    assert main([str(target)]) == 0
    assert target.read_bytes() == SCHEMA.read_bytes()
