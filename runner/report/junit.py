"""SUMMARY.json → JUnit XML, the one test-report format GitLab, Jenkins and GitHub actions all read.

One ``<testsuite>`` per scenario and one ``<testcase>`` per step (cleanup steps included), with the
scenario file and the step's line so CI links each result to its source. ``failed`` is a
``<failure>``, ``blocked`` an ``<error>`` (the gate could not decide: manual action is needed), and
``skipped`` and ``planned`` are ``<skipped>``; each carries the reason code as ``type`` and the
message. Nothing time-dependent is written (no ``time``, ``timestamp`` or ``hostname``), so the
bytes are a function of the summary alone, like every receipt.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.receipts.outdir import ReceiptWriteError
from runner.receipts.write import atomic_write_bytes

__all__ = ["JUNIT_FILE", "copy_junit", "junit_xml"]

JUNIT_FILE = "junit.xml"

# Characters XML 1.0 cannot carry at all, even escaped; a server's message may hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ELEMENT = {"failed": "failure", "blocked": "error", "skipped": "skipped", "planned": "skipped"}


def _text(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _steps(scenario: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """The scenario's steps, then its cleanup steps when the summary lists them apart."""
    yield from scenario["steps"]
    yield from scenario.get("cleanup", ())


def _detail(step: Mapping[str, Any]) -> str:
    """The body of a non-passing result: the reason, then each failed assertion on its own line."""
    lines = [f"{step['reason_code']}: {step['message']}"]
    for a in step.get("assertions", ()):
        if not a["passed"]:
            expected, actual = (json.dumps(a[k], ensure_ascii=False, sort_keys=True) for k in ("expected", "actual"))
            lines.append(f"{a['path']} {a['op']} {expected}: actual {actual}")
    return "\n".join(lines)


def _testcase(scenario: Mapping[str, Any], step: Mapping[str, Any]) -> ET.Element:
    case = ET.Element("testcase", {"name": _text(step["id"]), "classname": _text(scenario["id"]),
                                   "file": _text(scenario["file"])})
    if step.get("line") is not None:
        case.set("line", str(step["line"]))
    element = _ELEMENT.get(step["outcome"])
    if element is not None:
        result = ET.SubElement(case, element, {"type": _text(step["reason_code"]), "message": _text(step["message"])})
        # XML parsers turn a raw CR in text into LF anyway; doing it here keeps the file LF-only.
        result.text = _text(_detail(step).replace("\r\n", "\n").replace("\r", "\n"))
    return case


def _testsuite(scenario: Mapping[str, Any]) -> tuple[ET.Element, dict[str, int]]:
    steps = list(_steps(scenario))
    tally = {
        "tests": len(steps),
        "failures": sum(1 for s in steps if s["outcome"] == "failed"),
        "errors": sum(1 for s in steps if s["outcome"] == "blocked"),
        "skipped": sum(1 for s in steps if s["outcome"] in ("skipped", "planned")),
    }
    suite = ET.Element("testsuite", {"name": _text(scenario["id"]), **{k: str(v) for k, v in tally.items()},
                                     "file": _text(scenario["file"])})
    suite.extend(_testcase(scenario, step) for step in steps)
    return suite, tally


def junit_xml(summary: Mapping[str, Any]) -> bytes:
    """The JUnit XML bytes (UTF-8, LF, trailing newline) of a SUMMARY.json document."""
    suites = [_testsuite(scenario) for scenario in summary["scenarios"]]
    totals = {key: str(sum(tally[key] for _, tally in suites)) for key in ("tests", "failures", "errors")}
    root = ET.Element("testsuites", {"name": f"velikey-e2e {summary['run_id']}", **totals})
    root.extend(suite for suite, _ in suites)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return document + b"\n"


def copy_junit(data: bytes, path: Path) -> None:
    """Put the run directory's junit.xml where ``--junit`` asked, atomically; an OS failure names the path."""
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ReceiptWriteError(f"cannot copy {JUNIT_FILE} to {path}: {exc.strerror or exc}") from exc
