"""Hand-built minimal receipt documents, shaped exactly as the engine produces them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runner.canonical import sha256_tag
from runner.evidence.facts import run_facts

RUN_ID = "run-0123456789abcdef"
DIGEST = sha256_tag(b"")


def request_view() -> dict[str, Any]:
    return {
        "method": "GET",
        "url": "https://axis.example/api/healthz",
        "headers": {"authorization": "<redacted>", "x-request-id": "req-1"},
        "body_sha256": None,
        "body_bytes": 0,
        "curl": "curl -X GET 'https://axis.example/api/healthz'",
    }


def response_view() -> dict[str, Any]:
    return {"status": 200, "body_sha256": DIGEST, "body_bytes": 0, "content_type": "application/json",
            "replayed": False}


def counts(**overrides: int) -> dict[str, int]:
    base = {"passed": 0, "failed": 0, "blocked": 0, "skipped": 0, "planned": 0}
    base.update(overrides)
    return base


def step(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "health",
        "line": 6,
        "kind": "call",
        "server_dry_run": False,
        "call": "get_health",
        "outcome": "passed",
        "reason_code": "ok",
        "message": "",
        "request": request_view(),
        "requests": [request_view()],
        "response": response_view(),
        "attempts": 1,
        "assertions": [
            {
                "path": "status",
                "op": "equals",
                "expected": "ok",
                "actual": "ok",
                "passed": True,
                "reason_code": "assertion_failed",
            }
        ],
        "saved": {},
        "probe": None,
        "metering": None,
        "until": None,
        "evidence": "evidence/release-gate/health.json",
    }
    base.update(overrides)
    return base


def live_docs() -> dict[str, Any]:
    """A passing live run with one scenario of one step, plus its evidence."""
    summary = {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "run_id": RUN_ID,
        "mode": "live",
        "result": "pass",
        "counts": counts(passed=1),
        "reason_codes": ["ok"],
        "readiness": {"ready": True, "missing_inputs": []},
        "facts": {},
        "scenarios": [
            {
                "id": "release-gate",
                "title": "Python SDK release gate",
                "file": "scenarios/release-gate.yaml",
                "outcome": "passed",
                "reason_code": "ok",
                "steps": [step()],
                "cleanup": [],
            }
        ],
    }
    manifest = {
        "schema_version": 1,
        "run_id": RUN_ID,
        "run_nonce": {"value": "fixed", "source": "fixed"},
        "tool": {"name": "velikey-e2e", "version": "0.1.0"},
        "sdk": {"name": "velikey", "version": "0.1.0"},
        "python": {"implementation": "CPython", "version": "3.11.7"},
        "mode": "live",
        "source_date": None,
        "scenarios": [{"id": "release-gate", "file": "scenarios/release-gate.yaml", "sha256": DIGEST}],
        "inputs": {
            "base_url": {"provided": True, "source": "AXIS_BASE_URL", "value": "https://axis.example"},
            "session": {"provided": True, "source": "AXIS_SESSION_COOKIE", "value": None},
        },
        "auth_source": "AXIS_SESSION_COOKIE",
        "transport": {"verify_tls": True, "allow_insecure_http": False,
                      "ca_bundle": {"source": "default", "sha256": None}, "proxy": {"source": None, "origin": None}},
        "options": {
            "confirm": False,
            "embedded": False,
            "verify_tls": True,
            "request_timeout": "30",
            "deadline": None,
            "max_retries": 3,
        },
        "shard": None,
    }
    summary["facts"] = run_facts(manifest)
    timings = {
        "schema_version": 1,
        "run_id": RUN_ID,
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:00:01.250Z",
        "duration_ms": 1250,
        "concurrency": 1,
        "steps": [{"scenario": "release-gate", "step": "health", "duration_ms": 12}],
    }
    evidence = {
        "evidence/release-gate/health.json": {
            "schema_version": 1,
            "run_id": RUN_ID,
            "scenario": "release-gate",
            "step": "health",
            "polls": None,
            "exchanges": [
                {
                    "request": request_view(),
                    "response": response_view(),
                    "body": {"status": "ok", "uptime_s": 12, "tags": ["a", None, True]},
                    "attempts": 1,
                    "error": None,
                }
            ],
        }
    }
    return {"summary": summary, "manifest": manifest, "timings": timings, "blocker": None, "evidence": evidence}


def blocked_docs() -> dict[str, Any]:
    """A live run stopped by preflight: manual-required, BLOCKER.json, no evidence."""
    docs = live_docs()
    summary = docs["summary"]
    summary.update(
        result="manual-required",
        counts=counts(blocked=1),
        reason_codes=["auth_missing"],
        readiness={"ready": False, "missing_inputs": ["session"]},
    )
    scenario = summary["scenarios"][0]
    scenario.update(outcome="blocked", reason_code="auth_missing")
    scenario["steps"] = [
        step(
            outcome="blocked",
            reason_code="auth_missing",
            message="no session | no API key",
            request=None,
            requests=[],
            response=None,
            attempts=0,
            assertions=[],
            evidence=None,
        )
    ]
    docs["evidence"] = {}
    docs["blocker"] = {
        "schema_version": 1,
        "run_id": RUN_ID,
        "reason_codes": ["auth_missing"],
        "missing_inputs": [
            {
                "name": "session",
                "env": ["AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN"],
                "flag": None,
                "how": "Export AXIS_SESSION_COOKIE with the next-auth.session-token value.",
            }
        ],
        "guidance": ["Provide a session, then rerun."],
        "rerun": "velikey-e2e run scenarios --live",
    }
    return docs


def standalone_documents() -> dict[str, tuple[str, dict[str, Any]]]:
    """One valid example of every document kind, keyed by kind."""
    live, blocked = live_docs(), blocked_docs()
    result = {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "result": "pass",
        "mode": "live",
        "run_id": RUN_ID,
        "exit_code": 0,
        "reason_codes": ["ok"],
        "counts": counts(passed=1),
        "files": {"SUMMARY.json": DIGEST, "evidence/release-gate/health.json": DIGEST},
    }
    descriptor = {"name": "SUMMARY.json", "digest": {"sha256": DIGEST.removeprefix("sha256:")}}
    attestation = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [descriptor],
        "predicateType": "https://in-toto.io/attestation/test-result/v0.1",
        "predicate": {"result": "pass", "configuration": [descriptor], "passedTests": ["release-gate/health"],
                      "warnedTests": [], "failedTests": []},
    }
    envelope = {"payloadType": "application/vnd.in-toto+json", "payload": "e30=",
                "signatures": [{"keyid": "0" * 64, "sig": "AAAA"}]}
    return {
        "summary": ("summary", live["summary"]),
        "run-manifest": ("run-manifest", live["manifest"]),
        "result": ("result", result),
        "blocker": ("blocker", blocked["blocker"]),
        "evidence": ("evidence", live["evidence"]["evidence/release-gate/health.json"]),
        "timings": ("timings", live["timings"]),
        "attestation": ("attestation", attestation),
        "attestation-envelope": ("attestation-envelope", envelope),
    }


@pytest.fixture
def docs() -> dict[str, Any]:
    return copy.deepcopy(live_docs())


@pytest.fixture
def blocked() -> dict[str, Any]:
    return copy.deepcopy(blocked_docs())


@pytest.fixture
def examples() -> dict[str, tuple[str, dict[str, Any]]]:
    return copy.deepcopy(standalone_documents())
