"""GitHub Actions output: annotations parse back to what was meant; the job summary stays within 1 MiB."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from report_summaries import NASTY

from runner.report.github import (
    STEP_SUMMARY_LIMIT,
    annotations,
    append_step_summary,
    escape_data,
    escape_property,
    lint_annotations,
)
from runner.scenario.errors import ScenarioError

_COMMAND = re.compile(r"^::error (?P<props>[^:]*)::(?P<data>.*)$")


def _unescape(text: str) -> str:
    """The runner's decoding of a workflow command: the inverse of the escaping, `%25` last."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def _parse(line: str) -> tuple[dict[str, str], str]:
    """Split a command as the Actions runner does: properties on `,` then `=`, data after the first `::`."""
    match = _COMMAND.match(line)
    assert match, line
    props = dict(pair.split("=", 1) for pair in match["props"].split(","))
    return {k: _unescape(v) for k, v in props.items()}, _unescape(match["data"])


def test_escaping_follows_the_workflow_command_format() -> None:
    assert escape_data("100% done\r\nok: a,b") == "100%25 done%0D%0Aok: a,b"
    assert escape_property("100% done\r\nok: a,b") == "100%25 done%0D%0Aok%3A a%2Cb"
    assert escape_data("%0A") == "%250A", "an encoded-looking message stays literal"


def test_failed_and_blocked_steps_are_annotated(mixed_summary: dict[str, Any]) -> None:
    lines = annotations(mixed_summary)
    assert all("\n" not in line and "\r" not in line for line in lines)
    parsed = [_parse(line) for line in lines]
    assert [props["title"] for props, _ in parsed] == ["health_below_threshold", "confirmation_required"]
    (score, score_message), (apply, _) = parsed
    assert score == {"file": "scenarios/release-gate.yaml", "line": "13", "title": "health_below_threshold"}
    assert score_message == f"release-gate/score failed: {NASTY}"
    assert apply["line"] == "15"


def test_properties_with_separators_survive(mixed_summary: dict[str, Any]) -> None:
    scenario = mixed_summary["scenarios"][0]
    scenario["file"] = "scenarios/odd, name:1.yaml"
    del scenario["steps"][3]["line"]
    [props, _] = _parse(annotations(mixed_summary)[0])
    assert props == {"file": "scenarios/odd, name:1.yaml", "title": "health_below_threshold"}, "no line when unknown"


def test_a_passing_run_has_no_annotations(summary: dict[str, Any]) -> None:
    assert annotations(summary) == []


def test_lint_errors_are_annotated() -> None:
    errors = [ScenarioError("scenarios/a.yaml", 7, "steps[0].call", "unknown operation 'nope'"),
              ScenarioError("scenarios/b.yaml", None, "file", "not readable")]
    parsed = [_parse(line) for line in lint_annotations(errors)]
    assert parsed == [
        ({"file": "scenarios/a.yaml", "line": "7", "title": "scenario_invalid"},
         "steps[0].call: unknown operation 'nope'"),
        ({"file": "scenarios/b.yaml", "title": "scenario_invalid"}, "file: not readable"),
    ]


def test_step_summary_appends(tmp_path: Path) -> None:
    target = tmp_path / "step_summary.md"
    target.write_text("# earlier\n", encoding="utf-8")
    append_step_summary(target, "## velikey-e2e\nok\n")
    assert target.read_text(encoding="utf-8") == "# earlier\n## velikey-e2e\nok\n"


def test_step_summary_is_cut_to_the_limit_with_a_note(tmp_path: Path) -> None:
    target = tmp_path / "step_summary.md"
    target.write_bytes(b"x" * 1000 + b"\n")
    row = "| step | é passed |\n"
    append_step_summary(target, row * (STEP_SUMMARY_LIMIT // len(row)))
    data = target.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT
    text = data.decode("utf-8")
    assert "Truncated" in text and text.endswith("\n")
    kept = text.split("\n\n> **Truncated")[0]
    assert kept.startswith("x" * 1000 + "\n| step") and kept.endswith(" |\n"), "cut on a line boundary"


def test_a_full_step_summary_gets_nothing_more(tmp_path: Path) -> None:
    target = tmp_path / "step_summary.md"
    target.write_bytes(b"x" * (STEP_SUMMARY_LIMIT - 10))
    append_step_summary(target, "more text than fits\n" * 5)
    assert target.stat().st_size == STEP_SUMMARY_LIMIT - 10
