"""Engine results → the receipt documents (SUMMARY, evidence, manifest, timings, BLOCKER) and the exit code.

The redactor is built here, once per run, from what preflight found (secret values, live
URLs), and every view of a result passes through it. Pure functions of their inputs:
nothing here reads the clock except ``timings``, which is the one volatile file and is
referenced by nothing else.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from sys import intern
from typing import Any

import runner
import velikey
from runner import exits
from runner.canonical import decimal_str
from runner.config import RunConfig
from runner.engine.results import ScenarioResult, StepResult
from runner.inputs import INPUTS
from runner.preflight import Preflight
from runner.reasons import CATALOG
from runner.scenario.load import Planned
from runner.scenario.model import AnyStep, CallStep
from velikey.operations import EFFECTFUL, OPERATIONS

from .facts import run_facts
from .redact import SECRET_KEY, Redactor
from .rerun import rerun_command
from .views import (
    assertion_view,
    exchange_view,
    message,
    metering_view,
    polling_view,
    probe_view,
    recorded_value,
    request_view,
    response_view,
)

__all__ = [
    "Documents",
    "blocker_document",
    "collect",
    "evidence_documents",
    "exit_code",
    "manifest_document",
    "result_of",
    "step_sources",
    "summary_document",
    "timings_document",
    "traffic_line",
]

OUTCOMES = ("passed", "failed", "blocked", "skipped", "planned")


@dataclass(frozen=True, slots=True)
class StepSource:
    """What the scenario file says about a step that its result does not: where it is, whether it is a dry run."""

    line: int | None = None
    server_dry_run: bool = False


def _server_dry_run(step: AnyStep) -> bool:
    """A call whose operation takes ``dry_run`` and gets (or defaults to) a literal true: the server only plans."""
    if not isinstance(step, CallStep) or step.call not in OPERATIONS:
        return False
    param = OPERATIONS[step.call].param("dry_run")
    return param is not None and step.with_.get("dry_run", param.default) is True


def step_sources(planned: Sequence[Planned]) -> dict[tuple[str, str], StepSource]:
    """(scenario id, step id) → the step's line and dry-run flag, for every step and cleanup step."""
    return {
        (p.scenario.id, step.id): StepSource(step.source.line if step.source else None, _server_dry_run(step))
        for p in planned
        for step in (*p.scenario.steps, *p.scenario.cleanup)
    }


def evidence_path(scenario: str, step: str) -> str:
    return f"evidence/{scenario}/{step}.json"


def result_of(scenarios: Sequence[ScenarioResult], extra_codes: Sequence[str] = (), mode: str = "live") -> str:
    """``fail`` if anything failed, else ``manual-required`` if anything is blocked, else ``planned`` for a
    dry-run (it sent nothing, so it proves nothing: never ``pass``), else ``pass``."""
    outcomes = {step.outcome for s in scenarios for step in s.all_steps}
    if "failed" in outcomes:
        return "fail"
    if "blocked" in outcomes or any(CATALOG[c].category == "blocked" for c in extra_codes):
        return "manual-required"
    return "planned" if mode == "dry-run" else "pass"


def exit_code(scenarios: Sequence[ScenarioResult], extra_codes: Sequence[str] = (), mode: str = "live") -> int:
    """The verdict's exit code, or 130 when a stop cut a step short (a stop after the last step changes nothing)."""
    if any(step.reason_code == "interrupted" for s in scenarios for step in s.all_steps):
        return exits.INTERRUPTED
    return exits.FOR_RESULT[result_of(scenarios, extra_codes, mode)]


def _step(scenario: str, step: StepResult, live: bool, redactor: Redactor, source: StepSource) -> dict[str, Any]:
    requests = [request_view(r, redactor) for r in step.requests]
    last = step.exchanges[-1].exchange if step.exchanges else None
    return {
        "id": step.id,
        "line": source.line,
        "kind": step.kind,
        "server_dry_run": source.server_dry_run,
        "call": step.call,
        "outcome": step.outcome,
        "reason_code": step.reason_code,
        "message": intern(message(step, redactor)),  # shared like the views' strings (runner.evidence.views)
        "request": requests[0] if requests else None,
        "requests": requests,
        "response": response_view(last) if last is not None else None,
        "attempts": max((e.attempts for e in step.exchanges), default=0),
        "assertions": [assertion_view(a, redactor) for a in step.assertions],
        "saved": {name: recorded_value(value, redactor) for name, value in step.saved.items()},
        "probe": probe_view(step.probe) if step.probe else None,
        "metering": metering_view(step.metering) if step.metering else None,
        "until": polling_view(step.polling) if step.polling else None,
        "evidence": evidence_path(scenario, step.id) if live and step.exchanges else None,
    }


