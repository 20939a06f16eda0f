"""``python -m bench [--quick]``: every row of the performance issue against its same-run baseline.

Each row measures whole processes (the installed ``velikey-e2e`` and bare baselines) against
one reference server on 127.0.0.1, takes medians of alternated runs and prints one table of
medians, ratios and targets. It reports and never fails: the exit status is 0 whatever the
figures, and a row that cannot be measured says why in its line. ``--quick`` (CI) runs the
same rows at smaller sizes.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from velikey.testing import ReferenceServer

from .harness import ROOT, SCRATCH, Bench, compile_sources, file_creation_us, scratch_dir
from .rows import dry_scale, dry_scenarios, gates, generator, gets, live_scale, probe, startup
from .table import Row, render

ROWS: tuple[tuple[str, Callable[[Bench], list[Row]]], ...] = (
    ("500 GETs", gets.measure),
    ("50 release gates", gates.measure),
    ("start-up", startup.measure),
    ("dry-run scenarios/", dry_scenarios.measure),
    ("dry-run scaling", dry_scale.measure),
    ("live scaling", live_scale.measure),
    ("payload generator", generator.measure),
    ("1 GiB probe", probe.measure),
)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _header(quick: bool, load_before: str, seconds: float, files: str) -> str:
    python = subprocess.run([sys.executable, "-V"], capture_output=True, text=True).stdout.strip()
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return "\n".join(
        [
            f"command: python -m bench{' --quick' if quick else ''}   date: {datetime.date.today().isoformat()}",
            f"machine: nproc {cpus}, {python}, {platform.system()} {platform.release()} {platform.machine()}",
            f"load average (1/5/15 min): before {load_before}, after {_load()}; took {seconds:.0f} s",
            files,
        ]
    )


def _files_line(scratch: Path) -> str:
    """Where the receipts go and what creating a file costs there."""
    shown = scratch.parent.relative_to(ROOT) if scratch.is_relative_to(ROOT) else scratch.parent
    return f"receipts under {shown}/: {file_creation_us(scratch):.0f} µs CPU to create a 2 KiB file"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs (CI: prints, never fails)")
    parser.add_argument("--only", metavar="ROW", action="append", help="run only rows whose name contains ROW")
    parser.add_argument("--scratch", metavar="DIR", type=Path, default=SCRATCH,
                        help="where measured runs write their receipts (default: .bench/ in the checkout)")
    args = parser.parse_args()
    if args.scratch.exists() and not args.scratch.is_dir():
        parser.error(f"--scratch {args.scratch}: not a folder")
    compile_sources()
    load_before, started = _load(), time.monotonic()
    rows: list[Row] = []
    with scratch_dir(args.scratch, "velikey-bench-") as tmp, ReferenceServer() as server:
        files = _files_line(Path(tmp))
        bench = Bench(quick=args.quick, server=server, scratch=Path(tmp))
        for name, measure in ROWS:
            if args.only and not any(word in name for word in args.only):
                continue
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            try:
                rows += measure(bench)
            except Exception as exc:  # a row that breaks is reported in the table; the others still run
                traceback.print_exc()
                rows.append(Row(name, "error", "n/a", "-", "-", "-", None, note=f"{type(exc).__name__}: {exc}"))
    print(render(rows, _header(args.quick, load_before, time.monotonic() - started, files)))


if __name__ == "__main__":
    main()
    sys.exit(0)
