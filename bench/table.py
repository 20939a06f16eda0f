"""The final table: one line per measured row, its baseline, the ratio and whether the issue's target holds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Row", "render"]


@dataclass(frozen=True)
class Row:
    """One line of the table. ``ok`` is None for lines that inform without a target (or could not be measured)."""

    name: str
    measure: str
    value: str
    baseline: str
    ratio: str
    target: str
    ok: bool | None
    note: str = ""


def render(rows: Sequence[Row], header: str) -> str:
    """A plain-text table (it reads the same in a terminal, a CI log and BENCHMARKS.md)."""
    titles = ("row", "measure", "runner", "baseline", "ratio", "target", "ok")
    cells = [(r.name, r.measure, r.value, r.baseline, r.ratio, r.target, _mark(r.ok)) for r in rows]
    widths = [max(len(t), *(len(c[i]) for c in cells)) if cells else len(t) for i, t in enumerate(titles)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [header, "", line.format(*titles), line.format(*("-" * w for w in widths))]
    out += [line.format(*c).rstrip() for c in cells]
    notes = [f"  {r.name}: {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("✓" if ok else "✗")
