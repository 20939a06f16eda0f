"""Fault files: what a valid one means, and errors that name the file, line, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from velikey.testing import Fault, FaultFileError, load_faults


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "faults.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_design_example_loads(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
- match: "GET /api/usage/summary"   # METHOD PATH
  after: 0
  times: 2
  status: 503
  retry_after: "1"
  delay_s: 0.5
  action: respond
- match: "POST /ingest"
  action: corrupt
- {match: "GET /api/healthz", retry_after: 2, action: drop}
""",
    )
    assert load_faults(path) == (
        Fault("GET /api/usage/summary", after=0, times=2, status=503, retry_after="1", delay_s=0.5),
        Fault("POST /ingest", action="corrupt"),
        Fault("GET /api/healthz", retry_after="2", action="drop"),
    )


@pytest.mark.parametrize("text", ["", "# nothing\n", "[]\n"])
def test_an_empty_file_means_no_faults(tmp_path: Path, text: str) -> None:
    assert load_faults(_write(tmp_path, text)) == ()


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("match: GET /x\n", ":1:", ["expected a YAML list"]),
        ("- match: GET /x\n  action: explode\n", ":2: rule 1:", ["field 'action'", "respond, drop"]),
        ("- match: GET /x\n- match: POST /y\n  tims: 2\n", ":3: rule 2:", ["unknown field 'tims'"]),
        ("- action: drop\n", ":1: rule 1:", ["field 'match' is required"]),
        ("- match: /api/healthz\n", ":1: rule 1:", ["field 'match'", "METHOD /path"]),
        ("- match: get /api/healthz\n", ":1: rule 1:", ["field 'match'"]),
        ("- match: GET /api/alerts?limit=1\n", ":1: rule 1:", ["query string"]),
        ("- match: GET /x\n  times: 0\n", ":2: rule 1:", ["field 'times'", ">= 1"]),
        ("- match: GET /x\n  after: -1\n", ":2: rule 1:", ["field 'after'"]),
        ("- match: GET /x\n  after: yes\n", ":2: rule 1:", ["field 'after'"]),
        ("- match: GET /x\n  status: 700\n", ":2: rule 1:", ["field 'status'"]),
        ("- match: GET /x\n  delay_s: -0.5\n", ":2: rule 1:", ["field 'delay_s'"]),
        ("- match: GET /x\n  delay_s: .inf\n", ":2: rule 1:", ["field 'delay_s'"]),
        ("- match: GET /x\n  retry_after: [1]\n", ":2: rule 1:", ["field 'retry_after'"]),
        ("- match: GET /x\n  status: 500\n  status: 502\n", ":3: rule 1:", ["'status' is given twice"]),
        ("- just a string\n", ":1: rule 1:", ["expected a mapping"]),
        ("- match: [unclosed\n", ":2:", ["not valid YAML"]),
    ],
)
def test_errors_name_file_line_rule_and_field(tmp_path: Path, text: str, where: str, words: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FaultFileError) as caught:
        load_faults(path)
    message = str(caught.value)
    assert message.startswith(f"{path}{where}"), message
    for word in words:
        assert word in message, message
    assert isinstance(caught.value, ValueError)


def test_a_missing_file_is_a_fault_file_error(tmp_path: Path) -> None:
    with pytest.raises(FaultFileError, match="cannot read"):
        load_faults(tmp_path / "absent.yaml")


def test_fault_objects_validate_themselves() -> None:
    with pytest.raises(ValueError, match="field 'action'"):
        Fault("GET /x", action="explode")  # type: ignore[arg-type]
    assert Fault("GET /x", after=1, times=2).covers(1) and not Fault("GET /x", after=1, times=2).covers(3)
