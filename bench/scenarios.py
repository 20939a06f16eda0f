"""Scenario generators: N-step scenarios and copies of the release gate, written to a temp folder.

Steps are written in YAML flow style, one line each, so 10,000 of them stay under the loader's
1 MiB file limit (about 75 bytes a step).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["gate_copies", "get_steps"]

# One authenticated GET with one JSON assertion: the unit the "500 GETs" row counts.
_GET_STEP = "  - {{id: g{n}, call: billing.get_usage, expect: [{{path: usage.agents, min: 1}}]}}\n"


def get_steps(folder: Path, count: int) -> Path:
    """A folder holding one scenario of ``count`` authenticated GETs, each with one assertion."""
    folder.mkdir(parents=True, exist_ok=True)
    text = f"id: gets-{count}\ntitle: {count} authenticated GETs\nneeds: [session]\nsteps:\n"
    text += "".join(_GET_STEP.format(n=n) for n in range(count))
    (folder / f"gets-{count}.yaml").write_text(text, encoding="utf-8")
    return folder


def gate_copies(folder: Path, gate: Path, count: int) -> Path:
    """A folder holding ``count`` copies of the release gate under distinct scenario ids."""
    folder.mkdir(parents=True, exist_ok=True)
    text = gate.read_text(encoding="utf-8")
    for n in range(count):
        copy = text.replace("id: release-gate", f"id: gate-{n:03d}", 1)
        (folder / f"gate-{n:03d}.yaml").write_text(copy, encoding="utf-8")
    return folder
