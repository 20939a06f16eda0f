"""The one owner of stopping: the stop switch and its reason, the run deadline, signals and exit 130.

A process meets stops in three phases, all handled here:

1. while Python loads the runner (``loading``), SIGINT and SIGTERM are held: a KeyboardInterrupt
   raised inside an import can surface as another library's error (pydantic-core wraps it in a
   SchemaError). One that arrived meanwhile is delivered as the mask lifts and ends the process
   with exit 130 and no receipts; SIGTERM behaves as Ctrl-C, and an inherited "ignore SIGINT" is
   undone, so a release gate is always stoppable;
2. before the steps run (preflight, the embedded server's start), a signal is a KeyboardInterrupt
   that the CLI turns into ``exit_interrupted``: nothing was written. The deadline runs from the
   run's start-up, though: auth resolution awaits ``before_deadline``, and the run still ends in
   a complete receipt set (blocked, ``timeout``);
3. while the steps run (``Control.armed``), SIGINT, SIGTERM and the deadline set the stop reason
   once and tell the listeners (the engine cancels its scenarios): the step in flight fails with
   that reason and the run ends in a complete receipt set. Until the run returns, a further stop
   is too late to matter, so a second Ctrl-C cannot tear a receipt set in half.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, NoReturn, TypeVar

from runner import exits

__all__ = [
    "DEFAULT_LIVE_DEADLINE_S",
    "STOPS",
    "Control",
    "StopReason",
    "Stopped",
    "exit_interrupted",
    "handlers_restored",
    "loading",
]

STOPS = (signal.SIGINT, signal.SIGTERM)
StopReason = Literal["interrupted", "timeout"]
# A live run without --deadline still ends: 15 minutes is far beyond a release gate's usual minute
# or two (retries and the metering settle window included), and short of a CI job's own limit.
DEFAULT_LIVE_DEADLINE_S = 900.0

T = TypeVar("T")


class Stopped(Exception):
    """The run was stopped (``reason``) while ``Control.before_deadline`` awaited something."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason


def exit_interrupted() -> NoReturn:
    """Exit 130 for an interruption before any receipt was written.

    ``os._exit`` after flushing: CPython turns a KeyboardInterrupt that passed through exec'd code
    into death by SIGINT at interpreter exit, whatever ``sys.exit`` asked for.
    """
    sys.stderr.write("interrupted before the run started: no receipts written\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exits.INTERRUPTED)


@contextmanager
def loading() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while the body imports the runner (phase 1 of the module docstring)."""
    # Both stops raise KeyboardInterrupt, even when the parent left SIGINT ignored (a background job
    # of a non-interactive shell, as CI runners start them).
    for sig in STOPS:
        signal.signal(sig, signal.default_int_handler)
    maskable = hasattr(signal, "pthread_sigmask")
    if maskable:
        signal.pthread_sigmask(signal.SIG_BLOCK, set(STOPS))
    try:
        yield
        if maskable:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, set(STOPS))
    except KeyboardInterrupt:
        exit_interrupted()


@contextmanager
def handlers_restored() -> Iterator[None]:
    """Give the process back its SIGINT/SIGTERM handlers after a run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[signal.Signals, Any] = {sig: signal.getsignal(sig) for sig in STOPS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _too_late(signum: int, frame: object) -> None:
    """A stop after the steps ended changes nothing: the receipts are (being) written and stand."""


class Control:
    """A run's stop switch: set once (the first stop's reason wins), by a signal or the deadline."""

    def __init__(self, deadline: float | None = None, *, started: float | None = None) -> None:
        self.deadline = deadline
        # The deadline counts from here: the run's start-up (``time.monotonic()``), not the first step.
        self._started = time.monotonic() if started is None else started
        self._stopped = threading.Event()
        self._reason: StopReason | None = None
        self._listeners: list[Callable[[StopReason], None]] = []

    @property
    def reason(self) -> StopReason | None:
        """Why the run was stopped; None while it is not."""
        return self._reason if self._stopped.is_set() else None

    def on_stop(self, listener: Callable[[StopReason], None]) -> None:
        """Call ``listener(reason)`` when the run is stopped (the engine cancels its scenarios)."""
        self._listeners.append(listener)

    def stop(self, reason: StopReason) -> None:
        """Stop the run with ``reason``; later stops change nothing."""
        if self._stopped.is_set():
            return
        self._reason = reason
        self._stopped.set()
        for listener in self._listeners:
            listener(reason)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (0 once passed); None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - (time.monotonic() - self._started))

    async def before_deadline(self, awaitable: Awaitable[T]) -> T:
        """``awaitable``'s result, unless the deadline passes first: then the run stops (``timeout``) and
        ``Stopped`` is raised. For what runs before ``armed`` (auth resolution), which the deadline covers too.
        """
        import asyncio  # here, not at the top: see ``armed``

        try:
            return await asyncio.wait_for(awaitable, self.remaining())
        except asyncio.TimeoutError:
            if self.remaining():  # the awaitable's own timeout error, not the deadline
                raise
            self.stop("timeout")
            raise Stopped("timeout") from None

    @contextmanager
    def armed(self) -> Iterator[None]:
        """Route SIGINT/SIGTERM and the deadline to ``stop`` on the running loop (phase 3)."""
        import asyncio  # here, not at the top: the entry point imports this module for every command

        loop = asyncio.get_running_loop()
        installed = []
        for sig in STOPS:
            try:
                loop.add_signal_handler(sig, self.stop, "interrupted")
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
                pass
        left = self.remaining()
        timer = loop.call_later(left, self.stop, "timeout") if left is not None else None
        try:
            yield
        finally:
            if timer:
                timer.cancel()
            for sig in installed:
                loop.remove_signal_handler(sig)
                # Until the run returns (loop teardown, the embedded server's stop), a stop is too late to matter.
                signal.signal(sig, _too_late)
