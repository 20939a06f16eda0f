"""junit.xml as CI tools read it: junitparser parses it back, and it is valid under the Jenkins JUnit XSD."""

from __future__ import annotations

import copy
import json
from typing import Any

import xmlschema
from junit_helpers import XSD
from junit_helpers import cases as read_cases
from junitparser import Error, Failure, JUnitXml, Skipped
from report_summaries import EXAMPLE, NASTY

from runner.report.junit import junit_xml


def test_example_run_reads_back(schema: xmlschema.XMLSchema) -> None:
    summary = json.loads((EXAMPLE / "SUMMARY.json").read_text(encoding="utf-8"))  # both scenarios, with cleanup
    data = junit_xml(summary)
    schema.validate(data.decode("utf-8"))
    suites = {suite.name: suite for suite in JUnitXml.fromstring(data)}
    assert list(suites) == [s["id"] for s in summary["scenarios"]] == ["canary-rollout", "release-gate"]
    gate = suites["release-gate"]
    assert (gate.tests, gate.failures, gate.errors, gate.skipped) == (9, 0, 0, 1)
    cases = read_cases(data)
    assert list(cases) == [f"{sc['id']}/{s['id']}" for sc in summary["scenarios"]
                           for s in [*sc["steps"], *sc["cleanup"]]]
    assert {case.file for case in cases.values()} == {"scenarios/release-gate.yaml", "scenarios/canary-rollout.yaml"}
    [skipped] = cases["release-gate/rollback"].result
    assert isinstance(skipped, Skipped) and skipped.type == "input_not_provided"
    assert sum(case.is_passed for case in cases.values()) == 12


def test_every_outcome_maps_to_its_element(mixed_summary: dict[str, Any], schema: xmlschema.XMLSchema) -> None:
    data = junit_xml(mixed_summary)
    schema.validate(data.decode("utf-8"))
    cases = read_cases(data)
    [failure] = cases["release-gate/score"].result
    assert isinstance(failure, Failure) and failure.type == "health_below_threshold"
    # The control character is not XML; everything else survives escaping exactly.
    assert failure.message == NASTY.replace("\x07", "\ufffd")
    assert failure.text.endswith("overall_score min 70: actual 55")
    [error] = cases["release-gate/apply"].result
    assert isinstance(error, Error) and (error.type, error.message) == ("confirmation_required", "needs --confirm")
    [planned] = cases["release-gate/probe"].result
    assert isinstance(planned, Skipped) and planned.type == "dry_run_planned"
    assert cases["release-gate/undo"].line == 40, "cleanup steps are testcases too"
    assert cases["release-gate/health"].line == 10
    [suite] = list(JUnitXml.fromstring(data))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (10, 1, 1, 3)


def test_one_suite_per_scenario(mixed_summary: dict[str, Any], schema: xmlschema.XMLSchema) -> None:
    second = copy.deepcopy(mixed_summary["scenarios"][0])
    second.update(id="second", file="scenarios/second.yaml")
    mixed_summary["scenarios"].append(second)
    data = junit_xml(mixed_summary)
    schema.validate(data.decode("utf-8"))
    xml = JUnitXml.fromstring(data)
    assert [suite.name for suite in xml] == ["release-gate", "second"]
    assert read_cases(data)["second/health"].file == "scenarios/second.yaml"
    assert (xml.tests, xml.failures, xml.errors) == (20, 2, 2)


def test_the_xsd_bites(summary: dict[str, Any]) -> None:
    """Without the file/line patch the schema rejects our testcases: validation above is not vacuous."""
    unpatched = xmlschema.XMLSchema(XSD.read_text(encoding="utf-8"))
    assert not unpatched.is_valid(junit_xml(summary).decode("utf-8"))


def test_deterministic_and_clock_free(mixed_summary: dict[str, Any]) -> None:
    data = junit_xml(mixed_summary)
    assert data == junit_xml(copy.deepcopy(mixed_summary))
    for volatile in (b" time=", b"timestamp=", b"hostname="):
        assert volatile not in data
    assert data.endswith(b"</testsuites>\n") and b"\r" not in data
