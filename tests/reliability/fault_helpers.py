"""Helpers for the fault-matrix and exactly-once tests: one live gate run against a fresh, faulted server.

A cell of the matrix is (route, fault): a fresh reference server with that fault, one live run
of the confirmed release gate, and what came of it (step outcomes, exit code, wall time, the
attempts each faulted request took, the receipts' validity, the server's own count of effects).
``render_matrix`` turns the observed outcomes into the checked-in ``MATRIX.md``.
Imported by module name, like the other test helper modules; no ``conftest.py`` here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from runner.pipeline import RunConfig, run
from runner.receipts.validate import validate_run_dir
from velikey.testing import Fault, ReferenceServer, ServerConfig

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "scenarios"
MATRIX_MD = HERE / "MATRIX.md"
# The release gate with apply for real and a confirmed rollback: reaches every route the gate can touch.
GATE = SCENARIOS / "release-gate-confirmed.yaml"
GATE_ID = "release-gate-confirmed"
GATE_STEPS = ("health", "policies", "usage-before", "score", "plan", "apply", "rollback", "probe", "telemetry-delta")
MAX_RETRIES = 2

# Each route the gate touches, the step that reaches it first, and a short column name.
ROUTES: dict[str, tuple[str, str]] = {
    "GET /api/healthz": ("health", "healthz"),
    "GET /api/policies": ("policies", "policies"),
    "GET /api/usage/summary": ("usage-before", "usage"),
    "GET /api/alerts": ("score", "alerts"),
    "POST /api/rollouts/plan": ("plan", "plan"),
    "POST /api/rollouts/apply": ("apply", "apply"),
    "POST /api/rollouts/rollback": ("rollback", "rollback"),
    "POST /ingest": ("probe", "ingest"),
}

# A ``retry_after`` of this value becomes an HTTP-date this many seconds ahead when the cell starts.
HTTP_DATE_AHEAD = "http-date+2s"


def live_env(server: ReferenceServer) -> dict[str, str]:
    """Every live input of ``server`` as a user would export them."""
    return server.live_env()


def http_date(ahead_s: float) -> str:
    """An RFC 9110 HTTP-date ``ahead_s`` seconds from now (whole seconds, so 1 s less at worst)."""
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=ahead_s), usegmt=True)


def fault(route: str, **spec: Any) -> Fault:
    """A ``Fault`` on ``route``; ``retry_after=HTTP_DATE_AHEAD`` is resolved to a date now."""
    if spec.get("retry_after") == HTTP_DATE_AHEAD:
        spec["retry_after"] = http_date(2)
    return Fault(route, **spec)


@dataclass(frozen=True)
class GateRun:
    """What one live run did, as the receipts and the server tell it."""

    exit_code: int
    result: str
    steps: dict[str, tuple[str, str]]
    elapsed_s: float
    problems: list[str]
    durations_ms: dict[str, int]
    state: dict[str, Any]
    out: Path
    summary: dict[str, Any] = field(repr=False)

    def first_unpassed(self) -> tuple[str, str] | None:
        """(step, reason) of the first step that did not pass, or None when the run passed throughout."""
        for step, (outcome, reason) in self.steps.items():
            if outcome != "passed":
                return step, reason
        return None

    def evidence(self, step: str, scenario: str = GATE_ID) -> dict[str, Any] | None:
        path = self.out / "evidence" / scenario / f"{step}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

    def attempts(self, step: str, route: str, scenario: str = GATE_ID) -> int | None:
        """Attempts the first exchange of ``step`` with ``route`` took (from its evidence), if there is one."""
        evidence = self.evidence(step, scenario)
        if evidence is None:
            return None
        method, path = route.split(" ", 1)
        for exchange in evidence["exchanges"]:
            request = exchange["request"]
            url = request["url"]
            target = url.startswith("$SDK_E2E_PAYLOAD_URL") if path == "/ingest" else url.split("?")[0].endswith(path)
            if request["method"] == method and target:
                return int(exchange["attempts"])
        return None


def run_gate(faults: Sequence[Fault], out: Path, *, server: Mapping[str, Any] | None = None,
             **options: Any) -> GateRun:
    """Start a fresh server with ``faults``, run the gate live against it (``run_against``), stop it."""
    with ReferenceServer(ServerConfig(faults=tuple(faults), **(server or {}))) as ref:
        return run_against(ref, out, **options)


def run_against(ref: ReferenceServer, out: Path, *, paths: Sequence[Path] = (GATE,), request_timeout: float = 10.0,
                deadline: float = 30.0, max_retries: int = MAX_RETRIES, confirm: bool = True,
                run_id: str | None = None) -> GateRun:
    """Run ``paths`` live against a running server, as a user would (env inputs), and read back what happened."""
    started = time.monotonic()
    report = run(RunConfig(
        paths=tuple(paths), mode="live", env=live_env(ref), out=out, confirm=confirm,
        request_timeout=request_timeout, deadline=deadline, max_retries=max_retries, run_id=run_id,
    ))
    elapsed = time.monotonic() - started
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    summary = report.summary
    return GateRun(
        exit_code=report.exit_code,
        result=summary["result"],
        steps={f"{sc['id']}/{s['id']}" if len(summary["scenarios"]) > 1 else s["id"]: (s["outcome"], s["reason_code"])
               for sc in summary["scenarios"] for s in sc["steps"]},
        elapsed_s=elapsed,
        problems=validate_run_dir(out),
        durations_ms={s["step"]: s["duration_ms"] for s in timings["steps"]},
        state=ref.state(),
        out=out,
        summary=summary,
    )


def expected_steps(failing: tuple[str, str] | None, order: Sequence[str] = GATE_STEPS) -> dict[str, tuple[str, str]]:
    """Every step passes up to ``failing`` (step, reason), which fails; the steps after it are skipped."""
    expected: dict[str, tuple[str, str]] = {}
    after = False
    for step in order:
        if after:
            expected[step] = ("skipped", "previous_step_failed")
        elif failing is not None and step == failing[0]:
            expected[step], after = ("failed", failing[1]), True
        else:
            expected[step] = ("passed", "ok")
    assert failing is None or after, failing
    return expected


# -- the matrix as Markdown --------------------------------------------------------------------

def describe(seen: tuple[str, str] | None, route: str) -> str:
    """A cell's text: ``pass``, the reason code, or ``reason @step`` when another step than the route's failed."""
    if seen is None:
        return "pass"
    step, reason = seen
    return reason if step == ROUTES[route][0] else f"{reason} @{step}"


def render_matrix(rows: Sequence[str], notes: Mapping[str, str], cells: Mapping[tuple[str, str], str],
                  header: str) -> str:
    """``MATRIX.md``: one row per fault, one column per route; ``cells[(fault, route)]`` is the observed text."""
    routes = list(ROUTES)
    lines = [header, "",
             "| fault | " + " | ".join(f"`{ROUTES[r][1]}`" for r in routes) + " |",
             "|---|" + "---|" * len(routes)]
    for row in rows:
        texts = [cells.get((row, route), "—") for route in routes]
        lines.append(f"| {row} | " + " | ".join(texts) + " |")
    lines += ["", "Routes (column → route, first step that reaches it):", ""]
    lines += [f"- `{short}`: `{route}` (step `{step}`)" for route, (step, short) in ROUTES.items()]
    lines += ["", "Faults:", ""]
    lines += [f"- **{row}**: {notes[row]}" for row in rows]
    return "\n".join(lines) + "\n"
