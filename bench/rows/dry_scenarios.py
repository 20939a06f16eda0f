"""``run --dry-run`` of the shipped ``scenarios/`` against importing the two libraries it cannot avoid.

A dry run sends nothing, so its floor is the interpreter plus httpx and pydantic; everything
above that is the runner's own start-up, loading, planning and receipt writing. The floor skips
httpx's optional CLI module as the runner does (``bench/bare_loop.py`` says why).
"""

from __future__ import annotations

from bench.harness import ROOT, Bench
from bench.measure import alternate
from bench.table import Row

from .format import ratio, seconds, within

TARGET = 1.5


def measure(bench: Bench) -> list[Row]:
    dry = bench.dry(ROOT / "scenarios")
    base = bench.python_c("import sys; sys.modules['httpx._main'] = None; import httpx, pydantic")
    run, floor = alternate([dry, base], rounds=3 if bench.quick else 5, budget_s=30)
    return [
        Row(
            "dry-run `scenarios/`",
            "CPU",
            seconds(run, cpu=True),
            f"{seconds(floor, cpu=True)} (import httpx, pydantic)",
            ratio(run.cpu, floor.cpu),
            f"≤ {TARGET:g}×",
            within(run.cpu, floor.cpu, TARGET),
            note=f"wall {seconds(run)} vs {seconds(floor)}",
        )
    ]
