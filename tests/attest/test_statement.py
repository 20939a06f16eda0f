"""attestation.json: an in-toto Statement v1 that in-toto-attestation's parser accepts; deterministic."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from attest_helpers import EXAMPLE, keypair, read_files
from google.protobuf import json_format
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.statement_pb2 import Statement as StatementProto
from jsonschema import Draft202012Validator

from runner.attest.statement import PREDICATE_TYPE, attestation_files, file_digests, schema_problems, statement
from runner.canonical import jcs

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "attestation.schema.json"


def _example() -> tuple[dict[str, bytes], dict[str, Any], list[dict[str, str]]]:
    files = read_files(EXAMPLE)
    return files, json.loads(files["SUMMARY.json"]), json.loads(files["run-manifest.json"])["scenarios"]


def test_subject_is_every_receipt_but_timings_and_covers_the_result() -> None:
    files, summary, scenarios = _example()
    extra = {"attestation.json": b"{}", "attestation.dsse.json": b"{}"}
    doc = statement(file_digests({**files, **extra}), summary, scenarios)
    result = json.loads(files["python-sdk-e2e-result.json"])
    names = [entry["name"] for entry in doc["subject"]]
    assert names == sorted([*result["files"], "python-sdk-e2e-result.json"])
    for entry in doc["subject"]:
        assert entry["digest"] == {"sha256": hashlib.sha256(files[entry["name"]]).hexdigest()}
        if entry["name"] in result["files"]:
            assert result["files"][entry["name"]] == "sha256:" + entry["digest"]["sha256"]


def test_predicate_restates_the_verdict_and_the_scenarios() -> None:
    files, summary, scenarios = _example()
    predicate = statement(file_digests(files), summary, scenarios)["predicate"]
    assert predicate["result"] == "pass"
    assert predicate["passedTests"] == [f"{sc['id']}/{s['id']}" for sc in summary["scenarios"]
                                        for s in [*sc["steps"], *sc["cleanup"]] if s["outcome"] == "passed"]
    assert len(predicate["passedTests"]) == 12 and predicate["failedTests"] == predicate["warnedTests"] == []
    assert predicate["configuration"] == [
        {"name": s["file"], "digest": {"sha256": s["sha256"].removeprefix("sha256:")}} for s in scenarios
    ]


def test_failed_and_blocked_steps_are_listed() -> None:
    files, summary, scenarios = _example()
    summary = copy.deepcopy(summary)
    steps = next(sc for sc in summary["scenarios"] if sc["id"] == "release-gate")["steps"]
    steps[3]["outcome"], steps[5]["outcome"], summary["result"] = "failed", "blocked", "fail"
    predicate = statement(file_digests(files), summary, scenarios)["predicate"]
    assert predicate["result"] == "fail"
    assert predicate["failedTests"] == ["release-gate/score"]
    assert predicate["warnedTests"] == ["release-gate/apply"]
    assert predicate["result"] == "fail" and "release-gate/score" not in predicate["passedTests"]


def test_in_toto_attestation_parses_it() -> None:
    files, summary, scenarios = _example()
    doc = statement(file_digests(files), summary, scenarios)
    proto = json_format.Parse(jcs(doc), StatementProto())
    parsed = Statement.copy_from_pb(proto)
    parsed.validate()
    assert parsed.pb.predicate_type == PREDICATE_TYPE
    assert [s.name for s in parsed.pb.subject] == [s["name"] for s in doc["subject"]]
    # The predicate is a TestResult exactly: no field the proto does not know (strict parse), none lost.
    result = json_format.ParseDict(doc["predicate"], test_result_pb2.TestResult())
    assert json_format.MessageToDict(result) == {k: v for k, v in doc["predicate"].items() if v}


def test_schema_is_draft_2020_12_with_an_id_and_holds() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("/velikey-e2e/attestation.schema.json")
    files, summary, scenarios = _example()
    doc = statement(file_digests(files), summary, scenarios)
    assert schema_problems("attestation.json", doc) == []
    doc["predicate"]["result"] = "manual-required"
    assert schema_problems("attestation.json", doc) == ["$.predicate.result: 'manual-required' is not one of "
                                                        "['pass', 'fail']"]


@pytest.mark.parametrize("signed", [False, True])
def test_deterministic(signed: bool) -> None:
    files, summary, scenarios = _example()
    private_pem = keypair()[0] if signed else None
    first = attestation_files(file_digests(files), summary, scenarios, private_pem)
    backwards = file_digests(dict(reversed(list(files.items()))))
    assert first == attestation_files(backwards, copy.deepcopy(summary), scenarios, private_pem)
    assert sorted(first) == (["attestation.dsse.json", "attestation.json"] if signed else ["attestation.json"])
    assert first["attestation.json"].endswith(b"}\n") and b'\n  "_type"' in first["attestation.json"]


@pytest.mark.parametrize(("verdict", "expected"),
                         [("pass", "pass"), ("fail", "fail"), ("manual-required", "fail"), ("planned", "fail")])
def test_result_is_the_specs_pass_only_when_everything_passed(verdict: str, expected: str) -> None:
    """The test-result predicate knows `pass` and `fail`, and `pass` means all tests passed: a policy
    reading only the predicate must never take a blocked run or a dry-run for a pass."""
    files, summary, scenarios = _example()
    summary = {**summary, "result": verdict}
    doc = statement(file_digests(files), summary, scenarios)
    assert doc["predicate"]["result"] == expected
    assert schema_problems("attestation.json", doc) == []
