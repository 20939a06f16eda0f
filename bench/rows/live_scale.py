"""Live run of one N-step scenario (GETs) at 100, 1,000 and 10,000 steps: time, peak RSS, linearity.

The issue's target for the largest run is a time (15 s), not a ratio, so the row also shows the bare
httpx loop sending that run's very requests: what the client and this reference server cost at that
size on this machine, the floor under any runner's time.
"""

from __future__ import annotations

from dataclasses import replace

from bench.harness import Bench
from bench.measure import alternate
from bench.table import Row

from .format import ratio, seconds
from .scale import scale_folder, scale_rows, scaling

PER_STEP_S = 15.0 / 10_000  # the "≤ 15 s at 10,000 steps"
LINEAR = 1.5
PEAK_MIB = 120


def measure(bench: Bench) -> list[Row]:
    sizes = (100, 1000) if bench.quick else (100, 1000, 10_000)
    scale = scaling(bench, "live", sizes, lambda folder, t: bench.live(folder, timeout_s=t), timeout_s=120)
    largest = max(scale.stats)
    peak = scale.stats[largest].rss_mib
    rows = scale_rows("live", scale, sizes, 10_000, PER_STEP_S, LINEAR)
    if largest in sizes and not scale.stats[largest].timed_out:
        # One recording run, the bare loop's check of it, one measured run: a minute at 10,000 steps.
        bare = bench.record(scale_folder(bench, "live", largest), runs=1)
        (base,) = alternate([bare], rounds=1, budget_s=0, warmup=False)
        top = scale.stats[largest]
        size = "" if largest == 10_000 else f", {largest:,} steps"
        rows[0] = replace(
            rows[0],
            baseline=f"{seconds(base)} (bare httpx{size})",
            ratio=ratio(top.wall, base.wall),
            note=f"CPU {top.cpu:.2f} s vs {base.cpu:.2f} s (bare httpx, the same {largest:,} requests)",
        )
    rows.insert(
        1,
        Row(
            f"live {largest:,} steps",
            "peak RSS",
            f"{peak:.0f} MiB",
            f"{scale.stats[1].rss_mib:.0f} MiB (1 step)",
            "-",
            f"≤ {PEAK_MIB} MiB",
            peak <= PEAK_MIB,
        ),
    )
    return rows
