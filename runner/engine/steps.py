"""Step executors: one per step kind, live and dry-run, each returning a raw ``StepResult``.

A step never raises for a failure of the system under test: errors become a result with
one reason code (``runner.reasons.reason_for_error`` is the only error → code mapping).
Dry-run renders requests with ``velikey.operations.prepare``, the function live sends use.
Nothing here redacts or formats for a receipt: results carry what the step saw. Every wait
(an ``until:`` step's polls, a metering step's settle window) goes through the SDK's
``client.wait_for``, so the schedule is the client's injected sleep and clock.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from runner.canonical import decimal_str
from runner.engine.expect import check, number
from runner.engine.payload import Payload, PayloadError, payload_for
from runner.engine.results import Answer, Exchanged, Metering, Polling, Probe, Rendered, StepResult
from runner.ids import RunIds
from runner.inputs import INPUTS
from runner.preflight import Preflight
from runner.reasons import CATALOG, reason_for_error
from runner.scenario.interpolate import MISSING, InterpolationError, lookup, resolve
from runner.scenario.model import AnyStep, CallStep, MeteringStep, ProbeStep, Scenario
from velikey import AegisClient, CallResult, Exchange
from velikey.exceptions import VeliKeyError, WaitTimeoutError
from velikey.operations import EFFECTFUL, RequestSpec, build, prepare, prepare_stream, sub_request_id

__all__ = ["AUTH_PLACEHOLDER", "Context", "ScenarioState", "run_step"]

GIB = Decimal(1024**3)
# Probe bytes are whole: a delta within half a byte of them has seen them all (the rest is float rounding).
HALF_BYTE = Decimal(1) / 2 / GIB
POLL_INTERVAL_S = 0.25
# What a rendered request carries in its auth header: the real value exists only inside the SDK.
AUTH_PLACEHOLDER = "<credentials>"


@dataclass(frozen=True)
class Context:
    """Everything a step needs from the run, fixed before the first step starts."""

    live: bool
    confirm: bool
    ids: RunIds
    inputs: Mapping[str, str | None] = field(repr=False)
    base_url: str
    auth_header: str
    client: AegisClient | None = None

    @classmethod
    def of(cls, pre: Preflight, *, confirm: bool) -> Context:
        """The context preflight established: a blocked live run sends nothing."""
        return cls(live=pre.live, confirm=confirm, ids=pre.ids, inputs=pre.values,
                   base_url=str(pre.values["base_url"]), auth_header=pre.auth_header, client=pre.client)


@dataclass
class ScenarioState:
    """What earlier steps of one scenario left for later ones: saved values, results, probe bytes."""

    scenario: Scenario
    folder: Path
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    probe_bytes: dict[int, int] = field(default_factory=dict)

    @cached_property
    def metered(self) -> frozenset[str]:
        """The steps a metering step compares against: the only ones whose answer and arguments are kept
        (``results``, ``kwargs``); a long scenario's answers are not all held until it ends (issue 11)."""
        return frozenset(s.metering.before for s in self.scenario.steps if isinstance(s, MeteringStep))

    @cached_property
    def dry_saved(self) -> dict[str, dict[str, Any]]:
        """Dry-run stand-ins (``${steps.ID.NAME}``) for every saved value, built once per scenario, not per step."""
        return _dry_saved(self.scenario)


def _jsonable(value: Any) -> Any:
    return value.model_dump() if isinstance(value, BaseModel) else value


def _result(step_id: str, kind: str, outcome: str, reason: str, message: str, **extra: Any) -> StepResult:
    return StepResult(id=step_id, kind=kind, outcome=outcome, reason_code=reason,  # type: ignore[arg-type]
                      message=message, **extra)


def _error(step_id: str, kind: str, exc: VeliKeyError, **extra: Any) -> StepResult:
    reason = reason_for_error(exc)
    outcome = "blocked" if CATALOG[reason].category == "blocked" else "failed"
    # Transport details can name ports and addresses; only status errors carry the server's words.
    message = f"{type(exc).__name__}: {exc.message}"
    if exc.status is not None:
        message += f" (status {exc.status})" + (f": {exc.detail}" if exc.detail else "")
    return _result(step_id, kind, outcome, reason, message, **extra)


