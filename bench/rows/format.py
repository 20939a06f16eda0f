"""Number formats shared by the rows, so the table reads alike everywhere."""

from __future__ import annotations

from bench.measure import Stats

__all__ = ["ratio", "seconds", "within"]


def seconds(stats: Stats, cpu: bool = False) -> str:
    value = stats.cpu if cpu else stats.wall
    text = f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    return ("> " + text) if stats.timed_out and not cpu else text


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b > 0 else "n/a"


def within(a: float, b: float, limit: float) -> bool:
    return b > 0 and a / b <= limit
