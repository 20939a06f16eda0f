"""Run scenarios: steps in order within a scenario, scenarios side by side up to ``concurrency``.

Results are kept by declaration order, never by completion order, and metered sections take
turns in declaration order (``turnstile``), so the receipts do not depend on scheduling.
A stop (``runner.control``) cancels every scenario: the step in flight fails with the stop's
reason and the rest are skipped, so an interrupted run still has a result for every step.

A scenario's ``cleanup:`` steps run once its first step has started, whatever became of the
steps (a failure, a block, a stop), each with its own outcome; after a stop they get
``CLEANUP_GRACE_S`` to finish, and a stop during cleanup lets the one in flight carry on for
that grace too, so a real apply is rolled back even when the run is cut short.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

from runner.config import Progress
from runner.control import Control
from runner.engine.results import ScenarioResult, StepResult
from runner.engine.steps import Context, ScenarioState, run_step
from runner.engine.turnstile import Turnstile, sections
from runner.scenario.load import Planned
from runner.scenario.model import AnyStep, CallStep, Scenario

__all__ = ["CLEANUP_GRACE_S", "Engine", "blocked_result"]

CLEANUP_GRACE_S = 10.0


class Engine:
    """Executes planned scenarios once; a stop of ``control`` ends the run early with complete results."""

    def __init__(self, ctx: Context, concurrency: int, control: Control, on_step: Progress | None = None) -> None:
        self._ctx = ctx
        self._control = control
        self._on_step = on_step
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._turnstile = Turnstile(())
        self._tasks: list[asyncio.Task[ScenarioResult]] = []
        control.on_stop(self._cancel)

    def _cancel(self, reason: str) -> None:
        for task in self._tasks:
            task.cancel()

    async def run(self, planned: Sequence[Planned]) -> list[ScenarioResult]:
        spans = [sections(p.scenario) if self._ctx.live else [] for p in planned]
        self._turnstile = Turnstile([(k, n) for k, mine in enumerate(spans) for n in range(len(mine))])
        self._tasks = [asyncio.create_task(self._scenario(k, p, spans[k])) for k, p in enumerate(planned)]
        try:
            return list(await asyncio.gather(*self._tasks))
        finally:
            self._tasks = []  # a done task keeps its result: the caller's copy must be the only one (issue 11)

    async def _scenario(self, number: int, planned: Planned, spans: list[tuple[int, int]]) -> ScenarioResult:
        scenario = planned.scenario
        state = ScenarioState(scenario, planned.folder)
        results: list[StepResult] = []
        began = False
        starts = {start: n for n, (start, _) in enumerate(spans)}
        ends = {end: n for n, (_, end) in enumerate(spans)}
        try:
            async with self._slots:
                for index, step in enumerate(scenario.steps):
                    if results and results[-1].outcome in ("failed", "blocked"):
                        break
                    if self._control.reason:  # stopped before this scenario got here
                        results.append(self._cut_short(step))
                        break
                    if index in starts:
                        await self._turnstile.enter((number, starts[index]))
                    began = True
                    results.append(await self._run(index, state))
                    if index in ends:
                        self._turnstile.leave((number, ends[index]))
        except asyncio.CancelledError:
            if len(results) < len(scenario.steps):
                results.append(self._cut_short(scenario.steps[len(results)]))
        finally:
            self._turnstile.give_up(number)
        cleanup = await self._cleanup(state) if began else tuple(map(_not_started, scenario.cleanup))
        return ScenarioResult(scenario.id, scenario.title, planned.file, tuple(_complete(scenario, results)), cleanup)

    async def _run(self, index: int, state: ScenarioState) -> StepResult:
        started = time.monotonic()
        result = await _guarded(index, state, self._ctx)
        result = replace(result, duration_ms=int((time.monotonic() - started) * 1000))
        if self._on_step:
            self._on_step(state.scenario.id, result)
        return result

    async def _cleanup(self, state: ScenarioState) -> tuple[StepResult, ...]:
        """Every cleanup step, in order; after a stop (before or during them) within ``CLEANUP_GRACE_S``."""
        results: list[StepResult] = []
        first = len(state.scenario.steps)

        async def run_all() -> None:
            for offset in range(len(state.scenario.cleanup)):
                results.append(await self._run(first + offset, state))

        task = asyncio.ensure_future(run_all())
        if not self._control.reason:
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:  # the stop came during cleanup: the step in flight carries on
                pass
        if not task.done():
            await asyncio.wait({task}, timeout=CLEANUP_GRACE_S)
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        cleanup = state.scenario.cleanup
        return tuple(results) + tuple(self._cut_short(step, cleanup=True) for step in cleanup[len(results):])

    def _cut_short(self, step: AnyStep, *, cleanup: bool = False) -> StepResult:
        """The step a stop cut short: failed with the stop's reason (a cleanup step left undone is a failure too)."""
        reason = self._control.reason or "interrupted"
        stopped = "interrupted" if reason == "interrupted" else "out of time"
        message = (f"the run was {stopped}: this cleanup step did not finish within the {CLEANUP_GRACE_S:g} s grace"
                   if cleanup else f"the run was {stopped} during this step")
        return StepResult(id=step.id, kind=step.kind, outcome="failed", reason_code=reason, message=message,
                          call=_call_of(step))


async def _guarded(index: int, state: ScenarioState, ctx: Context) -> StepResult:
    """``run_step``; a bug in the tool itself becomes the step's ``internal_error``, so the set is still written."""
    try:
        return await run_step(index, state, ctx)
    except Exception as exc:  # any error the step did not type is the tool's own
        step = state.scenario.all_steps[index]
        return StepResult(
            id=step.id, kind=step.kind, outcome="failed", reason_code="internal_error",
            message=f"the tool failed during this step ({type(exc).__name__}: {str(exc)[:200]}); please report it",
            call=_call_of(step),
        )


def _call_of(step: AnyStep) -> str | None:
    return step.call if isinstance(step, CallStep) else None


def _not_started(step: AnyStep) -> StepResult:
    """A cleanup step of a scenario that never started: there is nothing to undo."""
    return StepResult(id=step.id, kind=step.kind, outcome="skipped", reason_code="previous_step_failed",
                      message="not run: the scenario never started, so there is nothing to clean up",
                      call=_call_of(step))


def _complete(scenario: Scenario, results: list[StepResult]) -> list[StepResult]:
    """Every declared step gets a result: those after a failed or blocked one are skipped."""
    for step in scenario.steps[len(results):]:
        results.append(StepResult(
            id=step.id, kind=step.kind, outcome="skipped", reason_code="previous_step_failed",
            message="not run: an earlier step of this scenario failed or was blocked", call=_call_of(step),
        ))
    return results


def blocked_result(planned: Planned, reason: str, message: str) -> ScenarioResult:
    """The result of a live scenario preflight blocked: every step blocked with ``reason``, no request sent.

    Its cleanup steps are blocked alike: nothing ran, so there is nothing to undo.
    """
    steps, cleanup = (tuple(StepResult(id=s.id, kind=s.kind, outcome="blocked", reason_code=reason, message=message,
                                       call=_call_of(s)) for s in part)
                      for part in (planned.scenario.steps, planned.scenario.cleanup))
    return ScenarioResult(planned.scenario.id, planned.scenario.title, planned.file, steps, cleanup)
