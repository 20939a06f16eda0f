"""Helpers and fixtures for the run-outcome tests: live runs against fresh reference servers, receipt checks.

Imported by module name (like ``ref_helpers``); fixtures are imported into the test modules
that use them, so no ``conftest.py`` is needed here.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from runner.pipeline import RunConfig, RunReport, run
from runner.receipts.validate import validate_run_dir
from velikey.testing import ReferenceServer

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
RELEASE_GATE = REPO / "scenarios" / "release-gate.yaml"
HERE = Path(__file__).resolve().parent / "scenarios"

# Which schema each receipt file answers to (evidence files: any ``evidence/**.json``).
SCHEMA_FOR = {
    "SUMMARY.json": "summary",
    "run-manifest.json": "run-manifest",
    "python-sdk-e2e-result.json": "result",
    "BLOCKER.json": "blocker",
    "timings.json": "timings",
    "attestation.json": "attestation",
    "attestation.dsse.json": "attestation-envelope",
}


def scenario(name: str) -> Path:
    """A scenario file of this folder's ``scenarios/``."""
    path = HERE / name
    assert path.exists(), path
    return path


def live_env(server: ReferenceServer) -> dict[str, str]:
    """Every live input of ``server`` as a user would export them."""
    return server.live_env()


def run_live(
    server: ReferenceServer, out: Path, *paths: Path, env: Mapping[str, str] | None = None, **options: Any
) -> RunReport:
    """A live run of ``paths`` (default: the release gate) against ``server``, written to ``out``."""
    return run(
        RunConfig(
            paths=paths or (RELEASE_GATE,),
            mode="live",
            out=out,
            env=dict(live_env(server) if env is None else env),
            **options,
        )
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to connect a socket raises (and is recorded in the returned list)."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> Any:
        attempts.append(address)
        raise OSError(f"the test forbids network access (connect to {address!r})")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def _validators() -> dict[str, Draft202012Validator]:
    """The receipt schemas straight from ``schemas/``, independent of the runner's own loading."""
    schemas = {
        path.name.removesuffix(".schema.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in SCHEMAS.glob("*.schema.json")
    }
    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    validators = {}
    for kind, schema in schemas.items():
        Draft202012Validator.check_schema(schema)
        validators[kind] = Draft202012Validator(schema, registry=registry)
    # attestation.dsse.json's schema is a $defs entry of attestation.schema.json.
    envelope = {"$ref": schemas["attestation"]["$id"] + "#/$defs/dsse_envelope"}
    validators["attestation-envelope"] = Draft202012Validator(envelope, registry=registry)
    return validators


def assert_valid_receipts(out: Path) -> dict[str, Any]:
    """The run directory validates (runner and raw jsonschema); returns every JSON receipt by relative path."""
    problems = validate_run_dir(out)
    assert problems == [], problems
    validators = _validators()
    documents: dict[str, Any] = {}
    for path in sorted(out.rglob("*.json")):
        rel = path.relative_to(out).as_posix()
        kind = SCHEMA_FOR.get(rel) or ("evidence" if rel.startswith("evidence/") else None)
        assert kind is not None, f"unexpected receipt file {rel}"
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = [f"{e.json_path}: {e.message}" for e in validators[kind].iter_errors(document)]
        assert errors == [], f"{rel} fails {kind}.schema.json: {errors}"
        documents[rel] = document
    assert {"SUMMARY.json", "run-manifest.json", "python-sdk-e2e-result.json", "timings.json",
            "attestation.json"} <= set(documents)
    assert (out / "SUMMARY.md").is_file()
    return documents


def steps(summary: Mapping[str, Any], scenario_id: str | None = None) -> dict[str, tuple[str, str]]:
    """``{step id: (outcome, reason_code)}`` of one scenario (the only one when not named)."""
    scenarios = summary["scenarios"]
    chosen = scenarios[0] if scenario_id is None else next(s for s in scenarios if s["id"] == scenario_id)
    if scenario_id is None:
        assert len(scenarios) == 1
    return {step["id"]: (step["outcome"], step["reason_code"]) for step in chosen["steps"]}


def check_outcome(
    report: RunReport,
    out: Path,
    *,
    exit_code: int,
    result: str,
    expected_steps: Mapping[str, tuple[str, str]],
    scenario_id: str | None = None,
    run_codes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Exit code, result and per-step outcomes agree in the report and on disk; the receipts validate.

    ``run_codes`` are reason codes the run carries beyond its steps' (e.g. every missing input's).
    """
    documents = assert_valid_receipts(out)
    summary, receipt = documents["SUMMARY.json"], documents["python-sdk-e2e-result.json"]
    assert report.exit_code == exit_code, (report.exit_code, summary["result"], summary["reason_codes"])
    assert report.out_dir == out
    assert summary == report.summary
    assert summary["result"] == receipt["result"] == result, summary["result"]
    seen = steps(summary, scenario_id)
    assert seen == dict(expected_steps), seen
    codes = sorted({code for _, code in expected_steps.values()} | set(run_codes))
    if scenario_id is None:
        assert summary["reason_codes"] == receipt["reason_codes"] == codes, (summary["reason_codes"], codes)
    counts = {outcome: 0 for outcome in ("passed", "failed", "blocked", "skipped", "planned")}
    for scenario in summary["scenarios"]:
        for step in scenario["steps"]:
            counts[step["outcome"]] += 1
    assert summary["counts"] == receipt["counts"] == counts, summary["counts"]
    assert ("BLOCKER.json" in documents) == (result == "manual-required")
    return documents


# The release gate's steps, in order, and what each does against a healthy, fresh server.
GATE_PASSED: dict[str, tuple[str, str]] = {
    "health": ("passed", "ok"),
    "policies": ("passed", "ok"),
    "usage-before": ("passed", "ok"),
    "score": ("passed", "ok"),
    "plan": ("passed", "ok"),
    "apply": ("passed", "ok"),
    "rollback": ("skipped", "input_not_provided"),
    "probe": ("passed", "ok"),
    "telemetry-delta": ("passed", "ok"),
}


def gate_failing_at(
    step_id: str, reason: str, before: Mapping[str, tuple[str, str]] = GATE_PASSED
) -> dict[str, tuple[str, str]]:
    """The release gate's expected steps when ``step_id`` fails with ``reason``: the rest are skipped."""
    expected: dict[str, tuple[str, str]] = {}
    seen = False
    for name, outcome in before.items():
        if name == step_id:
            expected[name], seen = ("failed", reason), True
        else:
            expected[name] = ("skipped", "previous_step_failed") if seen else outcome
    assert seen, step_id
    return expected
