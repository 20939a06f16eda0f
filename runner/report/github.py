"""GitHub Actions output: workflow-command annotations and the job summary.

A failed or blocked step, and a lint error, become ``::error file=…,line=…,title=<reason_code>::…``
so the pull request shows it on the scenario line. Workflow commands are one line each and parse
``:`` and ``,`` in properties, so values are escaped exactly as the runner toolkit does
(``@actions/core`` ``escapeData`` / ``escapeProperty``). The job summary file refuses more than
1 MiB per step, so an oversized SUMMARY.md is cut on a line boundary with a note instead of being
lost whole.
"""

# No `from __future__ import annotations`: it would shadow this module's public `annotations()`.
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from runner.scenario.errors import ScenarioError

__all__ = ["STEP_SUMMARY_LIMIT", "annotations", "append_step_summary", "escape_data", "escape_property",
           "lint_annotations"]

STEP_SUMMARY_LIMIT = 1024 * 1024
_ANNOTATED = ("failed", "blocked")
_LINT_TITLE = "scenario_invalid"
_TRUNCATED = (
    "\n\n> **Truncated:** SUMMARY.md does not fit GitHub's 1 MiB job-summary limit;"
    " the full text is in the run directory.\n"
)


def escape_data(text: str) -> str:
    """A message as a workflow command carries it: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (``file``, ``title``…): as data, and ``:`` and ``,`` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _error(message: str, *, file: str, line: int | None, title: str) -> str:
    props = [f"file={escape_property(file)}"]
    if line is not None:
        props.append(f"line={line}")
    props.append(f"title={escape_property(title)}")
    return f"::error {','.join(props)}::{escape_data(message)}"


def annotations(summary: Mapping[str, Any]) -> list[str]:
    """One ``::error`` line per failed or blocked step of a SUMMARY.json document, in receipt order."""
    lines = []
    for scenario in summary["scenarios"]:
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            if step["outcome"] in _ANNOTATED:
                message = f"{scenario['id']}/{step['id']} {step['outcome']}: {step['message']}"
                lines.append(_error(message, file=scenario["file"], line=step.get("line"), title=step["reason_code"]))
    return lines


def lint_annotations(errors: Iterable[ScenarioError]) -> list[str]:
    """One ``::error`` line per scenario lint error, titled with the reason code a run would give."""
    return [_error(f"{e.field}: {e.message}", file=e.file, line=e.line, title=_LINT_TITLE) for e in errors]


def append_step_summary(path: Path, markdown: str) -> None:
    """Append ``markdown`` to the ``GITHUB_STEP_SUMMARY`` file, keeping the file within 1 MiB.

    The file is the step's own, so what is already in it counts against the limit too.
    """
    room = STEP_SUMMARY_LIMIT - (path.stat().st_size if path.exists() else 0)
    data = markdown.encode("utf-8")
    if len(data) > room:
        note = _TRUNCATED.encode("utf-8")
        cut = data[: max(room - len(note), 0)]
        # Cut on a line end so no Markdown construct or UTF-8 sequence is left half-written.
        data = cut[: cut.rfind(b"\n") + 1] + note if len(note) <= room else b""
    with open(path, "ab") as file:
        file.write(data)
