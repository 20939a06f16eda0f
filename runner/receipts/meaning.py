"""Meaning checks of a receipt set: what it claims must follow from what it recorded.

Digests prove the files are the ones the result receipt lists, not that they are true to
each other: with digests recomputed, ``result: pass`` over a failed step would still
validate. So ``validate`` re-derives, independently of the code that wrote them, what can
be derived: each step's outcome from its reason code, assertions, probe and metering; each
assertion's verdict from its recorded actual and expected values; each scenario's outcome,
the counts, the reason codes and the result from the steps; SUMMARY.md from SUMMARY.json;
and the evidence, manifest and timings against the summary. Problems are one line each,
naming the file.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from runner.engine.expect import holds
from runner.reasons import CATALOG
from runner.receipts.render import render_markdown
from runner.scenario.interpolate import MISSING
from runner.shard import Shard
from velikey.operations import OPERATIONS

__all__ = ["meaning_problems", "verdicts"]

_OUTCOMES = ("passed", "failed", "blocked", "skipped", "planned")
# How receipts write numbers that are not integers: decimal strings (redactor.value).
_NUMBER_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_MAX_READINGS = 64


def _readings(value: Any) -> list[Any] | None:
    """Every value that could have been recorded as ``value``; None when that cannot be told.

    A decimal string may have been a number or a string, and a redacted or summarised value
    hides what it was, so a verdict is only checked where the record pins it down.
    """
    # Imported here: the redactor imports the receipts package, which imports this module.
    from runner.evidence.redact import REDACTED, TOO_DEEP

    if isinstance(value, str):
        if REDACTED in value or value == TOO_DEEP:
            return None
        if _NUMBER_TEXT.fullmatch(value):
            try:
                return [value, Decimal(value)]
            except InvalidOperation:  # pragma: no cover - the pattern only admits valid text
                return [value]
        return [value]
    if isinstance(value, (list, dict)):
        items = list(value.values()) if isinstance(value, dict) else list(value)
        options = [_readings(item) for item in items]
        if any(option is None for option in options):
            return None
        combos: list[Any] = []
        for combo in itertools.product(*(o for o in options if o is not None)):
            if len(combos) == _MAX_READINGS:
                return None
            combos.append(dict(zip(value, combo, strict=True)) if isinstance(value, dict) else list(combo))
        return combos
    return [value]


def verdicts(op: str, actual: Any, expected: Any) -> set[bool] | None:
    """The verdicts an assertion with these recorded values can have; None when the record cannot tell."""
    actuals = _readings(actual)
    expecteds = _readings(expected)
    if actuals is None or expecteds is None:
        return None
    if actual is None:
        actuals.append(MISSING)  # an absent path is recorded as null too
    found = set()
    for a, e in itertools.product(actuals, expecteds):
        try:
            found.add(holds(op, a, e))
        except (TypeError, ValueError, ArithmeticError):  # a reading the operator cannot take
            continue
    return found or None


def _step_problems(mode: str, scenario: str, step: Mapping[str, Any]) -> list[str]:
    where = f"SUMMARY.json: step {scenario}/{step['id']}"
    outcome, reason = step["outcome"], step["reason_code"]
    problems = []
    for code, paired in (("ok", "passed"), ("dry_run_planned", "planned")):
        if (reason == code) != (outcome == paired):
            problems.append(f"{where}: outcome {outcome!r} with reason code {reason!r}")
    if outcome == "failed" and CATALOG[reason].category != "fail":
        problems.append(f"{where}: failed with {reason!r}, a {CATALOG[reason].category} code")
    if (mode, outcome) in (("dry-run", "passed"), ("live", "planned")):
        problems.append(f"{where}: a {mode} run has no {outcome} step")
    for index, assertion in enumerate(step["assertions"]):
        possible = verdicts(assertion["op"], assertion["actual"], assertion["expected"])
        if possible is not None and assertion["passed"] not in possible:
            said = "held" if assertion["passed"] else "failed"
            problems.append(f"{where}: assertion {index} ({assertion['path']} {assertion['op']}) says it {said},"
                            f" but actual {assertion['actual']!r} and expected {assertion['expected']!r} say otherwise")
    if any(not a["passed"] for a in step["assertions"]) and outcome != "failed":
        problems.append(f"{where}: an assertion failed, but the step is {outcome!r}")
    probe = step["probe"]
    if probe is not None:
        matched = probe["echo_sha256"] == probe["sha256"] and probe["echo_bytes"] == probe["bytes"]
        if probe["matched"] != matched:
            problems.append(f"{where}: probe matched={probe['matched']}, but the echo says {matched}")
        if outcome == "passed" and not probe["matched"]:
            problems.append(f"{where}: passed, but the probe's echo did not match")
    metering = step["metering"]
    if metering is not None:
        problems += _metering_problems(where, outcome, metering)
    return problems


def _metering_problems(where: str, outcome: str, metering: Mapping[str, Any]) -> list[str]:
    problems = []
    try:
        low, high = Decimal(metering["expected_min"]), Decimal(metering["expected_max"])
        values = [None if metering[k] in (None, "") else Decimal(metering[k]) for k in ("before", "after", "delta")]
    except InvalidOperation:
        return [f"{where}: metering values are not decimals"]
    before, after, delta = values
    if delta is not None:
        if before is not None and after is not None and after - before != delta:
            problems.append(f"{where}: metering delta {delta} is not after - before ({after - before})")
        if metering["settled"] != (low <= delta <= high):
            problems.append(f"{where}: metering settled={metering['settled']}, but {delta} vs [{low}, {high}] says"
                            f" {not metering['settled']}")
    if outcome == "passed" and not metering["settled"]:
        problems.append(f"{where}: passed, but the metering delta did not settle")
    return problems


def _scenario_outcome(steps: list[Mapping[str, Any]]) -> tuple[str, str]:
    """A scenario fails with its first failed step, else blocks with its first blocked one."""
    for wanted in ("failed", "blocked"):
        for step in steps:
            if step["outcome"] == wanted:
                return wanted, step["reason_code"]
    if any(step["outcome"] == "planned" for step in steps):
        return "planned", "dry_run_planned"
    if any(step["outcome"] == "passed" for step in steps):
        return "passed", "ok"
    return "skipped", steps[0]["reason_code"] if steps else "ok"


def _total_problems(summary: Mapping[str, Any], blocker: Mapping[str, Any] | None) -> list[str]:
    problems = []
    steps = [step for scenario in summary["scenarios"] for step in scenario["steps"]]
    counts = {outcome: sum(1 for step in steps if step["outcome"] == outcome) for outcome in _OUTCOMES}
    if summary["counts"] != counts:
        problems.append(f"SUMMARY.json: counts {summary['counts']} do not tally the steps ({counts})")
    codes = set(summary["reason_codes"])
    from_steps = {step["reason_code"] for step in steps}
    blocker_codes = set(blocker["reason_codes"]) if blocker is not None else set()
    for code in sorted(from_steps - codes):
        problems.append(f"SUMMARY.json: reason code {code!r} of a step is missing from reason_codes")
    for code in sorted(codes - from_steps - blocker_codes):
        problems.append(f"SUMMARY.json: reason code {code!r} comes from no step and not from BLOCKER.json")
    for code in sorted(blocker_codes - codes):
        problems.append(f"BLOCKER.json: reason code {code!r} is missing from SUMMARY.json's reason_codes")
    if counts["failed"]:
        result = "fail"
    elif counts["blocked"] or any(CATALOG[code].category == "blocked" for code in codes):
        result = "manual-required"
    else:
        result = "planned" if summary["mode"] == "dry-run" else "pass"
    if summary["result"] != result:
        problems.append(f"SUMMARY.json: result {summary['result']!r}, but the steps make it {result!r}")
    if blocker is not None:
        names = sorted(item["name"] for item in blocker["missing_inputs"])
        if names != sorted(summary["readiness"]["missing_inputs"]):
            problems.append("BLOCKER.json: missing_inputs differ from SUMMARY.json's readiness")
    return problems


def _made(request: Mapping[str, Any], sent: set[tuple[str, str]], ids: set[tuple[str, Any]], call: str | None) -> bool:
    """Whether the step made ``request``: one it rendered, or the same request sent to its operation's fallback
    route (a health check that falls back to ``/health`` carries the same request id to another path)."""
    if (request["method"], request["url"]) in sent:
        return True
    if call is None or call not in OPERATIONS or (request["method"], request["headers"].get("x-request-id")) not in ids:
        return False
    path = request["url"].split("?", 1)[0].removeprefix("$AXIS_BASE_URL")
    return (request["method"], path) in OPERATIONS[call].routes


def _evidence_problems(summary: Mapping[str, Any], docs: Mapping[str, Any]) -> list[str]:
    problems = []
    for scenario in summary["scenarios"]:
        for step in scenario["steps"]:
            name = step["evidence"]
            doc = docs.get(name) if name is not None else None
            if doc is None or not doc["exchanges"]:
                continue
            exchanges, which = doc["exchanges"], f"SUMMARY.json step {scenario['id']}/{step['id']}"
            if exchanges[-1]["response"] != step["response"]:
                problems.append(f"{name}: the last answer is not the response of {which}")
            if max(e["attempts"] for e in exchanges) != step["attempts"]:
                problems.append(f"{name}: attempts differ from {which}")
            sent = {(r["method"], r["url"]) for r in step["requests"]}
            ids = {(r["method"], r["headers"].get("x-request-id")) for r in step["requests"]}
            if any(not _made(e["request"], sent, ids, step.get("call")) for e in exchanges):
                problems.append(f"{name}: holds a request that {which} did not make")
            error = exchanges[-1]["error"]
            if error is not None and (step["outcome"] not in ("failed", "blocked")
                                      or error["reason_code"] != step["reason_code"]):
                problems.append(f"{name}: ends in {error['reason_code']!r}, but {which} is {step['outcome']!r}"
                                f" with {step['reason_code']!r}")
    return problems


def _listing_problems(summary: Mapping[str, Any], docs: Mapping[str, Any]) -> list[str]:
    problems = []
    manifest = docs.get("run-manifest.json")
    scenarios = [(s["id"], s["file"]) for s in summary["scenarios"]]
    if manifest is not None:
        listed = manifest["scenarios"]
        shard = manifest["shard"]
        if shard is not None:
            # A shard's summary holds its share of the run's scenarios, the share the rule gives.
            owned = Shard(shard["index"], shard["count"]).owns(s["id"] for s in listed)
            if shard["index"] > shard["count"] or shard["scenarios"] != [s["id"] for s in listed if s["id"] in owned]:
                problems.append(f"run-manifest.json: shard {shard['index']}/{shard['count']} does not list the"
                                " scenarios that shard runs")
            listed = [s for s in listed if s["id"] in shard["scenarios"]]
        if [(s["id"], s["file"]) for s in listed] != scenarios:
            problems.append("run-manifest.json: scenarios differ from SUMMARY.json's")
    timings = docs.get("timings.json")
    steps = [(s["id"], step["id"]) for s in summary["scenarios"] for step in s["steps"]]
    if timings is not None and [(t["scenario"], t["step"]) for t in timings["steps"]] != steps:
        problems.append("timings.json: steps differ from SUMMARY.json's")
    return problems


def meaning_problems(docs: Mapping[str, Any], raws: Mapping[str, bytes]) -> list[str]:
    """Every claim of a schema-valid set that its own records contradict; empty when it is true to itself.

    ``docs`` holds the parsed, schema-valid JSON receipts by relative path, ``raws`` the
    bytes of every receipt file.
    """
    summary = docs.get("SUMMARY.json")
    if summary is None:
        return []
    problems = []
    for scenario in summary["scenarios"]:
        for step in scenario["steps"]:
            problems += _step_problems(summary["mode"], scenario["id"], step)
        derived = _scenario_outcome(scenario["steps"])
        if (scenario["outcome"], scenario["reason_code"]) != derived:
            problems.append(f"SUMMARY.json: scenario {scenario['id']} is {scenario['outcome']!r} with"
                            f" {scenario['reason_code']!r}, but its steps make it {derived[0]!r} with {derived[1]!r}")
    problems += _total_problems(summary, docs.get("BLOCKER.json"))
    markdown = raws.get("SUMMARY.md")
    if markdown is not None and markdown != render_markdown(summary).encode("utf-8"):
        problems.append("SUMMARY.md: is not the rendering of SUMMARY.json (edited, or rendered from another summary)")
    problems += _evidence_problems(summary, docs)
    problems += _listing_problems(summary, docs)
    return problems
