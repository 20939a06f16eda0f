"""What the engine hands on: frozen step and scenario results, failures as data.

Collectors (summary, evidence, timings) only read these; nothing downstream calls back
into the engine or the SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Exchanged", "ScenarioResult", "StepResult", "scenario_outcome"]

Outcome = Literal["passed", "failed", "blocked", "skipped", "planned"]


@dataclass(frozen=True)
class Exchanged:
    """One request as evidence: its redacted view, the answer's view and body, and any error."""

    request: dict[str, Any]
    response: dict[str, Any] | None = None
    body: Any = None
    attempts: int = 1
    error: dict[str, str] | None = None


@dataclass(frozen=True)
class StepResult:
    id: str
    kind: Literal["call", "probe", "metering"]
    outcome: Outcome
    reason_code: str
    message: str
    call: str | None = None
    requests: tuple[dict[str, Any], ...] = ()
    exchanges: tuple[Exchanged, ...] = ()
    assertions: tuple[dict[str, Any], ...] = ()
    saved: dict[str, Any] = field(default_factory=dict)
    probe: dict[str, Any] | None = None
    metering: dict[str, Any] | None = None
    duration_ms: int = 0


@dataclass(frozen=True)
class ScenarioResult:
    id: str
    title: str
    file: str
    steps: tuple[StepResult, ...]

    @property
    def outcome(self) -> tuple[Outcome, str]:
        return scenario_outcome(self.steps)


def scenario_outcome(steps: tuple[StepResult, ...]) -> tuple[Outcome, str]:
    """A scenario fails with its first failed step, else blocks with its first blocked one."""
    for wanted in ("failed", "blocked"):
        for step in steps:
            if step.outcome == wanted:
                return wanted, step.reason_code
    if any(step.outcome == "planned" for step in steps):
        return "planned", "dry_run_planned"
    if any(step.outcome == "passed" for step in steps):
        return "passed", "ok"
    return "skipped", steps[0].reason_code if steps else "ok"
