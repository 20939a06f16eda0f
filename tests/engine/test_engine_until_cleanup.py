"""``until:`` polls, ``cleanup:`` steps and zero-including metering windows, against a scripted Axis.

Sleep and clock are the client's injected ones (nothing really waits), so the poll counts and
the metering settle window here are exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from engine_helpers import BASE_URL, IDS, SECRET, planned

from runner.control import Control
from runner.engine.execute import Engine
from runner.engine.results import ScenarioResult
from runner.engine.steps import Context
from velikey import AegisClient, RetryPolicy

PAYLOAD_URL = "http://echo.test/ingest"


class FakeTime:
    """A clock that moves only when the client sleeps."""

    def __init__(self, on_sleep: Callable[[], None] = lambda: None) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self.on_sleep()
        await asyncio.sleep(0)  # a real sleep is where a stop's cancellation lands


def _json(body: Any) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def _stream(*phases: str) -> httpx.Response:
    text = "".join(f"id: {n}\nevent: phase\ndata: {json.dumps({'phase': p, 'seq': n})}\n\n"
                   for n, p in enumerate(phases, 1))
    return httpx.Response(200, content=text.encode(), headers={"content-type": "text/event-stream"})


def _context(handler: Callable[[httpx.Request], httpx.Response], time: FakeTime, *, confirm: bool = True,
             inputs: dict[str, str] | None = None) -> Context:
    client = AegisClient(api_key=SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler),
                         retry_policy=RetryPolicy(max_retries=0), env={}, sleep=time.sleep, clock=time.clock)
    return Context(live=True, confirm=confirm, ids=IDS, inputs={"base_url": BASE_URL, "policy_id": "pol-1",
                                                                 **(inputs or {})},
                   base_url=BASE_URL, auth_header="Authorization", client=client)


def _run(ctx: Context, text: str) -> ScenarioResult:
    async def go() -> ScenarioResult:
        try:
            (result,) = await Engine(ctx, 1, Control()).run([planned(text)])
            return result
        finally:
            assert ctx.client is not None
            await ctx.client.close()

    return asyncio.run(go())


CANARY = """
id: canary
title: Canary
needs: [session, policy_id]
steps:
  - id: apply
    call: rollouts.apply
    with: {{plan_id: plan-1, dry_run: false}}
    save: {{token: data.rollbackToken}}
    expect: [{{path: data.applied, equals: true}}]
  - id: stable
    call: rollouts.get_events
    with: {{plan_id: plan-1}}
    until: {{every_s: {every}, within_s: {within}}}
    expect: [{{path: phase, equals: stable}}]
{after}
cleanup:
  - id: rollback
    call: rollouts.rollback
    with: {{rollback_token: "${{steps.apply.token}}", confirm: true}}
