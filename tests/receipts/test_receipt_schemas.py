"""The receipt schemas: valid Draft 2020-12, consistent with each other, strict on shape."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runner._resources import schemas_dir
from runner.catalog_schemas import CODED_KINDS, schema_text
from runner.reasons import CATALOG
from runner.receipts.validate import KINDS, ReceiptSchemaError, document_problems, kind_for, validate_document

SCHEMA_FILES = [f"{kind}.schema.json" for kind in KINDS]
# $defs that several schemas carry; they must be the same everywhere they appear.
SHARED_DEFS = [
    "json",
    "digest",
    "run_id",
    "reason_code",
    "reason_codes",
    "mode",
    "result",
    "outcome",
    "decimal",
    "counts",
    "scenario_id",
    "step_id",
    "request_view",
    "response_view",
]


def _load(name: str) -> dict[str, Any]:
    return json.loads((schemas_dir() / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_schema_is_valid_draft_2020_12_with_id(name: str) -> None:
    schema = _load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://velikey.dev/schemas/velikey-e2e/{name}"


def _objects(node: Any, where: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            found.append((where, node))
        for key, child in node.items():
            found += _objects(child, f"{where}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _objects(child, f"{where}/{index}")
    return found


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_defined_object_is_closed(name: str) -> None:
    for where, node in _objects(_load(name)):
        assert "additionalProperties" in node, f"{name} {where} leaves additionalProperties open"
        if "properties" in node:
            assert node["additionalProperties"] is False, f"{name} {where}"
            assert set(node["required"]) == set(node["properties"]), f"{name} {where}: every field is required"


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_no_number_type_anywhere(name: str) -> None:
    assert '"number"' not in (schemas_dir() / name).read_text(encoding="utf-8")


def test_shared_defs_are_identical() -> None:
    for key in SHARED_DEFS:
        versions = {name: _load(name)["$defs"][key] for name in SCHEMA_FILES if key in _load(name)["$defs"]}
        assert versions, key
        first = next(iter(versions.values()))
        assert all(v == first for v in versions.values()), f"$defs/{key} differs between {sorted(versions)}"


def test_reason_codes_file_is_canonical_catalog() -> None:
    doc = _load("reason-codes.json")
    assert doc["$id"] == "https://velikey.dev/schemas/velikey-e2e/reason-codes.json"


@pytest.mark.parametrize("kind", KINDS)
def test_example_is_valid(kind: str, examples: dict[str, tuple[str, dict[str, Any]]]) -> None:
    validate_document(*examples[kind])


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value


_DELETE = object()

MUTATIONS = [
    ("summary", "schema_version", 2, "$.schema_version"),
    ("summary", "mode", "dryrun", "$.mode"),
    ("summary", "run_id", "../run", "$.run_id"),
    ("summary", "run_id", "r" * 65, "$.run_id"),
    ("summary", "counts.passed", 1.5, "$.counts.passed"),
    ("summary", "counts.extra", 0, "$.counts"),
    ("summary", "reason_codes", ["ok", "ok"], "$.reason_codes"),
    ("summary", "reason_codes", ["Bad-Code"], "$.reason_codes[0]"),
    ("summary", "scenarios.0.steps.0.outcome", "ok", "$.scenarios[0].steps[0].outcome"),
    ("summary", "scenarios.0.steps.0.kind", "http", "$.scenarios[0].steps[0].kind"),
    ("summary", "scenarios.0.steps.0.request.methd", "GET", "$.scenarios[0].steps[0].request"),
    ("summary", "scenarios.0.steps.0.request.headers.Authorization", "x", "$.scenarios[0].steps[0].request.headers"),
    (
        "summary",
        "scenarios.0.steps.0.response.body_sha256",
        "sha256:abc",
        "$.scenarios[0].steps[0].response.body_sha256",
    ),
    ("summary", "scenarios.0.steps.0.saved", {"gb": 0.5}, "$.scenarios[0].steps[0].saved.gb"),
    (
        "summary",
        "scenarios.0.steps.0.assertions.0.actual",
        [1, {"x": 2.5}],
        "$.scenarios[0].steps[0].assertions[0].actual[1].x",
    ),
    (
        "summary",
        "scenarios.0.steps.0.metering",
        {
            "path": "u",
            "before": "1.50",
            "after": None,
            "delta": None,
            "expected_min": "0",
            "expected_max": "1",
            "settled": False,
        },
        "$.scenarios[0].steps[0].metering.before",
    ),
    ("summary", "scenarios.0.steps.0.evidence", "/tmp/x.json", "$.scenarios[0].steps[0].evidence"),
    ("summary", "scenarios.0.steps.0.message", _DELETE, "$.scenarios[0].steps[0]"),
    ("summary", "readiness.missing", [], "$.readiness"),
    ("run-manifest", "options.request_timeout", "1e1", "$.options.request_timeout"),
    ("run-manifest", "inputs.base_url.secret", True, "$.inputs.base_url"),
    ("run-manifest", "scenarios.0.sha256", "md5:00", "$.scenarios[0].sha256"),
    ("result", "exit_code", 2, "$.exit_code"),
    ("result", "files./abs", "sha256:" + "0" * 64, "$.files"),
    ("blocker", "missing_inputs.0.flag", "policy-id", "$.missing_inputs[0].flag"),
    ("blocker", "rerun", _DELETE, "$"),
    ("evidence", "exchanges.0.error", {"type": "TimeoutError", "reason_code": "timeout"}, "$.exchanges[0].error"),
    ("evidence", "exchanges.0.response.status", 42, "$.exchanges[0].response.status"),
    ("timings", "started_at", "2026-01-01 00:00:00", "$.started_at"),
    ("timings", "concurrency", 0, "$.concurrency"),
]


@pytest.mark.parametrize(("kind", "path", "value", "where"), MUTATIONS)
def test_mutated_example_fails_with_its_path(
    kind: str, path: str, value: Any, where: str, examples: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    _, doc = examples[kind]
    _set(doc, path, value)
    with pytest.raises(ReceiptSchemaError) as info:
        validate_document(kind, doc)
    paths = [p for p, _ in info.value.problems]
    assert where in paths, info.value.problems


def test_semantic_checks(examples: dict[str, tuple[str, dict[str, Any]]]) -> None:
    _, summary = examples["summary"]
    summary["reason_codes"] = ["ok", "auth_missing"]
    summary["scenarios"][0]["steps"].append(summary["scenarios"][0]["steps"][0])
    problems = dict(document_problems("summary", summary))
    assert problems["$.reason_codes"] == "reason codes are not sorted"
    assert "duplicate step id" in problems["$.scenarios[0].steps[1].id"]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("summary", "reason_codes.0"),
        ("summary", "scenarios.0.reason_code"),
        ("summary", "scenarios.0.steps.0.reason_code"),
        ("summary", "scenarios.0.steps.0.assertions.0.reason_code"),
        ("result", "reason_codes.0"),
        ("blocker", "reason_codes.0"),
    ],
)
def test_the_schemas_refuse_an_unknown_reason_code(
    kind: str, path: str, examples: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    """Any JSON Schema tool refuses it, not only the runner's validator."""
    _, doc = examples[kind]
    _set(doc, path, "no_such_code")
    where = "$." + path.replace(".0", "[0]")
    assert not Draft202012Validator(_load(f"{kind}.schema.json")).is_valid(doc)
    assert dict(document_problems(kind, doc))[where] == "'no_such_code' is not in the reason-code catalog"


