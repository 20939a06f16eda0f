"""SUMMARY.json documents for the CI report tests: the checked-in example, and one with every outcome."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "receipts" / "example"
# A message a server could send: markup, quotes, workflow-command syntax, a line break, a control character.
NASTY = 'got <b>"500"</b> & 50% off: a,b\r\nnext line\x07'


def example_summary() -> dict[str, Any]:
    """The example's release-gate scenario alone (the example also holds the canary rollout)."""
    document: dict[str, Any] = json.loads((EXAMPLE / "SUMMARY.json").read_text(encoding="utf-8"))
    document["scenarios"] = [s for s in document["scenarios"] if s["id"] == "release-gate"]
    return document


def mixed_summary() -> dict[str, Any]:
    """The example with a failed assertion, a blocked apply, a planned step, lines and a cleanup step."""
    doc = example_summary()
    scenario = doc["scenarios"][0]
    steps = {step["id"]: step for step in scenario["steps"]}
    for line, step in enumerate(scenario["steps"], start=10):
        step["line"] = line
    score = steps["score"]
    score.update(outcome="failed", reason_code="health_below_threshold", message=NASTY)
    score["assertions"] = [{"path": "overall_score", "op": "min", "expected": 70, "actual": 55, "passed": False,
                            "reason_code": "health_below_threshold"}]
    steps["apply"].update(outcome="blocked", reason_code="confirmation_required", message="needs --confirm")
    steps["probe"].update(outcome="planned", reason_code="dry_run_planned", message="would send 1048576 bytes")
    cleanup = copy.deepcopy(steps["rollback"])
    cleanup.update(id="undo", line=40)
    scenario["cleanup"] = [cleanup]
    return doc
