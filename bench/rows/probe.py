"""A 1 GiB generated probe: the runner against a bare streamed upload of the same bytes, and its memory.

Memory is the runner's peak RSS with the 1 GiB probe minus its peak RSS with a 1 MiB probe:
what streaming costs, net of everything else the run loads.
"""

from __future__ import annotations

from pathlib import Path

from bench.harness import Bench
from bench.measure import alternate
from bench.table import Row

from .format import ratio, seconds, within

TARGET = 1.05
GROWTH_MIB = 8


def _probe_scenario(folder: Path, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "probe.yaml").write_text(
        f"id: probe-{size}\ntitle: one {size}-byte probe\nneeds: [payload_url]\nsteps:\n"
        f"  - id: probe\n    probe: {{payload: {{size: {size}, seed: 7}}}}\n",
        encoding="utf-8",
    )
    return folder


def measure(bench: Bench) -> list[Row]:
    mib = 64 if bench.quick else 1024
    rounds = 2 if bench.quick else 3
    big = _probe_scenario(bench.folder("probe-big") / "scenarios", mib * 1024 * 1024)
    small = _probe_scenario(bench.folder("probe-small") / "scenarios", 1024 * 1024)
    bare = bench.record(big, rounds)
    run, base, one = alternate([bench.live(big), bare, bench.live(small)], rounds=rounds, budget_s=60, warmup=False)
    growth = run.rss_mib - one.rss_mib
    label = f"{mib // 1024} GiB probe" if mib >= 1024 else f"{mib} MiB probe"
    return [
        Row(
            label,
            "wall",
            seconds(run),
            seconds(base) + " (bare upload)",
            ratio(run.wall, base.wall),
            f"≤ {TARGET:g}×",
            within(run.wall, base.wall, TARGET),
            note=f"start-up included: runner {mib / run.wall:.0f} MiB/s, bare {mib / base.wall:.0f} MiB/s",
        ),
        Row(
            label,
            "RSS growth",
            f"{growth:+.1f} MiB",
            f"{one.rss_mib:.0f} MiB (1 MiB probe)",
            "-",
            f"< {GROWTH_MIB} MiB",
            growth < GROWTH_MIB,
            note=f"bare upload peak RSS {base.rss_mib:.0f} MiB",
        ),
    ]
