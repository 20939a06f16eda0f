"""Run scenarios: steps in order within a scenario, scenarios side by side up to ``concurrency``.

Results are kept by declaration order, never by completion order, and metered sections take
turns in declaration order (``turnstile``), so the receipts do not depend on scheduling.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from runner.engine.results import ScenarioResult, StepResult
from runner.engine.steps import Context, ScenarioState, run_step
from runner.engine.turnstile import Turnstile, sections
from runner.scenario.model import CallStep, Scenario

__all__ = ["Engine", "Planned", "Progress"]

# Called as each step finishes (completion order): for progress display only, never for receipts.
Progress = Callable[[str, StepResult], None]


@dataclass(frozen=True)
class Planned:
    """A scenario with the file it came from (as shown in receipts) and its folder on disk."""

    scenario: Scenario
    file: str
    folder: Path


class Engine:
    """Executes planned scenarios once; ``stop(reason)`` ends the run early with complete results."""

    def __init__(self, ctx: Context, concurrency: int, on_step: Progress | None = None) -> None:
        self._ctx = ctx
        self._on_step = on_step
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._turnstile = Turnstile(())
        self._tasks: list[asyncio.Task[ScenarioResult]] = []
        self._stop_reason = "interrupted"

    def stop(self, reason: str) -> None:
        """Cancel every scenario; the step in flight fails with ``reason``, the rest are skipped."""
        self._stop_reason = reason
        for task in self._tasks:
            task.cancel()

    async def run(self, planned: Sequence[Planned]) -> list[ScenarioResult]:
        spans = [sections(p.scenario) if self._ctx.live else [] for p in planned]
        self._turnstile = Turnstile([(k, n) for k, mine in enumerate(spans) for n in range(len(mine))])
        self._tasks = [asyncio.create_task(self._scenario(k, p, spans[k])) for k, p in enumerate(planned)]
        return list(await asyncio.gather(*self._tasks))

    async def _scenario(self, number: int, planned: Planned, spans: list[tuple[int, int]]) -> ScenarioResult:
        scenario = planned.scenario
        state = ScenarioState(scenario, planned.folder)
        results: list[StepResult] = []
        starts = {start: n for n, (start, _) in enumerate(spans)}
        ends = {end: n for n, (_, end) in enumerate(spans)}
        try:
            async with self._slots:
                for index in range(len(scenario.steps)):
                    if results and results[-1].outcome in ("failed", "blocked"):
                        break
                    if index in starts:
                        await self._turnstile.enter((number, starts[index]))
                    started = time.monotonic()
                    result = await run_step(index, state, self._ctx)
                    results.append(_timed(result, started))
                    if self._on_step:
                        self._on_step(scenario.id, results[-1])
                    if index in ends:
                        self._turnstile.leave((number, ends[index]))
        except asyncio.CancelledError:
            step = scenario.steps[len(results)] if len(results) < len(scenario.steps) else None
            if step is not None:
                results.append(StepResult(
                    id=step.id, kind=step.kind, outcome="failed", reason_code=self._stop_reason,
                    message=f"the run was {'interrupted' if self._stop_reason == 'interrupted' else 'out of time'} "
                            "during this step",
                    call=step.call if isinstance(step, CallStep) else None,
                ))
        finally:
            self._turnstile.give_up(number)
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