def summary_document(
    *,
    run_id: str,
    mode: str,
    scenarios: Sequence[ScenarioResult],
    missing_inputs: Sequence[str],
    redactor: Redactor,
    facts: Mapping[str, Any],
    extra_codes: Sequence[str] = (),
    sources: Mapping[tuple[str, str], StepSource] | None = None,
) -> dict[str, Any]:
    """SUMMARY.json; ``facts`` are ``run_facts`` of the run's manifest, ``sources`` from ``step_sources``."""
    live = mode == "live"
    known = sources or {}
    steps = [step for s in scenarios for step in s.all_steps]
    counts = {outcome: sum(1 for step in steps if step.outcome == outcome) for outcome in OUTCOMES}
    codes = sorted({step.reason_code for step in steps} | set(extra_codes))
    return {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "run_id": run_id,
        "mode": mode,
        "result": result_of(scenarios, extra_codes, mode),
        "counts": counts,
        "reason_codes": codes,
        "readiness": {"ready": not missing_inputs, "missing_inputs": sorted(missing_inputs)},
        "facts": dict(facts),
        "scenarios": [
            {
                "id": s.id,
                "title": s.title,
                "file": s.file,
                "outcome": s.outcome[0],
                "reason_code": s.outcome[1],
                "steps": [_step(s.id, step, live, redactor, known.get((s.id, step.id), StepSource()))
                          for step in s.steps],
                "cleanup": [_step(s.id, step, live, redactor, known.get((s.id, step.id), StepSource()))
                            for step in s.cleanup],
            }
            for s in scenarios
        ],
    }


class EvidenceDocuments(Mapping[str, dict[str, Any]]):
    """Evidence path → document, each rendered when asked for, once, and never kept.

    A live run's evidence outweighs the rest of its receipts; built all at once it held about 6 KiB a
    step in memory until the set was written. Rendered one at a time, the receipts stage holds one
    document and its bytes (issue 11 item 5). Asking for a document also lets go of the step's raw
    result (its requests and answers), so once the evidence is written the rest of the set is built
    without them. The same redactor renders every document, as before.
    """

    def __init__(self, run_id: str, scenarios: Sequence[ScenarioResult], redactor: Redactor) -> None:
        self._run_id, self._redactor = run_id, redactor
        # Only what evidence shows, not the step results: the rest of a result (its rendered requests, its
        # assertions) is in the summary by now, and is freed with the results (about 1.3 KiB a step).
        self._steps = {evidence_path(s.id, step.id): (s.id, step.id, step.polling.polls if step.polling else None,
                                                      step.exchanges)
                       for s in scenarios for step in s.all_steps if step.exchanges}

    def __getitem__(self, path: str) -> dict[str, Any]:
        scenario, step, polls, exchanges = self._steps.pop(path)
        return {
            "schema_version": 1,
            "run_id": self._run_id,
            "scenario": scenario,
            "step": step,
            "polls": polls,
            "exchanges": [exchange_view(e, self._redactor) for e in exchanges],
        }

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._steps))  # the paths not yet asked for (asking removes one)

    def __len__(self) -> int:
        return len(self._steps)


def evidence_documents(run_id: str, scenarios: Sequence[ScenarioResult], redactor: Redactor
                       ) -> Mapping[str, dict[str, Any]]:
    return EvidenceDocuments(run_id, scenarios, redactor)


def blocker_document(
    *, run_id: str, missing: Sequence[str], codes: Sequence[str], guidance: Sequence[str], rerun: str
) -> dict[str, Any]:
    """BLOCKER.json: what is missing, how to provide each, and the command to run afterwards."""
    covered = {INPUTS[name].reason for name in missing}
    return {
        "schema_version": 1,
        "run_id": run_id,
        "reason_codes": sorted(set(codes) | covered),
        "missing_inputs": [
            {"name": name, "env": list(INPUTS[name].env), "flag": INPUTS[name].flag, "how": INPUTS[name].how}
            for name in sorted(missing)
        ],
        # Missing inputs carry their own "how"; the catalog's remediation covers every other code.
        "guidance": list(guidance) + [CATALOG[c].remediation for c in sorted(set(codes) - covered)],
        "rerun": rerun,
    }


def traffic_line(scenarios: Sequence[ScenarioResult]) -> str:
    """What reached the tenant, in one line: for a run whose receipts were lost, the user must know what was sent."""
    steps = [step for s in scenarios for step in s.all_steps if step.exchanges]
    requests = sum(e.attempts for step in steps for e in step.exchanges)
    effects = [f"{step.call} ({step.id})" for step in steps if step.call in EFFECTFUL]
    told = f"{requests} request(s) were sent by {len(steps)} step(s)"
    return told + (f", including calls that can take effect: {', '.join(effects)}" if effects else "")


