"""The fault matrix: every route the release gate touches × every fault the reference server injects.

Each cell starts a fresh reference server with one fault, runs the confirmed release gate live
against it as a user would (env inputs, ``--confirm``, ``max_retries=2``, a run deadline) and
checks what a gate relies on: each step's outcome and reason code, the exit code, that the run
ended within its deadline, how many attempts the faulted request took, that the receipt set
validates, and that no effect happened twice. Transient faults within the retry budget pass;
permanent ones fail the step that met them with the reason code of the fault.

Cells are independent runs, so they run side by side in a thread pool (started by the
``matrix`` fixture for exactly the selected cells); each test waits for its own. The observed
matrix is printed at the end and, when every cell ran, written to ``MATRIX.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fault_helpers import (
    HTTP_DATE_AHEAD,
    MATRIX_MD,
    MAX_RETRIES,
    ROUTES,
    GateRun,
    describe,
    expected_steps,
    fault,
    render_matrix,
    run_gate,
)

pytestmark = pytest.mark.slow

WORKERS = 8
SLOW_TIMEOUT_S = 1.0  # the request timeout of the delay and hang cells
DEADLINE_S = 20.0  # every cell's run deadline; none should come near it but the deadline cells
DEADLINE_CELL_S = 3.0  # the run deadline of the cells that only the deadline can end
# Receipts are written after the deadline fires; this bounds how long that may take.
WRITE_GRACE_S = 1.5
PAYLOAD_BYTES = 1048576  # the gate's one probe

Failing = tuple[str, str] | None  # (step, reason) of the first step that does not pass; None: the run passes


@dataclass(frozen=True)
class Row:
    """One fault, applied to each of ``routes`` in turn; ``reason`` is what its route's step fails with."""

    name: str
    key: str
    spec: dict[str, Any]
    reason: str | None
    attempts: int | None
    note: str
    routes: tuple[str, ...] = tuple(ROUTES)
    request_timeout: float = 10.0
    deadline: float = DEADLINE_S
    # route -> (first step that does not pass, attempts on the route) where the route's own step is not it.
    overrides: dict[str, tuple[Failing, int | None]] = field(default_factory=dict)


POSTS = ("POST /api/rollouts/plan", "POST /api/rollouts/apply", "POST /api/rollouts/rollback", "POST /ingest")
USAGE = "GET /api/usage/summary"
RETRIED = MAX_RETRIES + 1  # attempts of a request that is retried until the budget runs out


