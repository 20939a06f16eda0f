"""Step executors return raw results: the SDK's own objects and operands, never redacted or rendered."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from engine_helpers import BASE_URL, SECRET, answers, context, planned, scenario

from runner.engine import steps
from runner.engine.expect import check, number
from runner.engine.results import Answer, Exchanged, Rendered, StepResult
from runner.engine.steps import AUTH_PLACEHOLDER, Context, ScenarioState, run_step
from runner.scenario import MISSING
from runner.scenario.model import Scenario
from velikey.exceptions import ServerError
from velikey.operations import PreparedRequest

GATE = """
id: gate
title: Gate
needs: [session]
steps:
  - id: usage
    call: billing.get_usage
    with: {period: current}
    save: {gb: usage.telemetryDataGB}
    expect:
      - {path: usage.telemetryDataGB, max: 1}
"""


def _run(text: str, ctx: Context, index: int = 0, folder: Path = Path("/nonexistent")) -> StepResult:
    state = ScenarioState(scenario(text), folder)

    async def go() -> StepResult:
        try:
            return await run_step(index, state, ctx)
        finally:
            if ctx.client is not None:
                await ctx.client.close()

    return asyncio.run(go())


def test_dry_run_renders_a_prepared_request_with_placeholder_credentials() -> None:
    result = _run(GATE, context(live=False))
    assert (result.outcome, result.reason_code, result.call) == ("planned", "dry_run_planned", "billing.get_usage")
    (rendered,) = result.requests
    assert isinstance(rendered, Rendered) and isinstance(rendered.request, PreparedRequest)
    assert rendered.request.url == f"{BASE_URL}/api/usage/summary?period=current"
    assert rendered.request.header("Authorization") == AUTH_PLACEHOLDER
    assert rendered.request.header("X-Request-Id") is not None
    assert result.exchanges == () and result.assertions == ()


def test_a_live_call_keeps_the_raw_answer_and_operands() -> None:
    usage = {"usage": {"telemetryDataGB": 0.5, "note": SECRET}}
    result = _run(GATE, context(live=True, handler=answers({"/api/usage/summary": usage})))
    assert (result.outcome, result.reason_code) == ("passed", "ok")
    (exchanged,) = result.exchanges
    # Of the SDK's exchange only what the receipts show is kept, the body raw: redaction is the evidence stage's.
    assert isinstance(exchanged, Exchanged) and isinstance(exchanged.exchange, Answer)
    assert exchanged.exchange.status == 200 and exchanged.attempts == 1 and exchanged.error is None
    assert exchanged.exchange.content_type == "application/json" and not exchanged.exchange.replayed
    # The request as sent: the real credential is on it (the evidence stage redacts, the engine does not).
    assert exchanged.request.request.header("Authorization") == f"Bearer {SECRET}"
    assert SECRET.encode() in exchanged.exchange.body
    (assertion,) = result.assertions
    assert (assertion.path, assertion.op, assertion.expected, assertion.actual, assertion.passed) == (
        "usage.telemetryDataGB", "max", Decimal(1), Decimal("0.5"), True)
    assert result.saved == {"gb": Decimal("0.5")}


def test_a_failed_assertion_leaves_its_message_to_the_assertion() -> None:
    usage = {"usage": {"telemetryDataGB": 7}}
    result = _run(GATE, context(live=True, handler=answers({"/api/usage/summary": usage})))
    assert (result.outcome, result.reason_code, result.message) == ("failed", "assertion_failed", "")
    assert [a.passed for a in result.assertions] == [False]


def test_an_sdk_error_is_data_with_the_error_object_and_raw_message() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "down, rollback token tok-rollback-9876"})

    result = _run(GATE, context(live=True, handler=answers({"/api/usage/summary": down})))
    assert (result.outcome, result.reason_code) == ("failed", "server_error")
    # Raw: a secret only the runner knows (the SDK scrubs its own) reaches the evidence stage, which redacts.
    assert "tok-rollback-9876" in result.message and "status 503" in result.message
    (exchanged,) = result.exchanges
    assert isinstance(exchanged.error, ServerError)
    assert exchanged.exchange is not None and exchanged.exchange.status == 503


def test_a_missing_saved_value_is_invalid_response() -> None:
    result = _run(GATE, context(live=True, handler=answers({"/api/usage/summary": {"usage": {}}})))
    assert (result.outcome, result.reason_code) == ("failed", "invalid_response")
    assert result.saved == {} and len(result.exchanges) == 1


def test_an_effect_without_confirm_is_blocked_before_sending() -> None:
    text = """
id: apply
title: Apply
needs: [session]
steps:
  - id: apply
    call: rollouts.apply
    with: {plan_id: plan-1, dry_run: false}
"""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    result = _run(text, context(live=True, handler=record))
    assert (result.outcome, result.reason_code) == ("blocked", "confirmation_required")
    assert seen == [] and len(result.requests) == 1


def test_a_missing_optional_input_skips_the_step() -> None:
    text = """
id: rb
title: Rollback
needs: [session]
steps:
  - id: rollback
    needs: [rollback_token]
    call: rollouts.rollback
    with: {rollback_token: "${inputs.rollback_token}"}
"""
    result = _run(text, context(live=True, handler=answers({})))
    assert (result.outcome, result.reason_code) == ("skipped", "input_not_provided")


def test_a_dry_run_probe_carries_its_digest_and_length(tmp_path: Path) -> None:
    text = """
id: probe
title: Probe
needs: [payload_url]
steps:
  - id: probe
    probe: {text: "hello"}
"""
    result = _run(text, context(live=False), folder=tmp_path)
    (rendered,) = result.requests
    assert rendered.streamed_bytes == 5
    assert rendered.streamed_sha256 == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_check_compares_exact_decimals_and_reports_absent_paths() -> None:
    (expectation,) = scenario(GATE).steps[0].expect
    absent = check(expectation, {"usage": {}})
    assert absent.actual is MISSING and not absent.passed
    assert check(expectation, {"usage": {"telemetryDataGB": Decimal("1.0")}}).passed
    assert number(True) is None and number(3) == Decimal(3) and number("3") is None


def test_planned_names_the_file_as_receipts_do() -> None:
    p = planned(GATE, Path("/somewhere"))
    assert (p.file, p.folder) == ("tests/t.yaml", Path("/somewhere"))


def test_dry_run_placeholders_are_built_once_per_scenario_not_per_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rebuilding them for every step made a dry-run quadratic in its steps (issue 11: 10,000 steps took 125 s).
    text = "id: chain\ntitle: Chain\nneeds: [session]\nsteps:\n  - {id: s0, call: billing.get_usage, save: {p: x}}\n"
    text += "".join(f"  - {{id: s{n}, call: billing.get_usage, with: {{period: '${{steps.s{n - 1}.p}}'}},"
                    f" save: {{p: usage.period}}}}\n" for n in range(1, 30))
    built: list[str] = []
    real = steps._dry_saved

    def counted(scn: Scenario) -> dict[str, dict[str, Any]]:
        built.append(scn.id)
        return real(scn)

    monkeypatch.setattr(steps, "_dry_saved", counted)
    state, ctx = ScenarioState(scenario(text), Path("/nonexistent")), context(live=False)
    results = [asyncio.run(run_step(i, state, ctx)) for i in range(30)]
    assert [r.outcome for r in results] == ["planned"] * 30
    assert results[29].requests[0].request.url.endswith("period=%24%7Bsteps.s28.p%7D")
    assert built == ["chain"]
