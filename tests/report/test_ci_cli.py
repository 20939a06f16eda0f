"""CI output from outside: the installed CLI against a real reference server, read back as GitLab and GitHub do.

`--junit` puts junit.xml in the run directory (a receipt, digested) and copies it where the CI wants
it; with GITHUB_ACTIONS=true failed steps and lint errors are `::error` workflow commands; with
GITHUB_STEP_SUMMARY set SUMMARY.md is appended to the job summary, within GitHub's 1 MiB.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xmlschema
from cli_helpers import RELEASE_GATE, cli
from junit_helpers import cases
from junitparser import Failure, Skipped

from runner.canonical import sha256_tag
from velikey.testing import ReferenceServer

StartServer = Callable[..., ReferenceServer]
_COMMAND = re.compile(r"^::(?P<name>\w+) (?P<props>[^:]*)::(?P<data>.*)$")
STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's documented per-step limit, stated here independently of the runner
PINNED = ("--run-id", "ci-report")  # tests pin the run id: same inputs, same receipts


def _line_of(step_id: str, scenario: Path = RELEASE_GATE) -> int:
    """The line ``- id: <step_id>`` is on in the scenario file, found by reading the file."""
    lines = scenario.read_text(encoding="utf-8").splitlines()
    return next(n for n, text in enumerate(lines, start=1) if text.strip() == f"- id: {step_id}")


def _unescape(text: str) -> str:
    """The Actions runner's decoding of workflow-command values (``%25`` last)."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def _commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    """Every workflow command in ``stdout``, parsed as the runner parses them (properties split on `,` then `=`)."""
    found = []
    for line in stdout.splitlines():
        if line.startswith("::"):
            match = _COMMAND.match(line)
            assert match, f"not a workflow command: {line!r}"
            props = dict(pair.split("=", 1) for pair in match["props"].split(","))
            found.append((match["name"], {k: _unescape(v) for k, v in props.items()}, _unescape(match["data"])))
    return found


def _failing_run(start_server: StartServer, tmp_path: Path, *extra: str | Path,
                 env: dict[str, str] | None = None) -> tuple[Path, Any]:
    """A live run of the release gate that fails at `score` (three critical alerts pull the health score down)."""
    server = start_server(critical_alerts=3)
    out = tmp_path / "run"
    done = cli("run", *PINNED, RELEASE_GATE, "--live", "--out", out, *extra, cwd=tmp_path,
               env={**server.live_env(), **(env or {})})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    return out, done


def test_junit_is_a_receipt_and_a_copy_gitlab_reads(start_server: StartServer, tmp_path: Path,
                                                   schema: xmlschema.XMLSchema) -> None:
    copy = tmp_path / "reports" / "e2e.xml"  # a folder that does not exist yet, as CI configs often name
    out, _ = _failing_run(start_server, tmp_path, "--junit", copy)
    data = (out / "junit.xml").read_bytes()
    assert copy.read_bytes() == data
    assert json.loads((out / "python-sdk-e2e-result.json").read_bytes())["files"]["junit.xml"] == sha256_tag(data)
    assert cli("validate", out, cwd=tmp_path).returncode == 0
    schema.validate(data.decode("utf-8"))

    summary = json.loads((out / "SUMMARY.json").read_bytes())
    read = cases(data)
    assert list(read) == [f"release-gate/{step['id']}" for step in summary["scenarios"][0]["steps"]]
    [failure] = read["release-gate/score"].result
    score = next(step for step in summary["scenarios"][0]["steps"] if step["id"] == "score")
    assert isinstance(failure, Failure)
    assert score["line"] == _line_of("score"), "SUMMARY.json steps carry their line"
    assert (failure.type, failure.message) == ("health_below_threshold", score["message"])
    assert "overall_score min " in failure.text and "actual 55" in failure.text
    assert (read["release-gate/score"].file, read["release-gate/score"].line) == ("scenarios/release-gate.yaml",
                                                                                  _line_of("score"))
    [skipped] = read["release-gate/plan"].result
    assert isinstance(skipped, Skipped) and skipped.type == "previous_step_failed"
    assert read["release-gate/health"].is_passed and read["release-gate/health"].line == _line_of("health")


