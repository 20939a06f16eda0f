"""The turnstile admits tickets in order and lets go of each ticket's event once it has passed."""

from __future__ import annotations

import asyncio
import gc
import weakref

from runner.engine.turnstile import Turnstile


def test_passed_tickets_are_let_go_and_order_holds() -> None:
    # A 10,000-step metered run kept one asyncio.Event per ticket until the receipts were written
    # (issue 11 item 5); a passed ticket's event must be released, and the order still hold.
    async def scenario() -> tuple[Turnstile, list[int], list[weakref.ref[asyncio.Event]]]:
        gate = Turnstile([(n, 0) for n in range(4)])
        events = [weakref.ref(gate._turn[(n, 0)]) for n in range(4)]
        order: list[int] = []

        async def step(n: int) -> None:
            await gate.enter((n, 0))
            order.append(n)
            gate.leave((n, 0))

        await asyncio.gather(*(step(n) for n in (3, 1, 0, 2)))
        gate.give_up(0)  # a late give-up of a scenario already through changes nothing
        await gate.enter((0, 0))  # nor does asking again for a ticket behind the turn
        return gate, order, events

    gate, order, events = asyncio.run(scenario())  # the engine keeps its turnstile to the end of the run
    gc.collect()
    assert order == [0, 1, 2, 3]
    assert [ref() for ref in events] == [None] * 4, gate
