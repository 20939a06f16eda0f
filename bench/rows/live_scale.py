"""Live run of one N-step scenario (GETs) at 100, 1,000 and 10,000 steps: time, peak RSS, linearity."""

from __future__ import annotations

from bench.harness import Bench
from bench.table import Row

from .scale import scale_rows, scaling

PER_STEP_S = 15.0 / 10_000  # the "≤ 15 s at 10,000 steps"
LINEAR = 1.5
PEAK_MIB = 120


def measure(bench: Bench) -> list[Row]:
    sizes = (100, 1000) if bench.quick else (100, 1000, 10_000)
    scale = scaling(bench, "live", sizes, lambda folder, t: bench.live(folder, timeout_s=t), timeout_s=120)
    largest = max(scale.stats)
    peak = scale.stats[largest].rss_mib
    rows = scale_rows("live", scale, sizes, 10_000, PER_STEP_S, LINEAR)
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
