
"""`wait_for`: polls until a predicate holds, else `WaitTimeoutError`; sleep and clock are injected, nothing waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from velikey import AegisClient, AegisClientSync
from velikey import exceptions as exc
from velikey.testing import ReferenceServer


@pytest.fixture
def live_server(start_server: Callable[..., ReferenceServer]) -> ReferenceServer:
    """A fresh server: these tests move metered usage or make effects, which the shared one must not see."""
    return start_server()


class FakeTime:
    """A clock that only moves when the client sleeps, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def usage_answers(*gbs: float) -> httpx.MockTransport:
    answers = [httpx.Response(200, json={"usage": {"telemetryDataGB": gb}}) for gb in gbs]
    return httpx.MockTransport(lambda request: answers.pop(0) if len(answers) > 1 else answers[0])


def client_with(transport: httpx.MockTransport, time: FakeTime) -> AegisClient:
    return AegisClient(api_key="k-123456", base_url="http://axis.test", transport=transport,
                       sleep=time.sleep, clock=time.clock)


def gb(usage: dict[str, Any]) -> float:
    return float(usage["usage"]["telemetryDataGB"])


def test_returns_the_first_result_that_satisfies_the_predicate() -> None:
    time = FakeTime()
    client = client_with(usage_answers(0, 0, 1.5, 2), time)
    result = asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: gb(u) > 1,
                                         interval_s=0.5, timeout_s=10))
    assert gb(result) == 1.5
    assert time.slept == [0.5, 0.5], "polls immediately, then every interval_s"


def test_times_out_with_the_last_value_and_never_oversleeps_the_deadline() -> None:
    time = FakeTime()
    client = client_with(usage_answers(0), time)
    with pytest.raises(exc.WaitTimeoutError) as caught:
        asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: gb(u) > 1,
                                    interval_s=2, timeout_s=5))
    error = caught.value
    assert time.slept == [2, 2, 1] and error.attempts == 4 and error.timeout_s == 5
    assert gb(error.last) == 0
    assert isinstance(error, exc.TimeoutError), "a wait timeout is a timeout to callers that catch those"
    assert "within 5 s" in str(error)


def test_a_zero_timeout_polls_once() -> None:
    time = FakeTime()
    client = client_with(usage_answers(0), time)
    with pytest.raises(exc.WaitTimeoutError) as caught:
        asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: False, timeout_s=0))
    assert caught.value.attempts == 1 and time.slept == []


def test_errors_of_the_call_propagate_at_once() -> None:
    time = FakeTime()
    client = client_with(httpx.MockTransport(lambda request: httpx.Response(403)), time)
    with pytest.raises(exc.ForbiddenError):
        asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: True))
    assert time.slept == []


@pytest.mark.parametrize(("interval_s", "timeout_s"), [(0, 1), (-1, 1), (float("nan"), 1), (1, -1)])
def test_bad_arguments_are_refused_before_any_call(interval_s: float, timeout_s: float) -> None:
    calls: list[int] = []

    async def call() -> int:
        calls.append(1)
        return 1

    client = AegisClient(api_key="k")
    with pytest.raises(ValueError):
        asyncio.run(client.wait_for(call, lambda v: True, interval_s=interval_s, timeout_s=timeout_s))
    assert calls == []


def test_the_sync_client_polls_blocking_calls() -> None:
    time = FakeTime()
    with AegisClientSync(api_key="k-123456", base_url="http://axis.test", transport=usage_answers(0, 3),
                         sleep=time.sleep, clock=time.clock) as client:
        result = client.wait_for(lambda: client.billing.get_usage(), lambda u: gb(u) == 3, interval_s=1)
        assert gb(result) == 3 and time.slept == [1]
        with pytest.raises(exc.WaitTimeoutError):
            client.wait_for(lambda: client.billing.get_usage(), lambda u: gb(u) > 3, interval_s=1, timeout_s=2)


def test_live_wait_for_metering_to_move(live_server: ReferenceServer) -> None:
    time = FakeTime()
    with AegisClientSync(session_cookie=live_server.session_cookie, base_url=live_server.base_url,
                         sleep=time.sleep, clock=time.clock) as client:
        before = gb(client.billing.get_usage())
        polls: list[float] = []

        def usage() -> dict[str, Any]:
            if len(polls) == 2:  # the bytes arrive while the caller waits
                client.probe_payload(live_server.payload_url, b"x" * 4096)
            polls.append(1)
            return client.billing.get_usage()

        moved = client.wait_for(usage, lambda u: gb(u) > before, interval_s=0.25, timeout_s=5)
        assert gb(moved) > before and len(polls) == 3 and time.slept == [0.25, 0.25]


def test_max_attempts_is_a_counted_budget_whatever_the_clock_says() -> None:
    time = FakeTime()
    client = client_with(usage_answers(0), time)
    with pytest.raises(exc.WaitTimeoutError) as caught:
        asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: False,
                                    interval_s=1, timeout_s=float("inf"), max_attempts=3))
    assert caught.value.attempts == 3 and time.slept == [1, 1]
    assert "within" not in str(caught.value) and "3 attempt(s)" in str(caught.value)
    with pytest.raises(ValueError):
        asyncio.run(client.wait_for(lambda: client.billing.get_usage(), lambda u: True, max_attempts=0))
