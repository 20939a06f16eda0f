"""Run scenarios: steps in order within a scenario, scenarios side by side up to ``concurrency``.

Results are kept by declaration order, never by completion order, so the receipts do not
depend on scheduling. Metering windows (from a ``before`` step to its metering step) are
exclusive with every other scenario's probes and windows: a delta measured against a
shared tenant must only contain this scenario's bytes, at any ``--concurrency``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from runner.engine.results import ScenarioResult, StepResult
from runner.engine.steps import Context, ScenarioState, run_step
from runner.scenario.model import CallStep, MeteringStep, ProbeStep, Scenario

__all__ = ["Engine", "Planned", "Progress"]

# Called as each step finishes (completion order): for progress display only, never for receipts.
Progress = Callable[[str, StepResult], None]


@dataclass(frozen=True)
class Planned:
    """A scenario with the file it came from (as shown in receipts) and its folder on disk."""

    scenario: Scenario
    file: str
    folder: Path


def _window(scenario: Scenario) -> tuple[int, int] | None:
    spans = []
    for index, step in enumerate(scenario.steps):
        if isinstance(step, MeteringStep):
            start = next(i for i, s in enumerate(scenario.steps) if s.id == step.metering.before)
            spans.append((start, index))
    if not spans:
        return None
    return min(s for s, _ in spans), max(e for _, e in spans)


class Engine:
    """Executes planned scenarios once; ``stop(reason)`` ends the run early with complete results."""

    def __init__(self, ctx: Context, concurrency: int, on_step: Progress | None = None) -> None:
        self._ctx = ctx
        self._on_step = on_step
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._metering = asyncio.Lock()
        self._tasks: list[asyncio.Task[ScenarioResult]] = []
        self._stop_reason = "interrupted"

    def stop(self, reason: str) -> None:
        """Cancel every scenario; the step in flight fails with ``reason``, the rest are skipped."""
        self._stop_reason = reason
        for task in self._tasks:
            task.cancel()

    async def run(self, planned: Sequence[Planned]) -> list[ScenarioResult]:
        self._tasks = [asyncio.create_task(self._scenario(p)) for p in planned]
        return list(await asyncio.gather(*self._tasks))

    async def _scenario(self, planned: Planned) -> ScenarioResult:
        scenario = planned.scenario
        state = ScenarioState(scenario, planned.folder)
        results: list[StepResult] = []
        window = _window(scenario) if self._ctx.live else None
        try:
            async with self._slots, AsyncExitStack() as held:
                for index, step in enumerate(scenario.steps):
                    if results and results[-1].outcome in ("failed", "blocked"):
                        break
                    if window and index == window[0]:
                        await held.enter_async_context(self._metering)
                    started = time.monotonic()
                    if self._ctx.live and isinstance(step, ProbeStep) and not (window and window[0] <= index):
                        async with self._metering:
                            result = await run_step(index, state, self._ctx)
                    else:
                        result = await run_step(index, state, self._ctx)
                    results.append(_timed(result, started))
                    if self._on_step:
                        self._on_step(scenario.id, results[-1])
                    if window and index == window[1]:
                        await held.aclose()
        except asyncio.CancelledError:
            step = scenario.steps[len(results)] if len(results) < len(scenario.steps) else None
            if step is not None:
                results.append(StepResult(
                    id=step.id, kind=step.kind, outcome="failed", reason_code=self._stop_reason,
                    message=f"the run was {'interrupted' if self._stop_reason == 'interrupted' else 'out of time'} "
                            "during this step",
                    call=step.call if isinstance(step, CallStep) else None,
                ))
        return ScenarioResult(scenario.id, scenario.title, planned.file, tuple(_complete(scenario, results)))


def _timed(result: StepResult, started: float) -> StepResult:
    return replace(result, duration_ms=int((time.monotonic() - started) * 1000))


def _complete(scenario: Scenario, results: list[StepResult]) -> list[StepResult]:
    """Every declared step gets a result: those after a failed or blocked one are skipped."""
    for step in scenario.steps[len(results):]:
        results.append(StepResult(
            id=step.id, kind=step.kind, outcome="skipped", reason_code="previous_step_failed",
            message="not run: an earlier step of this scenario failed or was blocked",
            call=step.call if isinstance(step, CallStep) else None,
        ))
    return results
