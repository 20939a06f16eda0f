"""Start-up: CPU time of ``--help``, ``--version`` and ``reasons`` against ``python -c pass``.

CPU rather than wall time: start-up is all computation (imports), and CPU time is the figure
that a loaded, shared machine disturbs least.
"""

from __future__ import annotations

from bench.harness import Bench
from bench.measure import alternate
from bench.table import Row

from .format import ratio, seconds, within

TARGET = 5.0


def measure(bench: Bench) -> list[Row]:
    commands = {"--help": ("--help",), "--version": ("--version",), "reasons": ("reasons",)}
    children = [bench.velikey(*args) for args in commands.values()] + [bench.python_c("pass")]
    # Each run is ~15-80 ms, so a VM's jitter is a large share of one: 21 alternated rounds (~5 s) for stable medians.
    *runs, base = alternate(children, rounds=7 if bench.quick else 21, budget_s=30)
    return [
        Row(
            f"start-up `{name}`",
            "CPU",
            seconds(stats, cpu=True),
            f"{seconds(base, cpu=True)} (python -c pass)",
            ratio(stats.cpu, base.cpu),
            f"≤ {TARGET:g}×",
            within(stats.cpu, base.cpu, TARGET),
        )
        for name, stats in zip(commands, runs, strict=True)
    ]
