"""``python -m bench.profile [TARGET...]``: cProfile (top 25 by cumulative time) of the runner on a bench workload.

Writes ``bench/profiles/TARGET.txt``. Targets: ``help`` (start-up, plus ``-X importtime``'s 25
slowest imports), ``dry`` (dry-run of a 2,000-step scenario: large enough to show per-step
costs that grow with the scenario), ``gets`` (live, 500 GETs) and ``gates`` (live, 50 gates).
The profiled process is ``python -m cProfile -m runner``, i.e. the installed CLI.
"""

from __future__ import annotations

import argparse
import io
import pstats
import subprocess
import sys
from pathlib import Path

from velikey.testing import ReferenceServer

from .harness import ROOT, SCRATCH, Bench, compile_sources, scratch_dir
from .scenarios import gate_copies, get_steps

PROFILES = ROOT / "bench" / "profiles"
TOP = 25


def _workload(bench: Bench, target: str) -> list[str]:
    out = str(bench.folder("out-" + target))
    if target == "help":
        return ["--help"]
    if target == "dry":
        return ["run", str(get_steps(bench.folder("dry") / "scenarios", 2000)), "--dry-run", "--out", out]
    if target == "gets":
        folder = get_steps(bench.folder("gets") / "scenarios", 500)
    else:
        folder = gate_copies(bench.folder("gates") / "scenarios", ROOT / "scenarios" / "release-gate.yaml", 50)
    return ["run", str(folder), "--live", "--out", out, "--concurrency", "1", "--deadline", "3600"]


def _importtime(bench: Bench) -> str:
    done = subprocess.run(
        [bench.python, "-X", "importtime", "-m", "runner", "--help"],
        env=bench.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return "\n".join(f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:TOP])


def _sections(stats_file: Path) -> str:
    # Three cuts: the asked-for cumulative top 25 (mostly entry frames), the same within our own
    # packages (which stage), and self time (which leaf: the encoder, the validator, the fsync).
    cuts = (
        ("top 25 by cumulative time", "cumulative", ()),
        ("top 25 by cumulative time, runner/ and velikey/ only", "cumulative", (r"/(runner|velikey)/",)),
        ("top 25 by own (self) time", "tottime", ()),
    )
    text = ""
    for title, key, restrict in cuts:
        out = io.StringIO()
        stats = pstats.Stats(str(stats_file), stream=out).sort_stats(key)
        stats.print_stats(*restrict, TOP)
        body = out.getvalue().split("   ncalls", 1)[-1]
        text += f"cProfile, {title}\n   ncalls{body}\n"
    site = str(Path(pstats.__file__).parent)
    return text.replace(str(ROOT) + "/", "").replace(site + "/", "")


def profile(bench: Bench, target: str) -> Path:
    """Profile one target and write its report; returns the report's path."""
    args = _workload(bench, target)
    stats_file = bench.scratch / f"{target}.prof"
    command = [bench.python, "-m", "cProfile", "-o", str(stats_file), "-m", "runner", *args]
    done = subprocess.run(command, env=bench.env, cwd=ROOT, capture_output=True, text=True)
    shown = " ".join(a if not a.startswith(str(bench.scratch)) else "<tmp>" for a in args)
    report = f"velikey-e2e {shown}  (exit {done.returncode})\n\n" + _sections(stats_file)
    if target == "help":
        report += f"\n-X importtime, {TOP} slowest imports (cumulative, µs → ms)\n{_importtime(bench)}\n"
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{target}.txt"
    path.write_text(report, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["help", "dry"], choices=["help", "dry", "gets", "gates"])
    args = parser.parse_args()
    compile_sources()
    with scratch_dir(SCRATCH, "velikey-profile-") as tmp, ReferenceServer() as server:
        bench = Bench(quick=False, server=server, scratch=Path(tmp))
        for target in args.targets:
            print(profile(bench, target), file=sys.stderr)


if __name__ == "__main__":
    main()
