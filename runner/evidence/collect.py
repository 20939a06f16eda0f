"""Engine results → the receipt documents (SUMMARY, evidence, timings, BLOCKER).

Pure functions of their inputs: nothing here reads the clock except ``timings``, which
is the one volatile file and is referenced by nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from runner.engine.results import ScenarioResult, StepResult
from runner.inputs import INPUTS
from runner.reasons import CATALOG

__all__ = ["blocker_document", "evidence_documents", "result_of", "summary_document", "timings_document"]

OUTCOMES = ("passed", "failed", "blocked", "skipped", "planned")
EXIT_CODES = {"pass": 0, "fail": 1, "manual-required": 3}


def evidence_path(scenario: str, step: str) -> str:
    return f"evidence/{scenario}/{step}.json"


def result_of(scenarios: Sequence[ScenarioResult], extra_codes: Sequence[str] = ()) -> str:
    """``fail`` if anything failed, else ``manual-required`` if anything is blocked, else ``pass``."""
    outcomes = {step.outcome for s in scenarios for step in s.steps}
    if "failed" in outcomes:
        return "fail"
    if "blocked" in outcomes or any(CATALOG[c].category == "blocked" for c in extra_codes):
        return "manual-required"
    return "pass"


def _step(scenario: str, step: StepResult, live: bool) -> dict[str, Any]:
    return {
        "id": step.id,
        "kind": step.kind,
        "call": step.call,
        "outcome": step.outcome,
        "reason_code": step.reason_code,
        "message": step.message,
        "request": step.requests[0] if step.requests else None,
        "requests": list(step.requests),
        "response": step.exchanges[-1].response if step.exchanges else None,
        "attempts": max((e.attempts for e in step.exchanges), default=0),
        "assertions": list(step.assertions),
        "saved": dict(step.saved),
        "probe": step.probe,
        "metering": step.metering,
        "evidence": evidence_path(scenario, step.id) if live and step.exchanges else None,
    }


def summary_document(
    *,
    run_id: str,
    mode: str,
    scenarios: Sequence[ScenarioResult],
    missing_inputs: Sequence[str],
    extra_codes: Sequence[str] = (),
) -> dict[str, Any]:
    live = mode == "live"
    steps = [step for s in scenarios for step in s.steps]
    counts = {outcome: sum(1 for step in steps if step.outcome == outcome) for outcome in OUTCOMES}
    codes = sorted({step.reason_code for step in steps} | set(extra_codes))
    return {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "run_id": run_id,
        "mode": mode,
        "result": result_of(scenarios, extra_codes),
        "counts": counts,
        "reason_codes": codes,
        "readiness": {"ready": not missing_inputs, "missing_inputs": sorted(missing_inputs)},
        "scenarios": [
            {
                "id": s.id,
                "title": s.title,
                "file": s.file,
                "outcome": s.outcome[0],
                "reason_code": s.outcome[1],
                "steps": [_step(s.id, step, live) for step in s.steps],
            }
            for s in scenarios
        ],
    }


def evidence_documents(run_id: str, scenarios: Sequence[ScenarioResult]) -> dict[str, dict[str, Any]]:
    return {
        evidence_path(s.id, step.id): {
            "schema_version": 1,
            "run_id": run_id,
            "scenario": s.id,
            "step": step.id,
            "exchanges": [
                {"request": e.request, "response": e.response, "body": e.body, "attempts": e.attempts,
                 "error": e.error}
                for e in step.exchanges
            ],
        }
        for s in scenarios
        for step in s.steps
        if step.exchanges
    }


def blocker_document(
    *, run_id: str, missing: Sequence[str], codes: Sequence[str], guidance: Sequence[str], rerun: str
) -> dict[str, Any]:
    """BLOCKER.json: what is missing, how to provide each, and the command to run afterwards."""
    covered = {INPUTS[name].reason for name in missing}
    return {
        "schema_version": 1,
        "run_id": run_id,
        "reason_codes": sorted(set(codes) | covered),
        "missing_inputs": [
            {"name": name, "env": list(INPUTS[name].env), "flag": INPUTS[name].flag, "how": INPUTS[name].how}
            for name in sorted(missing)
        ],
        # Missing inputs carry their own "how"; the catalog's remediation covers every other code.
        "guidance": list(guidance) + [CATALOG[c].remediation for c in sorted(set(codes) - covered)],
        "rerun": rerun,
    }


def timings_document(
    *, run_id: str, started_at: str, finished_at: str, duration_ms: int, concurrency: int,
    scenarios: Sequence[ScenarioResult],
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_ms": duration_ms,
        "concurrency": concurrency,
        "steps": [{"scenario": s.id, "step": step.id, "duration_ms": step.duration_ms}
                  for s in scenarios for step in s.steps],
    }


def missing_for(required: Sequence[str], inputs: Mapping[str, Any]) -> list[str]:
    return sorted({name for name in required if not inputs[name].provided})
