"""50 release gates in a row (``--concurrency 1``) against a bare loop of the same requests.

Also shows what ``--concurrency 8`` gains on the same gates (no target: metered sections take
turns, so this is how much of the gate overlaps).
"""

from __future__ import annotations

from bench.harness import ROOT, Bench
from bench.measure import alternate
from bench.scenarios import gate_copies
from bench.table import Row

from .format import ratio, seconds, within

TARGET = 1.3


def measure(bench: Bench) -> list[Row]:
    count = 10 if bench.quick else 50
    rounds = 3 if bench.quick else 5
    folder = gate_copies(bench.folder("gates") / "scenarios", ROOT / "scenarios" / "release-gate.yaml", count)
    bare = bench.record(folder, rounds)
    serial = bench.live(folder)
    run, base = alternate([serial, bare], rounds=rounds, budget_s=90, warmup=False)
    rows = [
        Row(
            f"{count} release gates",
            "wall",
            seconds(run),
            seconds(base) + " (bare httpx)",
            ratio(run.wall, base.wall),
            f"≤ {TARGET:g}×",
            within(run.wall, base.wall, TARGET),
        )
    ]
    if not bench.quick:
        one, eight = alternate([serial, bench.live(folder, "--concurrency", "8")], rounds=2, budget_s=30, warmup=False)
        rows.append(
            Row(
                f"{count} release gates",
                "wall c8",
                seconds(eight),
                seconds(one) + " (c1)",
                ratio(eight.wall, one.wall),
                "-",
                None,
            )
        )
    return rows
