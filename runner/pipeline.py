"""The one place where stage order is written: load → plan → execute → evidence → render → validate → write.

``run(config)`` returns a ``RunReport`` (exit code, run directory, summary); it never prints.
Bad input raises ``InputError`` before anything runs; everything after that ends in a
complete, validated receipt set, including interruption and the run deadline.
"""

from __future__ import annotations

import asyncio
import os
import platform
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

import runner
import velikey
from runner.engine.execute import Engine, Planned, Progress
from runner.engine.results import ScenarioResult, StepResult
from runner.engine.steps import Context
from runner.evidence.collect import (
    EXIT_CODES,
    blocker_document,
    evidence_documents,
    missing_for,
    summary_document,
    timings_document,
)
from runner.evidence.redact import Redactor
from runner.ids import RunIds
from runner.inputs import INPUTS, ResolvedInput, auth_kind, resolve_inputs
from runner.reasons import reason_for_error
from runner.receipts.assemble import build_receipt_set
from runner.receipts.canonical import decimal_str
from runner.receipts.write import write_receipt_set
from runner.scenario.load import load_scenarios
from velikey import AegisClient, RetryPolicy
from velikey.exceptions import VeliKeyError
from velikey.operations import CLIENT_CREDENTIALS_SOURCE
from velikey.operations import SECRET_ENV as SDK_SECRET_ENV

__all__ = ["InputError", "RunConfig", "RunReport", "run"]

INTERRUPTED_EXIT = 130
# The SDK's secret env values, plus the rollback token, which only the runner reads.
SECRET_ENV = (*SDK_SECRET_ENV, "AEGIS_ROLLBACK_TOKEN")
# Auth sources sent as `Authorization: Bearer` rather than the session cookie (for the dry-run's rendering).
BEARER_SOURCES = ("VELIKEY_API_KEY", CLIENT_CREDENTIALS_SOURCE)


class InputError(Exception):
    """Bad scenarios, flags or input files: exit 2, nothing run. ``problems`` are one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on, parsed and frozen by the CLI."""

    paths: tuple[Path, ...]
    mode: str
    flags: Mapping[str, str | None] = field(default_factory=dict)
    out: Path | None = None
    embedded: bool = False
    confirm: bool = False
    concurrency: int = 4
    request_timeout: float = 30.0
    deadline: float | None = None
    verify_tls: bool = True
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    rerun: str = "velikey-e2e run --live"
    receipts_root: Path = Path("receipts")
    max_retries: int = 3
    progress: Progress | None = None


@dataclass(frozen=True)
class RunReport:
    exit_code: int
    out_dir: Path
    summary: dict[str, Any]
    blocker: dict[str, Any] | None = None


@dataclass(frozen=True)
class _Embedded:
    inputs: dict[str, str]
    cookie: str


@contextmanager
def _embedded_server(enabled: bool) -> Iterator[_Embedded | None]:
    """Start the reference server for the run (``--embedded``) and take every input from it."""
    if not enabled:
        yield None
        return
    from velikey.testing import ReferenceServer

    with ReferenceServer() as server:
        yield _Embedded(
            {"base_url": server.base_url, "payload_url": server.payload_url,
             "policy_id": server.first_active_policy_id, "session": server.session_cookie},
            server.session_cookie,
        )


def _shown(inputs: Mapping[str, ResolvedInput]) -> dict[str, dict[str, Any]]:
    """Non-secret input values as the manifest shows them; embedded ones by origin (their port varies)."""
    shown = {}
    for name, value in inputs.items():
        secret = INPUTS[name].secret
        by_origin = value.source == "embedded" and name != "policy_id"
        visible = None if secret or not value.provided else ("embedded" if by_origin else value.value)
        shown[name] = {"provided": value.provided, "source": value.source, "value": visible}
    return shown


def _required(planned: list[Planned]) -> list[str]:
    return sorted({"base_url", *(need for p in planned for need in p.scenario.needs)})


def _receipt_name(location: Path, arguments: tuple[Path, ...]) -> str:
    """A scenario file as receipts name it: from the argument that found it, never from the working directory.

    ``run /abs/scenarios`` and ``cd / && run /abs/scenarios`` must give the same receipts, so
    the name is ``<folder argument's name>/<path inside it>``, or ``<parent>/<file>`` for a file argument.
    """
    for argument in arguments:
        root = Path(os.path.abspath(argument))
        if root.is_dir() and location.is_relative_to(root):
            return f"{root.name}/{location.relative_to(root).as_posix()}"
    return f"{location.parent.name}/{location.name}"


