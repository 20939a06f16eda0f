"""SUMMARY.md: the run for a human, rendered from SUMMARY.json alone.

The Markdown is a view of the same canonical dict the JSON receipt holds, so the two can
never disagree; the layout lives in a template file (``templates/summary.md.j2``) and the
data shaping lives here. ``StrictUndefined`` turns a missing field into an error instead of
an empty cell, and the output is a pure function of the summary: no dates, no paths.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import jinja2

from runner._resources import templates_dir
from runner.reasons import CATALOG

__all__ = ["markdown_chunks", "md_cell", "md_code", "render_markdown"]

_COUNT_KEYS = ("passed", "failed", "blocked", "skipped", "planned")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")
_MAX_VALUE = 120


def md_cell(value: object) -> str:
    """Text safe inside one Markdown table cell: one line, pipes escaped."""
    text = "" if value is None else str(value)
    return _NEWLINES.sub(" ", text).replace("|", "\\|").strip()


def md_code(value: object) -> str:
    """An inline code span that survives backticks and pipes in ``value``."""
    text = md_cell(value)
    if not text:
        return ""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cell"] = md_cell
    env.filters["code"] = md_code
    return env


def _reason(code: str) -> Mapping[str, str]:
    try:
        reason = CATALOG[code]
    except KeyError:
        raise ValueError(f"reason code {code!r} is not in the catalog") from None
    return {"code": code, "category": reason.category, "meaning": reason.meaning, "remediation": reason.remediation}


def _json(value: object) -> str:
    """A recorded value as JSON in a code span, cut to one readable cell (the evidence file has it whole)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return md_code(text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…")


def _flat(value: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``a.b: value`` pairs of a nested mapping, in key order: any transport shape the manifest records."""
    pairs: list[tuple[str, Any]] = []
    for key in sorted(value):
        if isinstance(value[key], Mapping):
            pairs += _flat(value[key], f"{prefix}{key}.")
        else:
            pairs.append((prefix + key, value[key]))
    return pairs


def _has_checks(step: Mapping[str, Any]) -> bool:
    """Whether ``_checks(step)`` has a row, without making the rows."""
    made = step["outcome"] != "planned" and (step["probe"] is not None or step["metering"] is not None)
    return bool(step["assertions"]) or made


def _checks(step: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each check the step made, with what it expected and what it got: assertions, the probe, the metering."""
    rows = [{"what": md_code(a["path"]), "op": a["op"], "expected": _json(a["expected"]), "actual": _json(a["actual"]),
             "verdict": "passed" if a["passed"] else "failed"} for a in step["assertions"]]
    probe, metering = step["probe"], step["metering"]
    if probe is not None and step["outcome"] != "planned":
        rows.append({"what": "echoed body", "op": "sha256", "expected": md_code(probe["sha256"]),
                     "actual": md_code(probe["echo_sha256"] or "none"),
                     "verdict": "passed" if probe["matched"] else "failed"})
    if metering is not None and step["outcome"] != "planned":
        rows.append({"what": md_code(metering["path"]), "op": "delta in",
                     "expected": md_code(f"[{metering['expected_min']}, {metering['expected_max']}]"),
                     "actual": md_code(metering["delta"] or "none"), "verdict": step["outcome"]})
    return rows


def _replayed(step: Mapping[str, Any]) -> bool:
    """The endpoint answered from its replay store (a rerun's same key): not fresh evidence."""
    return bool(step["probe"] and step["probe"]["replayed"])


def _view(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The template's input: the summary, a step's flag and checks as it is reached, and the catalog text
    for what to fix. Nothing is built per step up front: a long run's rows are rendered one at a time."""
    todo = []
    for scenario in summary["scenarios"]:
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            if step["outcome"] in ("failed", "blocked"):
                todo.append({"scenario": scenario["id"], "step": step, "reason": _reason(step["reason_code"])})
    replays = [f"{scenario['id']}/{step['id']}" for scenario in summary["scenarios"] for step in scenario["steps"]
               if step["response"] is not None and step["response"]["replayed"]]
    codes = ", ".join(md_code(code) for code in summary["reason_codes"])
    missing = ", ".join(md_code(name) for name in summary["readiness"]["missing_inputs"])
    facts = summary["facts"]
    return {
        "summary": summary,
        "facts": facts,
        "transport": [(key, md_code(value) if isinstance(value, str) else _json(value))
                      for key, value in _flat(facts["transport"])],
        "replayed": _replayed,  # a step's row flag and its checks are made when the template reaches the step
        "checks": _checks,
        "checked": {s["id"]: any(_has_checks(step) for step in [*s["steps"], *s.get("cleanup", ())])
                    for s in summary["scenarios"]},
        "counts_text": ", ".join(f"{key} {summary['counts'][key]}" for key in _COUNT_KEYS),
        "codes_text": codes or "none",
        "missing_text": missing or "none",
        "replays_text": ", ".join(md_code(name) for name in replays),
        "todo": todo,
    }


def markdown_chunks(summary: Mapping[str, Any]) -> Iterator[bytes]:
    """SUMMARY.md for a (schema-valid) SUMMARY.json document in UTF-8 pieces, never whole in memory;
    they join to ``render_markdown``'s text, which ends with exactly one newline."""
    held = ""  # trailing newlines, held back until more text follows them or the end comes
    for piece in _environment().get_template("summary.md.j2").generate(**_view(summary)):
        text = held + piece
        body = text.rstrip("\n")
        held = text[len(body):]
        if body:
            yield body.encode("utf-8")
    yield b"\n"


def render_markdown(summary: Mapping[str, Any]) -> str:
    """SUMMARY.md for a (schema-valid) SUMMARY.json document; ends with exactly one newline."""
    return b"".join(markdown_chunks(summary)).decode("utf-8")
