"""``validate`` checks meaning: each forgery below recomputes every digest, and is still refused."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.canonical import dumps, sha256_tag
from runner.pipeline import RunConfig, run
from runner.receipts.meaning import verdicts
from runner.receipts.render import render_markdown
from runner.receipts.validate import RESULT_FILE, validate_run_dir
from velikey.testing import ReferenceServer

REPO = Path(__file__).resolve().parents[2]
GATE = REPO / "scenarios" / "release-gate.yaml"
DOWN = REPO / "tests" / "runner" / "scenarios" / "status-down.yaml"  # fails its first assertion on purpose

Docs = dict[str, Any]


@pytest.fixture(scope="module")
def genuine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Two real live runs against the reference server (the passing release gate and a failing gate) and a
    dry-run of the gate."""
    root = tmp_path_factory.mktemp("genuine")
    sets = {}
    with ReferenceServer() as server:
        for name, path in (("gate", GATE), ("down", DOWN)):
            run(RunConfig(paths=(path,), mode="live", out=root / name, env=server.live_env()))
            sets[name] = root / name
    run(RunConfig(paths=(GATE,), mode="dry-run", out=root / "dry", env={}))
    sets["dry"] = root / "dry"
    yield sets


def _forge(src: Path, tmp: Path, edit: Callable[[Docs], None], markdown: Callable[[str], str] | None = None) -> Path:
    """Copy a set, edit its JSON documents, and make it look untouched: SUMMARY.md re-rendered (or edited),
    the result receipt's copies of the verdict kept in step, every digest recomputed."""
    out = tmp / "forged"
    shutil.copytree(src, out)
    docs = {p.relative_to(out).as_posix(): json.loads(p.read_bytes()) for p in out.rglob("*.json")}
    edit(docs)
    summary, result = docs["SUMMARY.json"], docs[RESULT_FILE]
    for field in ("result", "mode", "counts", "reason_codes"):
        result[field] = summary[field]
    result["exit_code"] = {"pass": 0, "planned": 0, "fail": 1, "manual-required": 3}[summary["result"]]
    text = render_markdown(summary)
    (out / "SUMMARY.md").write_text(markdown(text) if markdown else text, encoding="utf-8")
    for name, doc in docs.items():
        if name != RESULT_FILE:
            (out / name).write_bytes(dumps(doc))
    result["files"] = {name: sha256_tag((out / name).read_bytes()) for name in result["files"]}
    (out / RESULT_FILE).write_bytes(dumps(result))
    return out


def _step(docs: Docs, step_id: str) -> dict[str, Any]:
    return next(s for s in docs["SUMMARY.json"]["scenarios"][0]["steps"] if s["id"] == step_id)


@pytest.mark.parametrize("name", ["gate", "down", "dry"])
def test_genuine_sets_are_valid_and_an_untouched_forgery_too(genuine: dict[str, Path], tmp_path: Path,
                                                             name: str) -> None:
    assert validate_run_dir(genuine[name]) == []
    assert validate_run_dir(_forge(genuine[name], tmp_path, lambda docs: None)) == []  # the forger's tool is sound