"""


class Axis:
    """A tenant whose rollout reaches ``stable`` at the ``stable_at``-th events read (0: never)."""

    def __init__(self, stable_at: int = 0, applied: bool = True) -> None:
        self.stable_at, self.applied = stable_at, applied
        self.reads = 0
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/events"):
            self.reads += 1
            phases = ["planned", "applying", "canary"]
            return _stream(*phases, "stable") if self.reads == self.stable_at else _stream(*phases)
        if request.url.path == "/api/rollouts/apply":
            return _json({"success": True, "data": {"applied": self.applied, "rollbackToken": "rbk-abcdef123456"}})
        if request.url.path == "/api/rollouts/rollback":
            return _json({"success": True, "data": {"rolledBack": True}})
        return _json({"status": "ok"})


def test_until_polls_until_expect_holds_and_counts_the_polls() -> None:
    axis, time = Axis(stable_at=3), FakeTime()
    result = _run(_context(axis, time), CANARY.format(every="2", within="10", after=""))
    stable = result.steps[1]
    assert stable.outcome == "passed" and stable.polling is not None
    assert (stable.polling.polls, stable.polling.max_polls) == (3, 6)
    assert time.slept == [2.0, 2.0], "polled at once, then every every_s"
    assert [a.actual for a in stable.assertions] == ["stable"], "the last answer is the evidence"
    assert len(stable.exchanges) == 1 and stable.exchanges[0].exchange is not None


def test_until_running_out_is_poll_timeout_after_exactly_its_budget() -> None:
    axis, time = Axis(stable_at=0), FakeTime()
    result = _run(_context(axis, time), CANARY.format(every="0.5", within="2", after=""))
    stable = result.steps[1]
    assert (stable.outcome, stable.reason_code) == ("failed", "poll_timeout")
    assert stable.polling is not None and stable.polling.polls == 5 == axis.reads
    assert [a.actual for a in stable.assertions] == ["canary"]
    assert (result.cleanup[0].id, result.cleanup[0].outcome) == ("rollback", "passed"), "cleanup runs after a failure"
    assert axis.sent[-1] == "POST /api/rollouts/rollback"


def test_an_error_while_polling_ends_the_step_at_once() -> None:
    axis, time = Axis(stable_at=0), FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events") and axis.reads == 1:
            return httpx.Response(503, json={"detail": "down"})
        return axis(request)

    result = _run(_context(handler, time), CANARY.format(every="1", within="30", after=""))
    assert (result.steps[1].outcome, result.steps[1].reason_code) == ("failed", "server_error")
    assert result.steps[1].polling is not None and result.steps[1].polling.polls == 2, "the failed poll counts"
    assert axis.reads == 1 and result.cleanup[0].outcome == "passed"


def test_cleanup_whose_input_was_never_saved_is_skipped() -> None:
    axis, time = Axis(applied=False), FakeTime()
    result = _run(_context(axis, time), CANARY.format(every="1", within="1", after="").replace(
        "data.rollbackToken", "data.nothing"))
    assert (result.steps[0].outcome, result.steps[0].reason_code) == ("failed", "invalid_response")
    (rollback,) = result.cleanup
    assert (rollback.outcome, rollback.reason_code) == ("skipped", "input_not_provided")
    assert "${steps.apply.token}" in rollback.message
    assert "POST /api/rollouts/rollback" not in axis.sent


def test_cleanup_runs_after_a_blocked_step_and_is_blocked_itself_without_confirm() -> None:
    axis, time = Axis(stable_at=1), FakeTime()
    result = _run(_context(axis, time, confirm=False), CANARY.format(every="1", within="1", after=""))
    assert result.steps[0].reason_code == "confirmation_required"
    assert [s.outcome for s in result.steps] == ["blocked", "skipped"]
    # Nothing was applied, so nothing was saved: the rollback has no token to use.
    assert result.cleanup[0].reason_code == "input_not_provided" and axis.sent == []
    assert result.outcome == ("blocked", "confirmation_required")


def test_a_failed_cleanup_fails_the_scenario() -> None:
    axis, time = Axis(stable_at=1), FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/rollouts/rollback":
            return httpx.Response(409, json={"detail": "already rolled back", "code": "already_rolled_back"})
        return axis(request)

    result = _run(_context(handler, time), CANARY.format(every="1", within="1", after=""))
    assert [s.outcome for s in result.steps] == ["passed", "passed"]
    assert (result.cleanup[0].outcome, result.cleanup[0].reason_code) == ("failed", "conflict")
    assert result.outcome == ("failed", "conflict")


def test_a_stop_during_the_steps_still_runs_cleanup() -> None:
    axis, control = Axis(stable_at=0), Control()
    time = FakeTime(on_sleep=lambda: control.stop("timeout"))  # the deadline arrives while the step polls
    ctx = _context(axis, time)

    async def go() -> ScenarioResult:
        try:
            (result,) = await Engine(ctx, 1, control).run([planned(CANARY.format(every="1", within="30", after=""))])
            return result
        finally:
            assert ctx.client is not None
            await ctx.client.close()

    result = asyncio.run(go())
    assert (result.steps[1].outcome, result.steps[1].reason_code) == ("failed", "timeout") and axis.reads == 1
    assert result.cleanup[0].outcome == "passed" and axis.sent[-1] == "POST /api/rollouts/rollback"


METERED = """
id: metered
title: Metered
needs: [session, payload_url]
steps:
  - id: before
    call: billing.get_usage
  - id: probe
    probe: {{text: "{text}"}}
  - id: delta
    metering: {{before: before, path: usage.telemetryDataGB, expect: {expect}, settle_s: 5}}
"""


class Meter:
    """Usage that shows a probe's bytes only ``lag_reads`` usage reads after the probe."""

    def __init__(self, lag_reads: int) -> None:
        self.gb, self.pending, self.lag_reads, self.reads_since = Decimal("12.5"), Decimal(0), lag_reads, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "echo.test":
            body = request.read()
            self.pending, self.reads_since = Decimal(len(body)) / Decimal(1024**3), 0
            return _json({"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)})
        self.reads_since += 1
        if self.pending and self.reads_since > self.lag_reads:
            self.gb, self.pending = self.gb + self.pending, Decimal(0)
        return httpx.Response(200, content=f'{{"usage": {{"telemetryDataGB": {self.gb}}}}}'.encode(),
                              headers={"content-type": "application/json"})


@pytest.fixture
def meter() -> Iterator[Meter]:
    yield Meter(lag_reads=3)


def test_a_window_with_zero_waits_for_the_probe_bytes_and_then_fails_on_them(meter: Meter) -> None:
    time = FakeTime()
    text = "x" * 4096
    result = _run(_context(meter, time, inputs={"payload_url": PAYLOAD_URL}),
                  METERED.format(text=text, expect="{max: '1e-8'}"))
    delta = result.steps[2]
    assert (delta.outcome, delta.reason_code) == ("failed", "metering_delta_mismatch"), \
        "0 is inside the window, but the bytes had not arrived yet"
    assert delta.metering is not None and delta.metering.delta == Decimal(4096) / Decimal(1024**3)


def test_a_window_with_zero_passes_once_the_bytes_are_in_it(meter: Meter) -> None:
    time = FakeTime()
    result = _run(_context(meter, time, inputs={"payload_url": PAYLOAD_URL}),
                  METERED.format(text="y" * 2048, expect="{min: 0, max: '0.001'}"))
    delta = result.steps[2]
    assert delta.outcome == "passed" and delta.metering is not None
    assert delta.metering.delta == Decimal(2048) / Decimal(1024**3), "judged on the delta with the bytes in it"
    assert len(time.slept) == 3


def test_a_window_with_zero_passes_at_the_end_of_the_settle_window_when_nothing_is_metered() -> None:
    time = FakeTime()
    never = Meter(lag_reads=10**6)
    result = _run(_context(never, time, inputs={"payload_url": PAYLOAD_URL}),
                  METERED.format(text="z" * 100, expect="0"))
    delta = result.steps[2]
    assert delta.outcome == "passed" and delta.metering is not None and delta.metering.delta == 0
    assert sum(time.slept) == pytest.approx(5.0), "it waited the whole settle window before passing"
