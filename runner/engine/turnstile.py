"""Metered sections run one at a time, in declaration order, whatever ``--concurrency`` is.

Usage metering is tenant-wide: a probe in one scenario moves the ``telemetryDataGB`` another
scenario reads. So every step that reads or moves metered usage — probes, every call whose
operation touches a metered route (``runner.scenario.metered``; derived from the SDK's operation table,
so a call that reads usage indirectly, such as the health score, is not forgotten), and a whole
window from a metering step's ``before`` to the metering step — is a section, and sections
take turns in (scenario, section) declaration order. The values every scenario sees are then
those of a serial run: receipts stay byte-identical at any concurrency, and a metering delta
only ever contains its own scenario's bytes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from runner.scenario.metered import METERED_CALLS, METERED_ROUTES
from runner.scenario.model import CallStep, MeteringStep, ProbeStep, Scenario

__all__ = ["METERED_CALLS", "METERED_ROUTES", "Turnstile", "sections"]

Ticket = tuple[int, int]


def sections(scenario: Scenario) -> list[tuple[int, int]]:
    """The scenario's metered sections as (first step index, last step index), in order.

    Linear in the steps: a 10,000-step metered scenario spent seconds re-scanning every span for every step.
    """
    position = {step.id: index for index, step in reversed(list(enumerate(scenario.steps)))}
    windows = [
        (position[step.metering.before], index)
        for index, step in enumerate(scenario.steps)
        if isinstance(step, MeteringStep)
    ]
    spans: list[tuple[int, int]] = []
    if windows:
        spans.append((min(s for s, _ in windows), max(e for _, e in windows)))
    start, end = spans[0] if spans else (0, -1)  # the one window; single-step spans never cover a later step
    for index, step in enumerate(scenario.steps):
        metered = isinstance(step, ProbeStep) or (isinstance(step, CallStep) and step.call in METERED_CALLS)
        if metered and not start <= index <= end:
            spans.append((index, index))
    return sorted(spans)


class Turnstile:
    """Admits tickets strictly in order; a ticket given up (scenario ended early) is skipped."""

    def __init__(self, tickets: Sequence[Ticket]) -> None:
        self._order = sorted(tickets)
        self._turn = {ticket: asyncio.Event() for ticket in self._order}
        self._done: set[Ticket] = set()
        self._position = 0
        self._advance()

    async def enter(self, ticket: Ticket) -> None:
        turn = self._turn.get(ticket)  # gone once passed: a ticket behind the turn has nothing to wait for
        if turn is not None:
            await turn.wait()

    def leave(self, ticket: Ticket) -> None:
        self._done.add(ticket)
        self._advance()

    def give_up(self, scenario: int) -> None:
        """Mark every ticket of ``scenario`` done; synchronous so it is safe while being cancelled."""
        self._done.update(t for t in self._order if t[0] == scenario)
        self._advance()

    def _advance(self) -> None:
        while self._position < len(self._order) and self._order[self._position] in self._done:
            # A passed ticket's event is dropped: a 10,000-step metered run kept 10,000 of them to the end.
            self._turn.pop(self._order[self._position], None)
            self._position += 1
        if self._position < len(self._order):
            self._turn[self._order[self._position]].set()
