"""schemas/scenario.schema.json describes the same format as the pydantic model and loader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner.scenario.load import load_source
from runner.scenario.model import INPUT_NAMES
from runner.scenario.strict_yaml import compose_lines
from velikey.operations import operation_names

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "scenario.schema.json").read_text(encoding="utf-8"))
VALIDATOR = Draft202012Validator(SCHEMA)


def test_schema_is_draft_2020_12_with_its_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == "https://velikey.dev/schemas/velikey-e2e/scenario.schema.json"


def test_schema_lists_the_sdk_operations_and_inputs() -> None:
    assert set(SCHEMA["$defs"]["callStep"]["properties"]["call"]["enum"]) == operation_names()
    assert tuple(SCHEMA["$defs"]["inputName"]["enum"]) == INPUT_NAMES


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.y*ml")), ids=lambda p: p.name)
def test_shipped_scenarios_match_the_schema(path: Path) -> None:
    data, _ = compose_lines(path.read_text(encoding="utf-8"))
    VALIDATOR.validate(data)
    scenario, errors = load_source(path.read_bytes(), path.name)
    assert errors == () and scenario is not None


HEAD = "id: x\ntitle: T\nneeds: [policy_id, payload_url]\nsteps:\n  - {id: usage, call: billing.get_usage}\n"


UNTIL = "call: rollouts.get_events, with: {plan_id: p}, expect: [{path: phase, equals: stable}]"


def doc(*steps: str, head: str = HEAD) -> str:
    return head + "".join(f"  - {step}\n" for step in steps)


VALID = [
    doc(),
    doc("{id: h, call: get_health, expect: [{path: status, equals: ok}, {path: a.0|b, exists: false}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, min: 1.5}, {path: s, max: '2e3', reason: timeout}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, one_of: [a, 1, null]}, {path: s, matches: '^o'}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, equals: null}, {path: s, equals: {a: [1]}}]}"),
    doc("{id: p, call: rollouts.plan, with: {policy_id: '${inputs.policy_id}'}, save: {plan_id: data.planId}}"),
    doc("{id: p, probe: {payload: {size: 0, seed: -1}}}", "{id: m, metering: {before: usage, path: a.b, expect: 0}}"),
    doc("{id: p, probe: {text: hello}}", "{id: m, metering: {before: usage, path: a, expect: {min: 0}}}"),
    doc(
        "{id: p, probe: {file: data/blob.bin}}",
        "{id: m, metering: {before: usage, path: a, expect: from_probes, tolerance: '1e-9', settle_s: 0}}",
    ),
    doc("{id: m, metering: {before: usage, path: a, expect: '-1.5', tolerance: 0.5, settle_s: 2.5}}"),
    doc(
        "{id: r, needs: [rollback_token], call: rollouts.rollback, with: {rollback_token: '${inputs.rollback_token}'}}"
    ),
    doc(head="id: no-needs\ntitle: T\nsteps:\n  - {id: h, call: get_health}\n"),
    doc("{id: e, " + UNTIL + ", until: {every_s: 1, within_s: 10}}"),
    doc("{id: e, " + UNTIL + ", until: {every_s: '0.5', within_s: 0.5}}"),
    doc() + "cleanup:\n  - {id: c, call: get_health, expect: [{path: status, equals: ok}]}\n",
    doc() + "cleanup: []\n",
]

INVALID = [
    doc(head="id: x\ntitle: T\nsteps: []\n"),
    doc(head="id: X\ntitle: T\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head="id: x\ntitle: ''\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head="id: x\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head="id: x\ntitle: T\nextra: 1\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head="id: x\ntitle: T\nneeds: [policy_id, policy_id]\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head="id: x\ntitle: T\nneeds: [policy]\nsteps:\n  - {id: h, call: get_health}\n"),
    doc(head=f"id: {'a' * 65}\ntitle: T\nsteps:\n  - {{id: h, call: get_health}}\n"),
    doc("{id: h}"),
    doc("{id: h, call: get_health, probe: {text: a}}"),
    doc("{id: h, call: nope}"),
    doc("{id: h, call: get_health, colour: red}"),
    doc("{id: Bad, call: get_health}"),
    doc("{id: h, call: get_health, save: {1a: x}}"),
    doc("{id: h, call: get_health, save: {a: 'x..y'}}"),
    doc("{id: h, call: get_health, expect: [{path: s}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, min: 1, max: 2}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, min: abc}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, min: true}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, min: null}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, exists: 'yes'}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, one_of: []}]}"),
    doc("{id: h, call: get_health, expect: [{path: s, equals: 1, reason: Bad}]}"),
    doc("{id: h, call: get_health, expect: [{equals: 1}]}"),
    doc("{id: p, probe: {}}"),
    doc("{id: p, probe: {text: a, file: b}}"),
    doc("{id: p, probe: {payload: {size: -1, seed: 1}}}"),
    doc("{id: p, probe: {payload: {size: 1}}}"),
    doc("{id: p, probe: {payload: {size: 1.5, seed: 1}}}"),
    doc("{id: p, probe: {file: /etc/passwd}}"),
    doc("{id: p, probe: {file: a/../../b}}"),
    doc("{id: p, probe: {file: 'C:\\\\x'}}"),
    doc("{id: m, metering: {before: usage, path: a}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: from_probe}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: {}}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: {min: 1, mid: 2}}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: 1, tolerance: '-1'}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: 1, settle_s: -1}}"),
    doc("{id: m, metering: {before: usage, path: a, expect: 1, settle_s: true}}"),
    doc("{id: e, " + UNTIL + ", until: {every_s: 1}}"),
    doc("{id: e, " + UNTIL + ", until: {every_s: 1, within_s: 2, colour: red}}"),
    doc("{id: e, " + UNTIL + ", until: {every_s: '-1', within_s: 2}}"),
    doc("{id: e, " + UNTIL + ", until: {every_s: abc, within_s: 2}}"),
    doc("{id: e, " + UNTIL + ", until: 5}"),
    doc() + "cleanup:\n  - {id: c, probe: {text: a}}\n",
    doc() + "cleanup:\n  - {id: c}\n",
    doc() + "cleanup: {id: c, call: get_health}\n",
]


def schema_accepts(text: str) -> bool:
    data, _ = compose_lines(text)
    return VALIDATOR.is_valid(data)


def loader_accepts(text: str) -> bool:
    scenario, errors = load_source(text.encode(), "s.yaml")
    return scenario is not None and not errors


@pytest.mark.parametrize("text", VALID)
def test_both_accept(text: str) -> None:
    assert loader_accepts(text), load_source(text.encode(), "s.yaml")[1]
    assert schema_accepts(text), [e.message for e in VALIDATOR.iter_errors(compose_lines(text)[0])]


@pytest.mark.parametrize("text", INVALID)
def test_both_reject(text: str) -> None:
    assert not loader_accepts(text)
    assert not schema_accepts(text)


def test_cross_references_are_the_linters_job_not_the_schemas() -> None:
    # The schema cannot see step order or SDK signatures; lint does. Documented in its description.
    text = doc("{id: a, call: rollouts.apply, with: {plan_id: '${steps.later.x}', colour: red}}")
    assert schema_accepts(text)
    assert not loader_accepts(text)
    assert "lint" in SCHEMA["description"]


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def test_schema_defaults_match_the_model() -> None:
    metering = SCHEMA["$defs"]["metering"]["properties"]
    scenario, _ = load_source(doc("{id: m, metering: {before: usage, path: a, expect: 1}}").encode(), "s.yaml")
    assert scenario is not None
    step = scenario.steps[1]
    assert _as_json(step.metering.tolerance) == metering["tolerance"]["default"]  # type: ignore[union-attr]
    assert int(step.metering.settle_s) == metering["settle_s"]["default"]  # type: ignore[union-attr]
    assert SCHEMA["$defs"]["expectation"]["properties"]["reason"]["default"] == "assertion_failed"