def _rows() -> list[Row]:
    rows = []
    for status in (500, 502, 503, 504):
        rows += [
            Row(f"{status} ×1", f"{status}x1", {"status": status, "times": 1}, None, 2, f"answer {status} once"),
            Row(f"{status} ×2", f"{status}x2", {"status": status, "times": 2}, None, 3, f"answer {status} twice"),
            Row(f"{status} always", f"{status}", {"status": status}, "server_error", RETRIED,
                f"answer {status} to every request"),
        ]
    rows += [
        Row("429 Retry-After: 1 ×1", "429s-x1", {"status": 429, "retry_after": "1", "times": 1}, None, 2,
            "429 once, `Retry-After: 1` (seconds); the retry must wait for it"),
        Row("429 Retry-After: 1 always", "429s", {"status": 429, "retry_after": "1"}, "rate_limited", RETRIED,
            "429 with `Retry-After: 1` to every request"),
        Row("429 Retry-After: date ×1", "429date-x1", {"status": 429, "retry_after": HTTP_DATE_AHEAD, "times": 1},
            None, 2, "429 once, `Retry-After` as an HTTP-date 1-2 s ahead"),
        Row("429 Retry-After: date always", "429date", {"status": 429, "retry_after": HTTP_DATE_AHEAD},
            "rate_limited", RETRIED, "429 with the same HTTP-date `Retry-After` to every request"),
        Row("delay 3 s ×1", "delay-x1", {"delay_s": 3.0, "times": 1}, None, 2,
            f"answer once after 3 s, beyond the {SLOW_TIMEOUT_S:g} s request timeout",
            request_timeout=SLOW_TIMEOUT_S),
        Row("delay 3 s always", "delay", {"delay_s": 3.0}, "timeout", RETRIED,
            f"answer every request after 3 s (request timeout {SLOW_TIMEOUT_S:g} s)", request_timeout=SLOW_TIMEOUT_S),
        Row("hang ×1", "hang-x1", {"action": "hang", "times": 1}, None, 2,
            "process the request, then never answer, once", request_timeout=SLOW_TIMEOUT_S),
        Row("hang always", "hang", {"action": "hang"}, "timeout", RETRIED,
            f"process every request and never answer (request timeout {SLOW_TIMEOUT_S:g} s)",
            request_timeout=SLOW_TIMEOUT_S),
        Row("hang, run deadline", "hang-deadline", {"action": "hang"}, "timeout", None,
            f"never answer, with a 30 s request timeout: only the {DEADLINE_CELL_S:g} s run deadline ends the run",
            request_timeout=30.0, deadline=DEADLINE_CELL_S),
        Row("drop ×1", "drop-x1", {"action": "drop", "times": 1}, None, 2,
            "process the request, then close the connection without an answer, once"),
        Row("drop always", "drop", {"action": "drop"}, "network_error", RETRIED,
            "process every request and close the connection without an answer"),
        Row("malformed", "malformed", {"action": "malformed"}, "invalid_response", 1,
            "answer 200 with half a JSON document (not retried: the request was answered)"),
        Row("corrupt ×1", "corrupt-x1", {"action": "corrupt", "times": 1}, None, 1,
            "answer once with the same JSON shape, wrong content (numbers +1, strings marked); "
            "on the hash echo, the digest of altered bytes",
            overrides={
                "GET /api/healthz": (("health", "assertion_failed"), 1),
                # Only the first usage answer is off by 1 GB, so the delta is off by 1 GB.
                USAGE: (("telemetry-delta", "metering_delta_mismatch"), 1),
                # A corrupted plan id is only found out when apply names it; a corrupted token when rollback does.
                "POST /api/rollouts/plan": (("apply", "not_found"), 1),
                "POST /api/rollouts/apply": (("rollback", "not_found"), 1),
                "POST /ingest": (("probe", "payload_integrity_mismatch"), 1),
            }),
        Row("corrupt always", "corrupt", {"action": "corrupt"}, None, 1,
            "every usage answer 1 GB (and 1 agent, 1 day) high: the delta is still right", routes=(USAGE,)),
        Row("401", "401", {"status": 401}, "auth_invalid", 1, "answer 401 (session rejected)"),
        Row("401 after 1", "401-after1", {"status": 401, "after": 1}, None, None,
            "the session expires after one usage request: the health score's usage call meets it",
            routes=(USAGE,), overrides={USAGE: (("score", "auth_invalid"), 1)}),
        Row("401 after 2", "401-after2", {"status": 401, "after": 2}, None, None,
            "the session expires after two usage requests: the metering step meets it",
            routes=(USAGE,), overrides={USAGE: (("telemetry-delta", "auth_invalid"), 1)}),
        Row("403", "403", {"status": 403}, "auth_forbidden", 1, "answer 403"),
        Row("404", "404", {"status": 404}, "not_found", 1,
            "answer 404 (for plan: the policy does not exist); health falls back to `GET /health`",
            overrides={"GET /api/healthz": (None, None)}),
        Row("409", "409", {"status": 409}, "conflict", 1, "answer 409 (e.g. the plan is already applied)",
            routes=POSTS),
    ]
    return rows


ROWS = _rows()


@dataclass(frozen=True)
class Cell:
    row: Row
    route: str

    @property
    def id(self) -> str:
        return f"{ROUTES[self.route][1]}-{self.row.key}"

    @property
    def step(self) -> str:
        return ROUTES[self.route][0]

    def expected(self) -> tuple[Failing, int | None]:
        if self.route in self.row.overrides:
            return self.row.overrides[self.route]
        failing = None if self.row.reason is None else (self.step, self.row.reason)
        return failing, self.row.attempts

    def run(self, out: Path) -> GateRun:
        return run_gate((fault(self.route, **self.row.spec),), out, request_timeout=self.row.request_timeout,
                        deadline=self.row.deadline)


CELLS = [Cell(row, route) for row in ROWS for route in row.routes]

def _params() -> list[Any]:
    return [pytest.param(cell, id=cell.id) for cell in CELLS]


