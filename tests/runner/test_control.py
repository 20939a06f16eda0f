"""``runner.control`` owns stopping: the first stop's reason wins; signals and the deadline go through it."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from runner.control import Control, Stopped, StopReason, handlers_restored


def test_the_first_stop_wins_and_listeners_hear_it_once() -> None:
    control = Control()
    heard: list[StopReason] = []
    control.on_stop(heard.append)
    assert control.reason is None
    control.stop("timeout")
    control.stop("interrupted")
    assert control.reason == "timeout" and heard == ["timeout"]


def test_the_deadline_stops_the_run_with_timeout() -> None:
    async def go() -> StopReason | None:
        control = Control(deadline=0.01)
        stopped = asyncio.Event()
        control.on_stop(lambda reason: stopped.set())
        with control.armed():
            await stopped.wait()
        return control.reason

    assert asyncio.run(go()) == "timeout"


def test_the_deadline_counts_from_start_up_not_from_arming() -> None:
    # Started an hour ago with a minute's deadline: arming stops the run at once.
    async def go() -> StopReason | None:
        control = Control(deadline=60, started=time.monotonic() - 3600)
        assert control.remaining() == 0
        stopped = asyncio.Event()
        control.on_stop(lambda reason: stopped.set())
        with control.armed():
            await stopped.wait()
        return control.reason

    assert asyncio.run(go()) == "timeout"


def test_what_runs_before_arming_is_ended_by_the_deadline_as_a_stop() -> None:
    async def go() -> tuple[str, StopReason | None]:
        control = Control(deadline=0.01)
        try:
            await control.before_deadline(asyncio.Event().wait())  # never set: a login that hangs
        except Stopped as stop:
            return stop.reason, control.reason
        return "returned", control.reason

    assert asyncio.run(go()) == ("timeout", "timeout")


def test_sigint_while_armed_is_a_stop_then_too_late_then_the_old_handler_is_back() -> None:
    before = signal.getsignal(signal.SIGINT)

    async def go() -> StopReason | None:
        control = Control()
        stopped = asyncio.Event()
        control.on_stop(lambda reason: stopped.set())
        with control.armed():
            os.kill(os.getpid(), signal.SIGINT)
            await stopped.wait()
        os.kill(os.getpid(), signal.SIGINT)  # after the steps: changes nothing, raises nothing
        return control.reason

    with handlers_restored():
        assert asyncio.run(go()) == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before