def test_pass_over_a_failed_step(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["result"] = "pass"

    assert validate_run_dir(_forge(genuine["down"], tmp_path, edit)) == [
        "SUMMARY.json: result 'pass', but the steps make it 'fail'"
    ]


@pytest.mark.parametrize(("name", "claim", "derived"), [("dry", "pass", "planned"), ("gate", "planned", "pass")])
def test_a_dry_run_that_claims_pass_and_a_live_run_that_claims_planned(genuine: dict[str, Path], tmp_path: Path,
                                                                       name: str, claim: str, derived: str) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["result"] = claim

    assert validate_run_dir(_forge(genuine[name], tmp_path, edit)) == [
        f"SUMMARY.json: result {claim!r}, but the steps make it {derived!r}"
    ]


def test_a_failed_step_made_to_pass(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        summary = docs["SUMMARY.json"]
        _step(docs, "health").update(outcome="passed", reason_code="ok")
        summary["scenarios"][0].update(outcome="passed", reason_code="ok")
        summary.update(result="pass", reason_codes=["ok", "previous_step_failed"],
                       counts={**summary["counts"], "failed": 0, "passed": 1})

    problems = validate_run_dir(_forge(genuine["down"], tmp_path, edit))
    assert "SUMMARY.json: step status-down/health: an assertion failed, but the step is 'passed'" in problems


def test_wrong_counts(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["counts"]["passed"] += 1

    problems = validate_run_dir(_forge(genuine["gate"], tmp_path, edit))
    assert len(problems) == 1 and problems[0].startswith("SUMMARY.json: counts {"), problems
    assert "do not tally the steps" in problems[0]


def test_an_edited_summary_md(genuine: dict[str, Path], tmp_path: Path) -> None:
    forged = _forge(genuine["down"], tmp_path, lambda docs: None, markdown=lambda text: text.replace("FAIL", "PASS"))
    assert validate_run_dir(forged) == [
        "SUMMARY.md: is not the rendering of SUMMARY.json (edited, or rendered from another summary)"
    ]


def test_evidence_that_contradicts_the_summary(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        exchange = docs["evidence/release-gate/health.json"]["exchanges"][-1]
        exchange["response"]["status"] = 500
        exchange["attempts"] = 3

    assert validate_run_dir(_forge(genuine["gate"], tmp_path, edit)) == [
        "evidence/release-gate/health.json: the last answer is not the response of SUMMARY.json step"
        " release-gate/health",
        "evidence/release-gate/health.json: attempts differ from SUMMARY.json step release-gate/health",
    ]


def test_evidence_of_a_request_the_step_did_not_make(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["evidence/release-gate/health.json"]["exchanges"][0]["request"]["url"] = "$AXIS_BASE_URL/api/other"

    assert validate_run_dir(_forge(genuine["gate"], tmp_path, edit)) == [
        "evidence/release-gate/health.json: holds a request that SUMMARY.json step release-gate/health did not make"
    ]


def test_an_assertion_verdict_its_values_contradict(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        _step(docs, "health")["assertions"][0]["passed"] = True  # actual "ok", expected "down"

    assert validate_run_dir(_forge(genuine["down"], tmp_path, edit)) == [
        "SUMMARY.json: step status-down/health: assertion 0 (status equals) says it held,"
        " but actual 'ok' and expected 'down' say otherwise"
    ]


def test_a_scenario_outcome_its_steps_contradict(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["scenarios"][0].update(outcome="skipped", reason_code="previous_step_failed")

    assert validate_run_dir(_forge(genuine["down"], tmp_path, edit)) == [
        "SUMMARY.json: scenario status-down is 'skipped' with 'previous_step_failed', but its steps make it"
        " 'failed' with 'assertion_failed'"
    ]


def test_an_outcome_its_reason_code_contradicts(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        _step(docs, "policies").update(reason_code="input_not_provided")

    problems = validate_run_dir(_forge(genuine["gate"], tmp_path, edit))
    assert "SUMMARY.json: step release-gate/policies: outcome 'passed' with reason code 'input_not_provided'" \
        in problems


@pytest.mark.parametrize(("codes", "expected"), [
    (["ok", "input_not_provided"], "SUMMARY.json: $.reason_codes: reason codes are not sorted"),
    (["input_not_provided", "no_such_code", "ok"],
     "SUMMARY.json: $.reason_codes[1]: 'no_such_code' is not in the reason-code catalog"),
    (["input_not_provided", "ok", "timeout"],
     "SUMMARY.json: reason code 'timeout' comes from no step and not from BLOCKER.json"),
    (["ok"], "SUMMARY.json: reason code 'input_not_provided' of a step is missing from reason_codes"),
])
def test_reason_codes_that_do_not_follow_from_the_steps(genuine: dict[str, Path], tmp_path: Path,
                                                        codes: list[str], expected: str) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["reason_codes"] = codes

    assert expected in validate_run_dir(_forge(genuine["gate"], tmp_path, edit))


def test_a_probe_that_claims_a_match(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        _step(docs, "probe")["probe"]["echo_sha256"] = "sha256:" + "0" * 64

    assert validate_run_dir(_forge(genuine["gate"], tmp_path, edit)) == [
        "SUMMARY.json: step release-gate/probe: probe matched=True, but the echo says False",
    ]


def test_a_passed_probe_that_did_not_match(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        _step(docs, "probe")["probe"].update(echo_sha256="sha256:" + "0" * 64, matched=False)

    assert validate_run_dir(_forge(genuine["gate"], tmp_path, edit)) == [
        "SUMMARY.json: step release-gate/probe: passed, but the probe's echo did not match",
    ]


def test_a_metering_delta_that_does_not_add_up(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        metering = _step(docs, "telemetry-delta")["metering"]
        metering["after"] = "99"

    problems = validate_run_dir(_forge(genuine["gate"], tmp_path, edit))
    assert len(problems) == 1 and "metering delta" in problems[0] and "is not after - before" in problems[0]


def test_a_metering_verdict_its_window_contradicts(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        metering = _step(docs, "telemetry-delta")["metering"]
        metering["expected_min"] = metering["expected_max"] = "5"

    problems = validate_run_dir(_forge(genuine["gate"], tmp_path, edit))
    assert len(problems) == 1 and "metering settled=True" in problems[0]


def test_a_manifest_and_timings_of_another_run(genuine: dict[str, Path], tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["run-manifest.json"]["scenarios"][0]["file"] = "scenarios/other.yaml"
        docs["timings.json"]["steps"].pop()

    assert validate_run_dir(_forge(genuine["gate"], tmp_path, edit)) == [
        "run-manifest.json: scenarios differ from SUMMARY.json's",
        "timings.json: steps differ from SUMMARY.json's",
    ]


@pytest.mark.parametrize(
    ("op", "actual", "expected", "possible"),
    [
        ("equals", "ok", "ok", {True}),
        ("equals", "ok", "down", {False}),
        ("equals", None, None, {True, False}),  # null, or an absent path: the record cannot tell
        ("equals", "0.1", "0.1", {True, False}),  # a decimal string, or a number written as one
        ("min", 100, "70", {True}),
        ("min", 50, "70", {False}),
        ("min", "pol-1", "70", {False}),
        ("exists", "x", True, {True}),
        ("exists", None, True, {True, False}),
        ("one_of", "b", ["a", "b"], {True}),
        ("one_of", "c", ["a", "b"], {False}),
        ("matches", "ok", "^o", {True}),
        ("matches", "token=[REDACTED]", "abc", None),  # redacted: the record hides what was matched
        ("equals", {"a": [1, "x"]}, {"a": [1, "x"]}, {True}),
    ],
)
def test_verdicts_from_recorded_values(op: str, actual: Any, expected: Any, possible: set[bool] | None) -> None:
    assert verdicts(op, actual, expected) == possible
