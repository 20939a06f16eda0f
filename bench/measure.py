"""Whole-process measurements: wall time, CPU time and peak RSS of one child, and medians of alternated runs.

Each child is started by ``bench/spawner.py``, a process of the standard library alone, and reaped
with ``os.wait4``, which returns that child's own rusage: ``RUSAGE_CHILDREN`` would report the
largest child so far, and a child of the bench process itself at least the bench's size. Runs of
the command under test and of its baseline alternate (A B, B A, ...), so drift in the shared
machine's load hits both alike.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "ChildFailed", "Sample", "Stats", "alternate", "run_child"]


@dataclass(frozen=True)
class Sample:
    """One finished child: seconds of wall and CPU time (user + system), peak RSS in MiB, exit code."""

    wall: float
    cpu: float
    rss_mib: float
    returncode: int
    timed_out: bool = False


@dataclass(frozen=True)
class Child:
    """A command to measure: argv, environment, working directory, allowed exit codes, time limit.

    In ``argv``, ``{run}`` becomes the run's number (0 is the warm-up) and ``{out}`` a new empty
    folder under ``scratch`` (removed with it when the bench ends): each run writes its receipts afresh, as CI does.
    """

    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    ok_codes: tuple[int, ...] = (0,)
    timeout_s: float = 120.0
    scratch: Path | None = None


@dataclass(frozen=True)
class Stats:
    """Medians over the runs of one command; ``timed_out`` when any run hit its limit (then wall is a floor).

    ``cpu_min`` is the least CPU time of the runs: what the work costs with the least interference,
    for differences between two sizes of one run (noise only ever adds CPU time).
    """

    wall: float
    cpu: float
    rss_mib: float
    runs: int
    timed_out: bool
    cpu_min: float = 0.0


class ChildFailed(RuntimeError):
    """A measured command exited with an unexpected code: its figures would measure an error path."""


def run_child(child: Child, run: int = 0) -> Sample:
    """Run ``child`` to completion (or its time limit) and return what it cost.

    Its receipts stay in ``scratch`` until the bench ends: on ext4 without a journal (this project's
    VMs), creating a file skips every inode of its block group freed in the last 60 seconds (360 while the
    inode's table block is dirty), reading each (``recently_deleted`` in ``find_inode_bit``), so removing
    one run's 10,000 files right before the next made each file that run created cost up to 0.6 ms of
    kernel CPU instead of 0.03 ms.
    """
    out = tempfile.mkdtemp(prefix="out-", dir=child.scratch) if child.scratch is not None else ""
    return _run(child, [a.replace("{run}", str(run)).replace("{out}", out) for a in child.argv])


_SPAWNER: subprocess.Popen[str] | None = None


def _spawner() -> subprocess.Popen[str]:
    """The small process that starts every measured child (``bench/spawner.py`` says why), started once."""
    global _SPAWNER
    if _SPAWNER is None or _SPAWNER.poll() is not None:
        script = Path(__file__).with_name("spawner.py")
        _SPAWNER = subprocess.Popen([sys.executable, "-I", "-S", str(script)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
    return _SPAWNER


def _run(child: Child, argv: list[str]) -> Sample:
    spawner = _spawner()
    assert spawner.stdin is not None and spawner.stdout is not None
    job = {"argv": argv, "env": None if child.env is None else dict(child.env),
           "cwd": None if child.cwd is None else str(child.cwd), "timeout_s": child.timeout_s}
    spawner.stdin.write(json.dumps(job) + "\n")
    spawner.stdin.flush()
    done = json.loads(spawner.stdout.readline())
    timed_out = done["wall"] >= child.timeout_s and done["returncode"] < 0
    if not timed_out and done["returncode"] not in child.ok_codes:
        tail = done["stderr_tail"].strip().splitlines()[-3:]
        raise ChildFailed(f"{' '.join(argv[:3])}... exited {done['returncode']}: {' | '.join(tail)}")
    return Sample(done["wall"], done["cpu"], done["rss_mib"], done["returncode"], timed_out)


def _stats(samples: list[Sample]) -> Stats:
    return Stats(
        wall=statistics.median(s.wall for s in samples),
        cpu=statistics.median(s.cpu for s in samples),
        rss_mib=statistics.median(s.rss_mib for s in samples),
        runs=len(samples),
        timed_out=any(s.timed_out for s in samples),
        cpu_min=min(s.cpu for s in samples),
    )


def alternate(children: Sequence[Child], rounds: int, budget_s: float, warmup: bool = True) -> list[Stats]:
    """Medians of up to ``rounds`` alternated runs of each child; stops early once ``budget_s`` is spent.

    At least one round always runs. A warm-up run of each (untimed) fills the page cache and
    the bytecode cache first, so the first timed round is not an outlier.
    """
    if warmup:
        for child in children:
            run_child(child, 0)
    samples: list[list[Sample]] = [[] for _ in children]
    started = time.monotonic()
    for n in range(rounds):
        order = range(len(children)) if n % 2 == 0 else reversed(range(len(children)))
        for i in order:
            samples[i].append(run_child(children[i], n + 1))
        if any(s.timed_out for group in samples for s in group) or time.monotonic() - started > budget_s:
            break
    return [_stats(group) for group in samples]