def _missing_step_need(step: AnyStep, ctx: Context) -> str | None:
    need: str
    for need in step.needs:
        if need != "session" and not ctx.inputs.get(need):
            return need
    return None


def _dry_inputs(ctx: Context) -> dict[str, str | None]:
    return {name: ctx.inputs.get(name) or f"${{inputs.{name}}}" for name in INPUTS}


def _dry_saved(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {
        step.id: {name: f"${{steps.{step.id}.{name}}}" for name in step.save}
        for step in scenario.all_steps
        if isinstance(step, CallStep)
    }


def _render(spec: RequestSpec, request_id: str, ctx: Context) -> Rendered:
    auth = {ctx.auth_header: AUTH_PLACEHOLDER}
    return Rendered(prepare(spec, base_url=ctx.base_url, request_id=request_id, auth_headers=auth))


def _ids(ctx: Context, scenario: str, step: str) -> tuple[str, str]:
    """The step's request id and idempotency key: two digests, taken once (its requests and polls share them)."""
    return ctx.ids.request_id(scenario, step), ctx.ids.idempotency_key(scenario, step)


def _rendered(name: str, kwargs: dict[str, Any], ids: tuple[str, str], ctx: Context) -> tuple[Rendered, ...]:
    specs = build(name, **kwargs)
    rid, idem = ids
    return tuple(
        _render(spec.with_idempotency_key(idem) if spec.mutating else spec, sub_request_id(rid, i, len(specs)), ctx)
        for i, spec in enumerate(specs, start=1)
    )


def _exchanged(exchange: Exchange) -> Exchanged:
    return Exchanged(Rendered(exchange.request), Answer.of(exchange), exchange.attempts)


def _failed_exchange(requests: tuple[Rendered, ...], exc: VeliKeyError, *, streamed: bool = False
                     ) -> tuple[Exchanged, ...]:
    """What a call that raised saw: the answer it got (if any) and the error.

    A streamed request keeps its rendered form: the wire object has no body to digest.
    """
    if exc.exchange is not None:
        request = requests[-1] if streamed and requests else Rendered(exc.exchange.request)
        return (Exchanged(request, Answer.of(exc.exchange), exc.exchange.attempts, exc),)
    return (Exchanged(requests[-1], None, exc.attempts, exc),) if requests else ()


def _earlier_run(exchange: Exchange) -> bool:
    """A replay at the first attempt answers a key an earlier run sent: not this run's evidence.

    Replayed after a retry, it is this run's own lost attempt that took effect, which counts.
    """
    return exchange.replayed and exchange.attempts == 1


def _is_effectful(step: CallStep, kwargs: Mapping[str, Any]) -> bool:
    return step.call in EFFECTFUL and EFFECTFUL[step.call](kwargs)


def _polling(step: CallStep, polls: int | None = None) -> Polling | None:
    until = step.until
    return None if until is None else Polling(until.every_s, until.within_s, until.max_polls, polls)


def _holds(step: CallStep, answer: CallResult) -> bool:
    result = _jsonable(answer.result)
    return all(check(expectation, result).passed for expectation in step.expect)


async def _answer(step: CallStep, kwargs: dict[str, Any], ids: tuple[str, str], ctx: Context, polls: list[int]
                  ) -> CallResult:
    """The call's answer; with ``until:``, the first that meets ``expect`` or the last of the budget.

    ``polls`` gets one entry per poll, so the count survives an error that ends the polling.

    Polls go through the SDK's ``wait_for`` with a counted budget (no clock): the count is
    what the server answered, so a condition that depends on server-side state (a rollout's
    phases) gives the same count on every run.
    """
    assert ctx.client is not None
    client = ctx.client

    async def once() -> CallResult:
        return await client.call(
            step.call,
            request_id=ids[0],
            idempotency_key=ids[1],
            parse_float=Decimal,
            **kwargs,
        )

    if step.until is None:
        return await once()

    async def poll() -> CallResult:
        polls.append(1)
        return await once()

    try:
        return await client.wait_for(poll, lambda a: _holds(step, a), interval_s=float(step.until.every_s),
                                     timeout_s=math.inf, max_attempts=step.until.max_polls)
    except WaitTimeoutError as exc:
        last: CallResult = exc.last
        return last


def _unsaved(step: CallStep, state: ScenarioState, ctx: Context) -> str | None:
    """Why a cleanup step cannot run: a value it uses was never saved (its step failed or never ran)."""
    try:
        resolve(step.with_, ctx.inputs, state.saved)
    except InterpolationError as exc:
        if exc.kind == "unknown":
            return f"{exc.reference} was never saved (that step did not get so far); nothing to clean up"
    return None


async def _call(step: CallStep, state: ScenarioState, ctx: Context, *, cleanup: bool = False) -> StepResult:
    ids = _ids(ctx, state.scenario.id, step.id)
    polling = _polling(step)
    if not ctx.live:
        kwargs = resolve(step.with_, _dry_inputs(ctx), state.dry_saved)
        requests = _rendered(step.call, kwargs, ids, ctx)
        notes = [f"would call {step.call}"]
        if polling is not None:
            notes[0] += (f" until its expect holds, every {decimal_str(polling.every_s)} s,"
                         f" at most {polling.max_polls} polls ({decimal_str(polling.within_s)} s)")
        if _is_effectful(step, kwargs) and not ctx.confirm:
            notes.append("a live run needs --confirm for this effect")
        if missing := _missing_step_need(step, ctx):
            notes.append(f"a live run skips it unless {missing} is provided")
        return _result(step.id, "call", "planned", "dry_run_planned", "; ".join(notes), call=step.call,
                       requests=requests, polling=polling)
    if cleanup and (why := _unsaved(step, state, ctx)):
        return _result(step.id, "call", "skipped", "input_not_provided", why, call=step.call)
    kwargs = resolve(step.with_, ctx.inputs, state.saved)
    requests = _rendered(step.call, kwargs, ids, ctx)
    if _is_effectful(step, kwargs) and not ctx.confirm:
        return _result(step.id, "call", "blocked", "confirmation_required",
                       f"{step.call} would take effect; rerun with --confirm to allow it", call=step.call,
                       requests=requests)
    counted: list[int] = []
    try:
        answer = await _answer(step, kwargs, ids, ctx, counted)
    except VeliKeyError as exc:
        return _error(step.id, "call", exc, call=step.call, requests=requests,
                      exchanges=_failed_exchange(requests, exc), polling=_polling(step, len(counted) or None))
    polls = len(counted) if step.until is not None else None
    result = _jsonable(answer.result)
    polling = _polling(step, polls)
    base = {"call": step.call, "requests": requests, "exchanges": tuple(_exchanged(e) for e in answer.exchanges),
            "polling": polling}
    if any(_earlier_run(e) for e in answer.exchanges):
        return _result(step.id, "call", "blocked", "replayed_evidence",
                       f"{step.call} was answered from the tenant's replay store: a run with this run id already "
                       "took the effect; rerun with a fresh run id", **base)
    saved: dict[str, Any] = {}
    for name, path in step.save.items():
        value = lookup(result, path)
        if value is MISSING:
            return _result(step.id, "call", "failed", "invalid_response",
                           f"the response has no {path!r} to save as {name!r}", **base)
        saved[name] = value
    state.saved[step.id] = saved
    if step.id in state.metered:
        state.results[step.id], state.kwargs[step.id] = result, kwargs
    assertions = tuple(check(expectation, result) for expectation in step.expect)
    broken = next((a for a in assertions if not a.passed), None)
    if broken and polling is not None:
        return _result(step.id, "call", "failed", "poll_timeout",
                       f"expect did not hold in {polls} polls, {decimal_str(polling.every_s)} s apart",
                       assertions=assertions, saved=saved, **base)
    if broken:
        return _result(step.id, "call", "failed", broken.reason_code, "", assertions=assertions, saved=saved, **base)
    return _result(step.id, "call", "passed", "ok", f"{step.call} answered as expected", assertions=assertions,
                   saved=saved, **base)


async def _digest(payload: Payload) -> str:
    """The payload's SHA-256, yielding to the event loop after every chunk.

    A generated payload's chunks never wait on anything, so without the checkpoint hashing a
    large probe held the loop: the deadline, Ctrl-C and SIGTERM could not take effect until it ended.
    """
    digest = hashlib.sha256()
    async for chunk in payload.chunks():
        digest.update(chunk)
        await asyncio.sleep(0)
    return digest.hexdigest()


def _probe_request(ctx: Context, request_id: str, idem: str, payload: Payload, sha256: str) -> Rendered:
    url = ctx.inputs.get("payload_url") or "$SDK_E2E_PAYLOAD_URL"
    prepared = prepare_stream(url, request_id=request_id, idempotency_key=idem, length=payload.length)
    return Rendered(prepared, streamed_sha256=sha256, streamed_bytes=payload.length)


async def _probe(step: ProbeStep, index: int, state: ScenarioState, ctx: Context) -> StepResult:
    scenario = state.scenario.id
    try:
        payload = payload_for(step.probe, state.folder)
    except PayloadError as exc:
        return _result(step.id, "probe", "failed", "scenario_invalid", str(exc))
    rid, idem = ctx.ids.request_id(scenario, step.id), ctx.ids.idempotency_key(scenario, step.id)
    if not ctx.live:
        local = await _digest(payload)
        request = _probe_request(ctx, rid, idem, payload, local)
        return _result(step.id, "probe", "planned", "dry_run_planned",
                       f"would send {payload.length} bytes to the payload URL", requests=(request,))
    assert ctx.client is not None and ctx.inputs.get("payload_url")
    try:
        answer = await ctx.client.probe_payload(
            str(ctx.inputs["payload_url"]), payload.chunks, length=payload.length, request_id=rid, idempotency_key=idem
        )
    except VeliKeyError as exc:  # the request as sent (digest of the same bytes), so its attempts reach the receipts
        sent = (_probe_request(ctx, rid, idem, payload, await _digest(payload)),)
        return _error(step.id, "probe", exc, requests=sent, exchanges=_failed_exchange(sent, exc, streamed=True))
    # Replayed bytes add nothing to this run's delta, so no metering check counts them.
    earlier_run = _earlier_run(answer.exchange)
    state.probe_bytes[index] = 0 if earlier_run else payload.length
    request = _probe_request(ctx, rid, idem, payload, answer.sha256)
    probe = Probe(source=payload.source, bytes=payload.length, sha256=answer.sha256,
                  echo_sha256=answer.echo.sha256, echo_bytes=answer.echo.bytes, matched=answer.matched,
                  replayed=answer.replayed, generator=payload.generator)
    exchanged = Exchanged(request, Answer.of(answer.exchange), answer.exchange.attempts)
    extra = {"requests": (request,), "exchanges": (exchanged,), "probe": probe}
    if earlier_run:
        return _result(step.id, "probe", "blocked", "replayed_evidence",
                       f"the endpoint answered these {payload.length} bytes from its replay store: a run with this "
                       "run id already sent them; rerun with a fresh run id", **extra)
    if not answer.matched:
        return _result(step.id, "probe", "failed", "payload_integrity_mismatch",
                       f"sent {payload.length} bytes; the endpoint echoed {answer.echo.bytes} bytes, another digest",
                       **extra)
    return _result(step.id, "probe", "passed", "ok", f"{payload.length} bytes echoed with the same SHA-256", **extra)


def _sent(step: MeteringStep, index: int, state: ScenarioState) -> int:
    """The bytes this run's probes sent between the metering step's ``before`` and itself."""
    start = next(i for i, s in enumerate(state.scenario.steps) if s.id == step.metering.before)
    return sum(n for i, n in state.probe_bytes.items() if start < i < index)


def _window(step: MeteringStep, sent: int) -> tuple[Decimal | None, Decimal | None]:
    spec = step.metering
    tolerance = spec.tolerance
    if spec.expect == "from_probes":
        centre = Decimal(sent) / GIB
        return centre - tolerance, centre + tolerance
    if isinstance(spec.expect, Decimal):
        return spec.expect - tolerance, spec.expect + tolerance
    low, high = spec.expect.min, spec.expect.max
    return (None if low is None else low - tolerance), (None if high is None else high + tolerance)


def _inside(delta: Decimal, low: Decimal | None, high: Decimal | None) -> bool:
    return (low is None or delta >= low) and (high is None or delta <= high)


def _final(delta: Decimal, low: Decimal | None, high: Decimal | None, sent: int) -> bool:
    """Whether waiting longer cannot change the verdict on ``delta``.

    A window that excludes 0 is final once the delta is inside it. One that includes 0 cannot
    tell "not metered yet" from "metered as nothing": it is final only once the delta has
    reached the bytes the probes sent (then judged, and a byte too many fails), or, with no
    probe bytes to wait for, at once; otherwise the whole settle window is waited.
    """
    if not _inside(Decimal(0), low, high):
        return _inside(delta, low, high)
    return sent == 0 or delta >= Decimal(sent) / GIB - HALF_BYTE


async def _metering(step: MeteringStep, index: int, state: ScenarioState, ctx: Context) -> StepResult:
    spec = step.metering
    before_step = state.scenario.step(spec.before)
    assert isinstance(before_step, CallStep)
    ids = _ids(ctx, state.scenario.id, step.id)
    rid = ids[0]
    if not ctx.live:
        kwargs = resolve(before_step.with_, _dry_inputs(ctx), state.dry_saved)
        requests = _rendered(before_step.call, kwargs, ids, ctx)
        return _result(step.id, "metering", "planned", "dry_run_planned",
                       f"would poll {before_step.call} for up to {spec.settle_s} s and compare {spec.path}",
                       requests=requests)
    before = number(lookup(state.results.get(spec.before), spec.path))
    sent = _sent(step, index, state)
    low, high = _window(step, sent)
    metering = Metering(spec.path, before, low, high)
    if before is None:
        return _result(step.id, "metering", "failed", "invalid_response",
                       f"step {spec.before!r} has no number at {spec.path!r}", metering=metering)
    kwargs = state.kwargs[spec.before]
    requests = _rendered(before_step.call, kwargs, ids, ctx)
    assert ctx.client is not None
    client = ctx.client

    def after_of(answer: CallResult) -> Decimal | None:
        return number(lookup(_jsonable(answer.result), spec.path))

    def settled(answer: CallResult) -> bool:
        after = after_of(answer)
        return after is None or _final(after - before, low, high, sent)  # no number: nothing to wait for

    try:
        answer = await client.wait_for(
            lambda: client.call(before_step.call, request_id=rid, parse_float=Decimal, **kwargs),
            settled, interval_s=POLL_INTERVAL_S, timeout_s=float(spec.settle_s),
        )
    except WaitTimeoutError as exc:
        answer = exc.last
    except VeliKeyError as exc:
        return _error(step.id, "metering", exc, requests=requests, metering=metering,
                      exchanges=_failed_exchange(requests, exc))
    extra = {"requests": requests, "exchanges": tuple(_exchanged(e) for e in answer.exchanges)}
    after = after_of(answer)
    if after is None:
        return _result(step.id, "metering", "failed", "invalid_response",
                       f"usage has no number at {spec.path!r}", metering=metering, **extra)
    delta = after - before
    inside = _inside(delta, low, high)
    metering = replace(metering, after=after, delta=delta, settled=inside)
    if inside:
        return _result(step.id, "metering", "passed", "ok",
                       f"{spec.path} moved by {decimal_str(delta)} as expected", metering=metering, **extra)
    unmoved = delta == 0
    reason = "metering_not_settled" if unmoved else "metering_delta_mismatch"
    message = (f"{spec.path} did not move within {spec.settle_s} s" if unmoved else
               f"{spec.path} moved by {decimal_str(delta)}, outside [{', '.join(metering.window())}]")
    return _result(step.id, "metering", "failed", reason, message, metering=metering, **extra)


async def run_step(index: int, state: ScenarioState, ctx: Context) -> StepResult:
    """Run (or, in dry-run, render) step ``index`` of the scenario's steps then cleanup steps (``all_steps``)."""
    step = state.scenario.all_steps[index]
    if ctx.live and (missing := _missing_step_need(step, ctx)):
        spec = INPUTS[missing]
        return _result(step.id, step.kind, "skipped", "input_not_provided",
                       f"{missing} not provided ({', '.join(spec.env)} or {spec.flag})",
                       call=step.call if isinstance(step, CallStep) else None)
    if isinstance(step, CallStep):
        return await _call(step, state, ctx, cleanup=index >= len(state.scenario.steps))
    if isinstance(step, ProbeStep):
        return await _probe(step, index, state, ctx)
    return await _metering(step, index, state, ctx)