def test_an_edited_junit_file_fails_validate(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", out, "--junit", tmp_path / "j.xml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (out / "junit.xml").write_bytes((out / "junit.xml").read_bytes().replace(b"skipped", b"passed!", 1))
    done = cli("validate", out, cwd=tmp_path)
    assert done.returncode == 1
    assert "invalid: junit.xml: sha256 does not match python-sdk-e2e-result.json" in done.stderr


def test_junit_is_deterministic_and_absent_by_default(tmp_path: Path) -> None:
    first, second, plain = tmp_path / "a", tmp_path / "b", tmp_path / "plain"
    for out in (first, second):
        assert cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", out, "--junit", out.with_suffix(".xml"),
                   cwd=tmp_path).returncode == 0
    assert (first / "junit.xml").read_bytes() == (second / "junit.xml").read_bytes()
    assert cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", plain, cwd=tmp_path).returncode == 0
    assert not (plain / "junit.xml").exists()


def test_junit_into_a_directory_or_under_a_file_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    for target in (tmp_path, tmp_path / "a-file" / "reports" / "e2e.xml"):
        done = cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", tmp_path / "run", "--junit", target,
                   cwd=tmp_path)
        assert done.returncode == 2 and "--junit" in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not (tmp_path / "run").exists()


def test_github_annotations_and_step_summary(start_server: StartServer, tmp_path: Path) -> None:
    job_summary = tmp_path / "step_summary.md"
    job_summary.write_text("# an earlier step\n", encoding="utf-8")
    out, done = _failing_run(start_server, tmp_path,
                             env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(job_summary)})
    summary = json.loads((out / "SUMMARY.json").read_bytes())
    score = next(step for step in summary["scenarios"][0]["steps"] if step["id"] == "score")
    assert _commands(done.stdout) == [
        ("error", {"file": "scenarios/release-gate.yaml", "line": str(_line_of("score")),
                   "title": "health_below_threshold"}, f"release-gate/score failed: {score['message']}"),
    ]
    assert job_summary.read_bytes() == b"# an earlier step\n" + (out / "SUMMARY.md").read_bytes()


def test_no_github_output_outside_github(start_server: StartServer, tmp_path: Path) -> None:
    _, done = _failing_run(start_server, tmp_path)
    assert _commands(done.stdout) == []


def test_a_nearly_full_job_summary_is_cut_with_a_note(tmp_path: Path) -> None:
    job_summary = tmp_path / "step_summary.md"
    room = 1000
    job_summary.write_bytes(b"x" * (STEP_SUMMARY_LIMIT - room - 1) + b"\n")
    out = tmp_path / "run"
    done = cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", out, cwd=tmp_path,
               env={"GITHUB_STEP_SUMMARY": str(job_summary)})
    assert done.returncode == 0, done.stderr
    data = job_summary.read_bytes()
    markdown = (out / "SUMMARY.md").read_bytes()
    assert len(markdown) > room, "the test needs a SUMMARY.md larger than the room left"
    assert len(data) <= STEP_SUMMARY_LIMIT
    added = data[STEP_SUMMARY_LIMIT - room:]
    kept, note = added.split(b"\n\n> **Truncated:**")
    assert markdown.startswith(kept) and kept.endswith(b"\n"), "cut on a line end, never mid-line"
    assert b"1 MiB" in note


def test_lint_errors_are_annotations_with_escaped_properties(tmp_path: Path) -> None:
    folder = tmp_path / "gates"
    folder.mkdir()
    bad = folder / "odd, name.yaml"
    bad.write_text(RELEASE_GATE.read_text(encoding="utf-8").replace("call: get_health", "call: get_hea1th"),
                   encoding="utf-8")
    done = cli("lint", folder, cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert done.returncode == 2
    [(name, props, message)] = _commands(done.stdout)
    assert name == "error"
    assert props == {"file": "gates/odd, name.yaml", "line": str(_line_of("health", bad) + 1),
                     "title": "scenario_invalid"}
    assert "get_hea1th" in message
    assert "%2C" in done.stdout, "the comma in the file name is escaped, or the runner would split on it"
    assert _commands(cli("lint", folder, cwd=tmp_path).stdout) == []
