"""500 authenticated GETs with one JSON assertion each: the runner against a bare httpx loop.

The bare loop sends the very requests the runner sent (read back from a recorded run's
evidence: same order, headers and bodies) and checks the same assertion on each answer.
"""

from __future__ import annotations

from bench.harness import Bench
from bench.measure import alternate
from bench.scenarios import get_steps
from bench.table import Row

from .format import ratio, seconds, within

TARGET = 1.5


def measure(bench: Bench) -> list[Row]:
    count = 100 if bench.quick else 500
    rounds = 3 if bench.quick else 5
    folder = get_steps(bench.folder("gets") / "scenarios", count)
    bare = bench.record(folder, rounds)
    run, base = alternate([bench.live(folder), bare], rounds=rounds, budget_s=60, warmup=False)
    per_step = f"{run.cpu / count * 1000:.2f} ms vs {base.cpu / count * 1000:.2f} ms"
    return [
        Row(
            f"{count} GETs + assertion",
            "wall",
            seconds(run),
            seconds(base) + " (bare httpx)",
            ratio(run.wall, base.wall),
            f"≤ {TARGET:g}×",
            within(run.wall, base.wall, TARGET),
        ),
        Row(
            f"{count} GETs + assertion",
            "CPU/step",
            f"{run.cpu / count * 1000:.2f} ms",
            f"{base.cpu / count * 1000:.2f} ms",
            ratio(run.cpu, base.cpu),
            "-",
            None,
            note=f"CPU per step {per_step}; peak RSS {run.rss_mib:.0f} vs {base.rss_mib:.0f} MiB",
        ),
    ]
