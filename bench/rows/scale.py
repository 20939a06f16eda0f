"""Scaling rows: wall time and peak RSS of an N-step run at several N, and the cost per step at each.

Cost per step at size N is (t(N) − t(1)) / (N − 1): the 1-step run is the fixed cost (start-up,
receipts of the run itself), so a linear runner shows the same cost per step at every size. For
CPU, t is the least of the size's runs (interference only adds CPU time; a median of a few runs
moved the 100-step cost by half). A size whose steps cost less CPU than twice the 1-step run's
own jitter (its median less its least) is below the noise floor: it is shown as such and not judged,
rather than printed as a made-up (sometimes negative) cost.
Linearity is judged on the child's CPU time: on a shared machine wall time drifts with the
neighbours' load, while a quadratic loop shows in CPU time whatever the load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import Bench
from bench.measure import Child, Stats, alternate
from bench.scenarios import get_steps
from bench.table import Row

from .format import seconds

__all__ = ["Scaling", "scale_folder", "scale_rows", "scaling"]


@dataclass(frozen=True)
class Scaling:
    """Medians per size, the 1-step run included; ``per_step`` in seconds (a floor where a run timed out)."""

    stats: dict[int, Stats]

    def per_step(self, size: int, cpu: bool = False) -> float:
        # CPU: the least of each size's runs, so one disturbed run of either size cannot make the difference.
        pick = (lambda s: s.cpu_min) if cpu else (lambda s: s.wall)
        return (pick(self.stats[size]) - pick(self.stats[1])) / (size - 1)


def scale_folder(bench: Bench, kind: str, size: int) -> Path:
    """The folder of the one ``size``-step scenario a ``kind`` scaling row runs."""
    return get_steps(bench.folder(f"{kind}-{size}") / "scenarios", size)


def scaling(
    bench: Bench, kind: str, sizes: tuple[int, ...], child: Callable[[Path, float], Child], timeout_s: float
) -> Scaling:
    """Measure ``child`` (a run of an N-step scenario folder) at 1 step and at every size.

    The 1-step run and the smallest size alternate, with more rounds: at 100 steps the steps are
    ~20 ms of a ~400 ms process, so a few ms of start-up noise in either median moved the per-step
    cost by half (one run printed a negative cost). The larger sizes take up to three runs each.
    """
    def folder(size: int) -> Path:
        return scale_folder(bench, kind, size)

    smallest, *larger = sizes
    stats: dict[int, Stats] = {}
    stats[1], stats[smallest] = alternate([child(folder(1), timeout_s), child(folder(smallest), timeout_s)],
                                          rounds=5 if bench.quick else 11, budget_s=30)
    for size in larger:
        if stats[max(stats)].timed_out:
            break
        (stats[size],) = alternate([child(folder(size), timeout_s)], rounds=2 if bench.quick else 3, budget_s=15,
                                   warmup=False)
    return Scaling(stats)


def scale_rows(
    label: str, scale: Scaling, sizes: tuple[int, ...], headline: int, per_step_target_s: float, linear_target: float
) -> list[Row]:
    """The headline row at ``headline`` steps (extrapolated from the largest size when that is smaller) and
    the linearity row across sizes."""
    largest = max(scale.stats)
    top = scale.stats[largest]
    target = per_step_target_s * headline
    if largest == headline or top.timed_out:
        value, wall = seconds(top), top.wall
        extrapolated = "" if largest == headline else f" (timed out at {largest:,})"
    else:
        wall = scale.stats[1].wall + (headline - 1) * scale.per_step(largest)
        value, extrapolated = f"{wall:.2f} s", f" (extrapolated from {largest:,})"
    noise = 2 * (scale.stats[1].cpu - scale.stats[1].cpu_min)
    measured = [n for n in sizes if n in scale.stats]
    # A size is judged only when its steps' CPU stands above the 1-step run's own jitter.
    judged = [n for n in measured if scale.per_step(n, cpu=True) * (n - 1) > noise]
    costs = [scale.per_step(n, cpu=True) for n in judged]
    spread = max(costs) / min(costs) if costs and min(costs) > 0 else float("inf")
    shown = " / ".join(f"{scale.per_step(n, cpu=True) * 1000:.2f}" if n in judged else "(noise)" for n in measured)
    unjudged = [n for n in measured if n not in judged]
    incomplete = top.timed_out or largest != max(sizes)
    return [
        Row(
            f"{label} {headline:,} steps{extrapolated}",
            "wall",
            value,
            "-",
            "-",
            f"≤ {target:g} s",
            not top.timed_out and wall <= target,
        ),
        Row(
            f"{label} linearity",
            "CPU ms/step",
            shown,
            f"sizes {'/'.join(str(n) for n in measured)}",
            (("≥ " if incomplete else "") + f"{spread:.2f}×") if len(costs) > 1 else "-",
            f"≤ {linear_target:g}×",
            # One judged size says nothing about linearity: the row is then not judged either.
            (not incomplete and spread <= linear_target) if len(costs) > 1 else None,
            note=("the largest size hit its time limit; " if top.timed_out else "")
            + f"1-step run {seconds(scale.stats[1])}; ms/step = (t(N) - t(1)) / (N - 1), t the least CPU of its runs; "
            + f"CPU at {largest:,} steps {top.cpu:.2f} s"
            + (f"; not judged (steps' CPU below twice the 1-step run's jitter, {noise * 1000:.0f} ms): "
               + ", ".join(f"{n:,}" for n in unjudged) if unjudged else ""),
        ),
    ]
