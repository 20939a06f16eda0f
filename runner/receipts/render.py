"""SUMMARY.md: the run for a human, rendered from SUMMARY.json alone.

The Markdown is a view of the same canonical dict the JSON receipt holds, so the two can
never disagree; the layout lives in a template file (``templates/summary.md.j2``) and the
data shaping lives here. ``StrictUndefined`` turns a missing field into an error instead of
an empty cell, and the output is a pure function of the summary: no dates, no paths.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import jinja2

from runner._resources import templates_dir
from runner.reasons import CATALOG

__all__ = ["md_cell", "md_code", "render_markdown"]

_COUNT_KEYS = ("passed", "failed", "blocked", "skipped", "planned")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


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


def _view(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The template's input: the summary plus the catalog text for every failed or blocked step."""
    todo = []
    for scenario in summary["scenarios"]:
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            if step["outcome"] in ("failed", "blocked"):
                todo.append({"scenario": scenario["id"], "step": step, "reason": _reason(step["reason_code"])})
    replays = [f"{scenario['id']}/{step['id']}" for scenario in summary["scenarios"] for step in scenario["steps"]
               if step["response"] is not None and step["response"]["replayed"]]
    codes = ", ".join(md_code(code) for code in summary["reason_codes"])
    missing = ", ".join(md_code(name) for name in summary["readiness"]["missing_inputs"])
    return {
        "summary": summary,
        "counts_text": ", ".join(f"{key} {summary['counts'][key]}" for key in _COUNT_KEYS),
        "codes_text": codes or "none",
        "missing_text": missing or "none",
        "replays_text": ", ".join(md_code(name) for name in replays),
        "todo": todo,
    }


def render_markdown(summary: Mapping[str, Any]) -> str:
    """SUMMARY.md for a (schema-valid) SUMMARY.json document; ends with exactly one newline."""
    text = _environment().get_template("summary.md.j2").render(**_view(summary))
    return text.rstrip("\n") + "\n"