@pytest.mark.parametrize("kind", ["summary", "result", "blocker"])
def test_the_schemas_refuse_repeated_reason_codes(kind: str, examples: dict[str, tuple[str, dict[str, Any]]]) -> None:
    _, doc = examples[kind]
    doc["reason_codes"] = [doc["reason_codes"][0]] * 2
    assert not Draft202012Validator(_load(f"{kind}.schema.json")).is_valid(doc)
    assert "$.reason_codes" in dict(document_problems(kind, doc))


@pytest.mark.parametrize("kind", CODED_KINDS)
def test_the_reason_code_enum_is_the_catalog(kind: str) -> None:
    name = f"{kind}.schema.json"
    assert _load(name)["$defs"]["reason_code"]["enum"] == sorted(CATALOG)
    assert (schemas_dir() / name).read_text(encoding="utf-8") == schema_text(kind), (
        f"{name} is out of date with runner/reasons.py; regenerate it with `python -m runner.reasons --write`"
    )


def test_error_message_names_kind_and_path(examples: dict[str, tuple[str, dict[str, Any]]]) -> None:
    _, doc = examples["timings"]
    doc["duration_ms"] = -1
    with pytest.raises(ReceiptSchemaError, match=r"^timings: \$\.duration_ms: "):
        validate_document("timings", doc)


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown receipt kind"):
        validate_document("nope", {})


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("SUMMARY.json", "summary"),
        ("run-manifest.json", "run-manifest"),
        ("python-sdk-e2e-result.json", "result"),
        ("BLOCKER.json", "blocker"),
        ("timings.json", "timings"),
        ("evidence/release-gate/health.json", "evidence"),
        ("evidence/release-gate.json", None),
        ("evidence/a/b/c.json", None),
        ("SUMMARY.md", None),
        (".SUMMARY.json.tmp-1234", None),
    ],
)
def test_kind_for(name: str, kind: str | None) -> None:
    assert kind_for(name) == kind


@pytest.mark.parametrize(
    "metering",
    [
        {"before": "0.5", "after": "0.501", "delta": "0.001", "expected_min": "0.000999", "expected_max": "0.001001"},
        {"before": "", "after": None, "delta": None, "expected_min": "-inf", "expected_max": "inf"},
        {"before": "-2", "after": "-2", "delta": "0", "expected_min": "0", "expected_max": "inf"},
    ],
)
def test_metering_values_are_decimal_strings_or_explicit_bounds(
    metering: dict[str, Any], examples: dict[str, tuple[str, dict[str, Any]]]
) -> None:
    _, summary = examples["summary"]
    step = summary["scenarios"][0]["steps"][0]
    step.update(kind="metering", metering={"path": "usage.telemetryDataGB", "settled": True, **metering})
    validate_document("summary", summary)
