"""``wait_for``: poll a call until a predicate holds, else ``WaitTimeoutError``.

The schedule (when to poll next, when to give up) is one object shared by the async loop
and the blocking one, so the two cannot drift; sleep and clock are the client's injected
ones, so tests never really wait and the runner's settle polling is reproducible.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from .exceptions import WaitTimeoutError

__all__ = ["Schedule", "wait_for", "wait_for_blocking"]

T = TypeVar("T")


class Schedule:
    """Polls every ``interval_s`` until ``timeout_s`` has passed on ``clock``; the first poll is immediate.

    ``max_attempts`` also ends it after that many polls: a budget counted rather than clocked
    gives the same number of polls on every run (``timeout_s`` may then be ``math.inf``).
    """

    def __init__(
        self, *, interval_s: float, timeout_s: float, clock: Callable[[], float], max_attempts: int | None = None
    ) -> None:
        if not interval_s > 0:  # also refuses NaN
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        if not timeout_s >= 0:
            raise ValueError(f"timeout_s must be >= 0, got {timeout_s!r}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._max_attempts = max_attempts
        self._clock = clock
        self._give_up = clock() + timeout_s
        self.attempts = 0

    def next_delay(self) -> float | None:
        """Seconds to sleep before the next poll, or None when the time or the polls are up (never oversleeps)."""
        if self._max_attempts is not None and self.attempts >= self._max_attempts:
            return None
        remaining = self._give_up - self._clock()
        return None if remaining <= 0 else min(self._interval_s, remaining)

    def timed_out(self, last: object) -> WaitTimeoutError:
        within = f"within {self._timeout_s:g} s " if self._timeout_s != float("inf") else ""
        return WaitTimeoutError(
            f"condition not met {within}({self.attempts} attempt(s))",
            last=last,
            attempts=self.attempts,
            timeout_s=self._timeout_s,
        )


async def wait_for(
    call: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    schedule: Schedule,
    sleep: Callable[[float], Awaitable[None]],
) -> T:
    """The first result of ``call()`` that satisfies ``until``; errors of ``call`` propagate at once."""
    while True:
        schedule.attempts += 1
        value = await call()
        if until(value):
            return value
        delay = schedule.next_delay()
        if delay is None:
            raise schedule.timed_out(value)
        await sleep(delay)


def wait_for_blocking(
    call: Callable[[], T],
    until: Callable[[T], bool],
    *,
    schedule: Schedule,
    sleep: Callable[[float], None],
) -> T:
    """``wait_for`` for the blocking client, whose calls block and whose sleep runs on its private loop."""
    while True:
        schedule.attempts += 1
        value = call()
        if until(value):
            return value
        delay = schedule.next_delay()
        if delay is None:
            raise schedule.timed_out(value)
        sleep(delay)