def timings_document(
    *, run_id: str, started_at: str, finished_at: str, duration_ms: int, concurrency: int,
    scenarios: Sequence[ScenarioResult],
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "duration_ms": duration_ms,
        "concurrency": concurrency,
        "steps": [{"scenario": s.id, "step": step.id, "duration_ms": step.duration_ms}
                  for s in scenarios for step in s.all_steps],
    }


def manifest_document(config: RunConfig, pre: Preflight) -> dict[str, Any]:
    """run-manifest.json: what ran, with which tool, inputs (non-secret values only) and options."""
    epoch = config.env.get("SOURCE_DATE_EPOCH")
    source_date = None
    if epoch and epoch.strip().isdigit():
        source_date = datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    document: dict[str, Any] = {
        "schema_version": 1,
        "run_id": pre.ids.run_id,
        "run_nonce": pre.ids.nonce.document(),
        "tool": {"name": "velikey-e2e", "version": runner.__version__},
        "sdk": {"name": "velikey", "version": velikey.__version__},
        "python": {"implementation": platform.python_implementation(),
                   "version": ".".join(platform.python_version_tuple()[:2])},
        "mode": config.mode,
        "source_date": source_date,
        "scenarios": list(pre.scenario_files),
        "inputs": pre.shown,
        "auth_source": pre.auth_source,
        "transport": dict(pre.transport),
        "options": {
            "confirm": config.confirm,
            "embedded": config.embedded,
            "verify_tls": config.verify_tls,
            "request_timeout": decimal_str(Decimal(str(config.request_timeout))),
            "deadline": None if config.run_deadline is None else decimal_str(Decimal(str(config.run_deadline))),
            "max_retries": config.max_retries,
        },
    }
    # Null but in a shard's manifest: ``merge`` sets it back to null, so the merged set is the unsharded one.
    document["shard"] = None
    if config.shard is not None:
        owned = config.shard.owns(f["id"] for f in pre.scenario_files)
        document["shard"] = {"index": config.shard.index, "count": config.shard.count,
                             "scenarios": [f["id"] for f in pre.scenario_files if f["id"] in owned]}
    return document


@dataclass(frozen=True)
class Documents:
    """Every receipt document of one run and its exit code: what ``build_receipt_set`` takes."""

    summary: dict[str, Any]
    manifest: dict[str, Any]
    timings: dict[str, Any]
    blocker: dict[str, Any] | None
    evidence: Mapping[str, dict[str, Any]]
    exit_code: int


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def collect(config: RunConfig, pre: Preflight, results: Sequence[ScenarioResult], *, started_at: datetime,
            started: float, sources: Mapping[tuple[str, str], StepSource] | None = None) -> Documents:
    """The run's documents, every value redacted by one redactor built from preflight's secrets and URLs.

    ``started_at`` (wall clock) and ``started`` (``time.monotonic``) mark the run's start, for timings only;
    ``sources`` (``step_sources`` of the loaded scenarios) give each step its line: taken instead of the
    scenarios themselves, so those are freed before the receipts are built.
    """
    # A value the run saved under a secret's name (a rollback token from an apply) is a secret from then on.
    saved = [str(v) for s in results for step in s.all_steps for k, v in step.saved.items() if SECRET_KEY.search(k)]
    redactor = Redactor([*pre.secrets, *saved], pre.urls)
    run_id, codes = pre.ids.run_id, pre.blocker_codes
    blocked = [step.reason_code for s in results for step in s.all_steps if step.outcome == "blocked"]
    # A step that found no session (its scenario declared none, ``needs: []``) names the input all the same.
    absent = [name for name, spec in INPUTS.items() if spec.reason == "auth_missing" and spec.reason in blocked
              and not pre.shown.get(name, {}).get("provided")]
    missing = sorted({*pre.missing, *absent})
    manifest = manifest_document(config, pre)
    summary = summary_document(run_id=run_id, mode=config.mode, scenarios=results, missing_inputs=missing,
                               redactor=redactor, facts=run_facts(manifest), extra_codes=codes,
                               sources=sources)
    blocker = None
    if summary["result"] == "manual-required":
        blocker = blocker_document(run_id=run_id, missing=missing, codes=[*codes, *blocked],
                                   guidance=[redactor.text(g) for g in pre.guidance],
                                   rerun=rerun_command(config, [*codes, *blocked]))
    timings = timings_document(
        run_id=run_id, started_at=_iso(started_at), finished_at=_iso(datetime.now(timezone.utc)),
        duration_ms=int((time.monotonic() - started) * 1000), concurrency=config.concurrency, scenarios=results,
    )
    return Documents(
        summary=summary,
        manifest=manifest,
        timings=timings,
        blocker=blocker,
        evidence=evidence_documents(run_id, results, redactor) if config.live else {},
        exit_code=exit_code(results, codes, config.mode),
    )