def _load(config: RunConfig) -> tuple[list[Planned], list[dict[str, str]]]:
    loaded = load_scenarios(list(config.paths))
    if loaded.errors:
        raise InputError([str(error) for error in loaded.errors])
    files = {f.path: f for f in loaded.files}
    planned = []
    for scenario in loaded.scenarios:
        assert scenario.source is not None
        location = Path(os.path.abspath(files[scenario.source.file].location))
        planned.append(Planned(scenario, _receipt_name(location, config.paths), location.parent))
    digests = {p.file: files[p.scenario.source.file].sha256 for p in planned if p.scenario.source}
    return planned, [{"id": p.scenario.id, "file": p.file, "sha256": f"sha256:{digests[p.file]}"} for p in planned]


def _manifest(config: RunConfig, ids: RunIds, scenarios: list[dict[str, str]], shown: dict[str, Any],
              auth_source: str | None) -> dict[str, Any]:
    epoch = config.env.get("SOURCE_DATE_EPOCH")
    source_date = None
    if epoch and epoch.strip().isdigit():
        source_date = datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "schema_version": 1,
        "run_id": ids.run_id,
        "tool": {"name": "velikey-e2e", "version": runner.__version__},
        "sdk": {"name": "velikey", "version": velikey.__version__},
        "python": {"implementation": platform.python_implementation(),
                   "version": ".".join(platform.python_version_tuple()[:2])},
        "mode": config.mode,
        "source_date": source_date,
        "scenarios": scenarios,
        "inputs": shown,
        "auth_source": auth_source,
        "options": {
            "confirm": config.confirm,
            "embedded": config.embedded,
            "verify_tls": config.verify_tls,
            "request_timeout": decimal_str(Decimal(str(config.request_timeout))),
            "deadline": None if config.deadline is None else decimal_str(Decimal(str(config.deadline))),
        },
    }