class Matrix:
    """The selected cells, running in a thread pool; ``seen`` keeps what each did for the table."""

    def __init__(self, cells: list[Cell], root: pytest.TempPathFactory) -> None:
        self.cells = cells
        self.seen: dict[str, str] = {}
        self.started = time.monotonic()
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="fault-cell")
        # Longest first, so the pool is not left waiting on one slow cell at the end.
        ordered = sorted(cells, key=lambda c: -(c.row.request_timeout < 5 or c.row.deadline < DEADLINE_S
                                                 or c.row.spec.get("status") == 429))
        self._futures: dict[str, Future[GateRun]] = {
            cell.id: self._pool.submit(cell.run, root.mktemp(cell.id) / "run") for cell in ordered
        }

    def result(self, cell: Cell) -> GateRun:
        try:
            seen = self._futures[cell.id].result(timeout=90)
        except BaseException as exc:
            self.seen[cell.id] = f"ERROR {type(exc).__name__}"
            raise
        failing, _ = cell.expected()
        text = describe(seen.first_unpassed(), cell.route)
        if seen.first_unpassed() != failing:
            text += f" (expected {describe(failing, cell.route)})"
        self.seen[cell.id] = text
        return seen

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def markdown(self) -> str:
        cells = {(c.row.name, c.route): self.seen.get(c.id, "not run") for c in self.cells}
        header = (
            "# Fault matrix: the confirmed release gate under every injected fault\n\n"
            "Generated by `python -m pytest tests/reliability -q -m slow -k fault_matrix` "
            "(`tests/reliability/test_fault_matrix.py`); do not edit by hand.\n\n"
            "Each cell: a fresh reference server with one fault on one route, one live run of "
            "`tests/reliability/scenarios/release-gate-confirmed.yaml` with `confirm=True`, "
            f"`max_retries={MAX_RETRIES}`, request timeout 10 s ({SLOW_TIMEOUT_S:g} s for delay and hang), "
            f"run deadline {DEADLINE_S:g} s ({DEADLINE_CELL_S:g} s for the deadline row). "
            "`pass`: every step passed (exit 0). Otherwise the reason code of the first step that did not pass "
            "(exit 1), with `@step` when that is not the step that first reaches the route. "
            "Every cell also checks the exit code, the run's wall time against its deadline, the attempts "
            "the faulted request took, `validate_run_dir(out) == []` and that no effect happened twice."
        )
        return render_matrix([r.name for r in ROWS], {r.name: r.note for r in ROWS}, cells, header)


@pytest.fixture(scope="module")
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    selected = [
        item.callspec.params["cell"] for item in request.session.items
        if getattr(item, "originalname", None) == "test_fault_matrix" and item.module is sys.modules[__name__]
    ]
    matrix = Matrix(selected, tmp_path_factory)
    try:
        yield matrix
    finally:
        matrix.close()
        text = matrix.markdown()
        complete = {c.id for c in selected} == {c.id for c in CELLS} and len(matrix.seen) == len(CELLS)
        if complete:
            MATRIX_MD.write_text(text, encoding="utf-8")
        _show(request.config, text, f"fault matrix: {len(matrix.seen)} cells in "
              f"{time.monotonic() - matrix.started:.1f} s; MATRIX.md "
              + ("written" if complete else "not written (not every cell ran)"))


def _show(config: pytest.Config, text: str, footer: str) -> None:
    """Print the table on the terminal, past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
        reporter.write_line("")
        for line in text.splitlines():
            if line.startswith("|"):
                reporter.write_line(line)
        reporter.write_line(footer)


@pytest.mark.parametrize("cell", _params())
def test_fault_matrix(cell: Cell, matrix: Matrix) -> None:
    seen = matrix.result(cell)
    failing, attempts = cell.expected()
    context = (cell.id, seen.steps, seen.out)

    assert seen.problems == [], context
    assert seen.steps == expected_steps(failing), context
    assert (seen.exit_code, seen.result) == ((0, "pass") if failing is None else (1, "fail")), context
    # Nothing hangs: the run ends within its deadline (plus the time to write the receipts).
    assert seen.elapsed_s < cell.row.deadline + WRITE_GRACE_S, (seen.elapsed_s, context)
    if cell.row.deadline < DEADLINE_S:
        assert seen.elapsed_s >= cell.row.deadline - 0.1, (seen.elapsed_s, context)
    # The retry loop did what the fault asks for: retried within the budget, and not the unretryable.
    if attempts is not None:
        assert seen.attempts(cell.step, cell.route) == attempts, context
    # Retry-After in seconds is honoured: each retry after a 429 waited at least that long.
    if cell.row.spec.get("retry_after") == "1" and attempts is not None:
        assert seen.durations_ms[cell.step] >= 1000 * (attempts - 1), (seen.durations_ms, context)
    # Whatever happened, no effect happened twice: one key per effectful step, one payload metered once.
    effects = seen.state["effects"]
    assert all(len(effects[kind]) <= 1 for kind in ("apply", "rollback", "ingest")), (effects, context)
    assert seen.state["ingested_bytes"] in (0, PAYLOAD_BYTES), (seen.state, context)
    assert seen.state["faults_injected"].get(cell.route, 0) >= 1, (seen.state, context)
