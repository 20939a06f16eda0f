"""The engine: declaration order whatever the scheduling, stops through ``runner.control``, blocked runs."""

from __future__ import annotations

import asyncio
import json

import httpx
from engine_helpers import context, planned

from runner.control import Control
from runner.engine.execute import Engine, blocked_result
from runner.engine.results import ScenarioResult
from runner.engine.steps import Context

THREE = """
id: {id}
title: Three reads
needs: [session]
steps:
  - id: health
    call: get_health
  - id: usage
    call: billing.get_usage
  - id: policies
    call: policies.list
"""


def _ok(body: object) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


async def _engine_run(ctx: Context, control: Control, ids: list[str], *, concurrency: int = 4,
                      stop_when: asyncio.Event | None = None, reason: str = "interrupted") -> list[ScenarioResult]:
    engine = Engine(ctx, concurrency, control)
    run = asyncio.create_task(engine.run([planned(THREE.format(id=i)) for i in ids]))
    if stop_when is not None:
        await stop_when.wait()
        control.stop(reason)  # type: ignore[arg-type]
    try:
        return await run
    finally:
        if ctx.client is not None:
            await ctx.client.close()


def test_results_keep_declaration_order_whatever_finishes_first() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        return _ok({"status": "ok", "usage": {}, "policies": []})

    async def go() -> list[ScenarioResult]:
        return await _engine_run(context(live=True, handler=handler), Control(), ["a", "b", "c"])

    results = asyncio.run(go())
    assert [r.id for r in results] == ["a", "b", "c"]
    assert [[s.id for s in r.steps] for r in results] == [["health", "usage", "policies"]] * 3
    assert {s.outcome for r in results for s in r.steps} == {"passed"}


def test_a_stop_fails_the_step_in_flight_with_its_reason_and_skips_the_rest() -> None:
    async def go() -> list[ScenarioResult]:
        entered = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/usage/summary":
                entered.set()
                await asyncio.Event().wait()  # hangs until cancelled
            return _ok({"status": "ok"})

        return await _engine_run(context(live=True, handler=handler), Control(), ["a"], stop_when=entered,
                                 reason="timeout")

    (result,) = asyncio.run(go())
    assert [(s.id, s.outcome, s.reason_code) for s in result.steps] == [
        ("health", "passed", "ok"),
        ("usage", "failed", "timeout"),
        ("policies", "skipped", "previous_step_failed"),
    ]
    assert "out of time" in result.steps[1].message


def test_a_stop_before_a_scenario_starts_cuts_its_first_step_short() -> None:
    control = Control()
    control.stop("interrupted")
    control.stop("timeout")  # the first reason wins
    results = asyncio.run(_engine_run(context(live=False), control, ["a", "b"], concurrency=1))
    for result in results:
        assert [(s.outcome, s.reason_code) for s in result.steps] == [
            ("failed", "interrupted"), ("skipped", "previous_step_failed"), ("skipped", "previous_step_failed"),
        ]


def test_a_blocked_result_blocks_every_step_with_the_given_code_and_message() -> None:
    plain = planned(THREE.format(id="reads"))
    blocked = blocked_result(plain, "payload_url_missing", "live inputs missing for scenario reads: payload_url")
    assert [(s.outcome, s.reason_code, s.message) for s in blocked.steps] == [
        ("blocked", "payload_url_missing", "live inputs missing for scenario reads: payload_url")] * 3
    assert blocked.steps[0].call == "get_health" and blocked.id == "reads"
