"""Dry-run of one N-step scenario at 100, 1,000 and 10,000 steps: at most 5 s at 10,000, and linear."""

from __future__ import annotations

from bench.harness import Bench
from bench.table import Row

from .scale import scale_rows, scaling

PER_STEP_S = 5.0 / 10_000  # the "≤ 5 s at 10,000 steps"
LINEAR = 1.5


def measure(bench: Bench) -> list[Row]:
    sizes = (100, 1000) if bench.quick else (100, 1000, 10_000)
    scale = scaling(bench, "dry", sizes, lambda folder, t: bench.dry(folder, timeout_s=t), timeout_s=30)
    return scale_rows("dry-run", scale, sizes, 10_000, PER_STEP_S, LINEAR)