def run(config: RunConfig) -> RunReport:
    """Run the pipeline once; see the module docstring."""
    planned, scenario_files = _load(config)
    previous = _stop_handlers()
    try:
        with _embedded_server(config.embedded) as embedded:
            return asyncio.run(_run(config, planned, scenario_files, embedded))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_handlers() -> dict[signal.Signals, Any]:
    """The process's SIGINT/SIGTERM handlers, to restore after the run (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _too_late(signum: int, frame: object) -> None:
    """A stop after the steps ended changes nothing: the receipts are (being) written and stand."""


async def _run(config: RunConfig, planned: list[Planned], scenario_files: list[dict[str, str]],
               embedded: _Embedded | None) -> RunReport:
    started_wall, started = datetime.now(timezone.utc), time.monotonic()
    live = config.mode == "live"
    inputs = resolve_inputs(config.env, config.flags, embedded.inputs if embedded else None)
    shown = _shown(inputs)
    ids = RunIds.for_plan(
        {"scenarios": scenario_files, "inputs": {k: v["value"] for k, v in shown.items()}, "confirm": config.confirm},
        config.mode,
    )
    missing = missing_for(_required(planned), inputs)
    values = {name: value.value for name, value in inputs.items() if name != "session"}
    urls = {values["base_url"] or "": "AXIS_BASE_URL", values.get("payload_url") or "": "SDK_E2E_PAYLOAD_URL"}
    secrets = [config.env.get(name) for name in SECRET_ENV] + [embedded.cookie if embedded else None]

    client: AegisClient | None = None
    auth_source = "embedded" if embedded else auth_kind(config.env)
    blocker_codes: list[str] = []
    guidance: list[str] = []
    if live and not missing:
        client = AegisClient(
            session_cookie=embedded.cookie if embedded else None,
            base_url=str(values["base_url"]),
            timeout=config.request_timeout,
            verify_ssl=config.verify_tls,
            env=config.env,
            retry_policy=RetryPolicy(max_retries=config.max_retries, rng=Random(ids.run_id)),
        )
        try:
            await client.resolve_auth()
        except VeliKeyError as exc:
            blocker_codes.append(reason_for_error(exc))
            guidance.append(Redactor(secrets + list(client.redaction_values())).text(str(exc)))
        secrets += list(client.redaction_values())
        if not embedded:
            auth_source = client.auth_source or auth_source
    redactor = Redactor(secrets, urls)
    # The header the requests carry (dry-run: the one the environment's auth source would give).
    uses_api_key = client.uses_api_key if client else auth_kind(config.env) in BEARER_SOURCES
    auth_header = "Authorization" if uses_api_key else "Cookie"
    blocked = live and bool(missing or blocker_codes)
    if blocked:
        # Every missing input's code reaches the result receipt, not only the one the steps carry.
        blocker_codes += [INPUTS[name].reason for name in missing]
    ctx = Context(live=live and not blocked, confirm=config.confirm, ids=ids, inputs=values,
                  base_url=str(values["base_url"]), auth_header=auth_header, redactor=redactor, client=client)
    engine = Engine(ctx, config.concurrency, config.progress)
    with _orderly_stops(engine, config.deadline):
        try:
            if blocked:
                results = [_blocked(p, missing, blocker_codes) for p in planned]
            else:
                results = await engine.run(planned)
        finally:
            if client is not None:
                await client.close()
        # Interrupted means a step was cut short: a signal after the last step changes nothing.
        interrupted = any(step.reason_code == "interrupted" for result in results for step in result.steps)
        facts = _Facts(ids, scenario_files, shown, auth_source, missing, blocker_codes, guidance, started_wall, started)
        return _write(config, facts, results, interrupted)


@dataclass(frozen=True)
class _Facts:
    """What preflight established, carried to the receipts."""

    ids: RunIds
    scenario_files: list[dict[str, str]]
    shown: dict[str, Any]
    auth_source: str | None
    missing: list[str]
    blocker_codes: list[str]
    guidance: list[str]
    started_wall: datetime
    started: float


def _write(config: RunConfig, facts: _Facts, results: list[ScenarioResult], interrupted: bool) -> RunReport:
    """Evidence → render → validate → write, as one atomic receipt set."""
    ids, missing, blocker_codes = facts.ids, facts.missing, facts.blocker_codes
    summary = summary_document(run_id=ids.run_id, mode=config.mode, scenarios=results,
                               missing_inputs=missing, extra_codes=blocker_codes)
    blocker = None
    if summary["result"] == "manual-required":
        codes = blocker_codes + [s["reason_code"] for sc in summary["scenarios"] for s in sc["steps"]
                                 if s["outcome"] == "blocked"]
        blocker = blocker_document(run_id=ids.run_id, missing=missing, codes=codes, guidance=facts.guidance,
                                   rerun=config.rerun)
    exit_code = INTERRUPTED_EXIT if interrupted else EXIT_CODES[summary["result"]]
    timings = timings_document(
        run_id=ids.run_id, started_at=_iso(facts.started_wall), finished_at=_iso(datetime.now(timezone.utc)),
        duration_ms=int((time.monotonic() - facts.started) * 1000), concurrency=config.concurrency, scenarios=results,
    )
    files = build_receipt_set(
        summary=summary,
        manifest=_manifest(config, ids, facts.scenario_files, facts.shown, facts.auth_source),
        timings=timings,
        blocker=blocker,
        evidence=evidence_documents(ids.run_id, results) if config.mode == "live" else {},
        exit_code=exit_code,
    )
    out_dir = config.out or config.receipts_root / f"{config.mode}-{ids.run_id}"
    write_receipt_set(out_dir, files)
    return RunReport(exit_code, out_dir, summary, blocker)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _blocked(planned: Planned, missing: list[str], codes: list[str]) -> ScenarioResult:
    """A scenario that preflight stopped: every step blocked, no request sent."""
    mine = [name for name in INPUTS if name in missing and (name in planned.scenario.needs or name == "base_url")]
    reason = INPUTS[mine[0]].reason if mine else (codes[0] if codes else "input_missing")
    message = f"live inputs missing: {', '.join(missing)}" if missing else "the session could not be established"
    steps = tuple(
        StepResult(id=s.id, kind=s.kind, outcome="blocked", reason_code=reason, message=message,
                   call=getattr(s, "call", None))
        for s in planned.scenario.steps
    )
    return ScenarioResult(planned.scenario.id, planned.scenario.title, planned.file, steps)


@contextmanager
def _orderly_stops(engine: Engine, deadline: float | None) -> Iterator[None]:
    """SIGINT/SIGTERM and the deadline become ``engine.stop``; held until the receipts are written,
    so a second Ctrl-C cannot tear a receipt set in half."""
    loop = asyncio.get_running_loop()
    stopped: list[str] = []

    def stop(reason: str) -> Callable[[], None]:
        def handler() -> None:
            if not stopped:
                stopped.append(reason)
                engine.stop(reason)
        return handler

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop("interrupted"))
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            pass
    timer = loop.call_later(deadline, stop("timeout")) if deadline else None
    try:
        yield
    finally:
        if timer:
            timer.cancel()
        for sig in installed:
            loop.remove_signal_handler(sig)
            # Until run() returns (loop teardown, the embedded server's stop), a stop is too late to matter.
            signal.signal(sig, _too_late)
