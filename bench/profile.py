"""``python -m bench.profile [TARGET...]``: cProfile (top 25 by cumulative time) of the runner on a bench workload.

Writes ``bench/profiles/TARGET.txt``. Targets: ``help`` (start-up, plus ``-X importtime``'s 25
slowest imports), ``dry`` (dry-run of a 2,000-step scenario: large enough to show per-step
costs that grow with the scenario), ``gets`` (live, 500 GETs), ``gates`` (live, 50 gates) and
``startup`` (a one-step live run: its imports by package against the bare loop's, and where
class creation goes; the fixed cost that bounds the start-up-bound rows).
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
    if target == "help":
        return ["--help"]
    if target == "dry":
        out = str(bench.folder("out-" + target))
        return ["run", str(get_steps(bench.folder("dry") / "scenarios", 2000)), "--dry-run", "--out", out]
    if target == "gets":
        folder = get_steps(bench.folder("gets") / "scenarios", 500)
    elif target == "startup":
        folder = get_steps(bench.folder("startup") / "scenarios", 1)
    else:
        folder = gate_copies(bench.folder("gates") / "scenarios", ROOT / "scenarios" / "release-gate.yaml", 50)
    return _live(bench, folder, target)


def _import_times(command: list[str], bench: Bench) -> list[tuple[int, int, str]]:
    """``-X importtime`` of ``command``: each import's own and cumulative µs and its name, indented by depth."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], env=bench.env, cwd=ROOT,
                          capture_output=True, text=True)
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit() and parts[1].strip().isdigit():
            rows.append((int(parts[0]), int(parts[1]), parts[2].rstrip()))
    return rows


def _importtime(bench: Bench) -> str:
    rows = sorted(((cumulative, name) for _, cumulative, name in
                   _import_times([bench.python, "-m", "runner", "--help"], bench)), reverse=True)
    return "\n".join(f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:TOP])


def _import_self_times(command: list[str], bench: Bench) -> dict[str, int]:
    """``-X importtime``'s own time (µs) of each module ``command`` imports."""
    return {name.strip(): own for own, _, name in _import_times(command, bench)}


def _startup(bench: Bench) -> str:
    """The one-step run's imports by top-level package, beside the bare loop's (sending nothing)."""
    folder = get_steps(bench.folder("startup") / "scenarios", 1)
    runner = _import_self_times([bench.python, "-m", "runner", *_live(bench, folder, "startup")], bench)
    empty = bench.folder("startup-bare") / "requests.json"
    empty.write_text("[]", encoding="utf-8")
    bare = _import_self_times([bench.python, str(ROOT / "bench" / "bare_loop.py"), str(empty)], bench)
    by_package: dict[str, list[int]] = {}
    for times, column in ((runner, 0), (bare, 1)):
        for module, us in times.items():
            by_package.setdefault(module.split(".")[0], [0, 0])[column] += us
    rows = sorted(by_package.items(), key=lambda item: -max(item[1]))
    total = [sum(v[0] for _, v in rows), sum(v[1] for _, v in rows)]
    lines = [f"{'package':24s} {'runner':>9s} {'bare loop':>9s}   (ms of -X importtime own time; it inflates)"]
    lines += [f"{name:24s} {r / 1000:9.1f} {b / 1000:9.1f}" for name, (r, b) in rows if max(r, b) >= 2000]
    lines.append(f"{'all imports':24s} {total[0] / 1000:9.1f} {total[1] / 1000:9.1f}")
    done = subprocess.run([bench.python, "-c", _CLASS_TIMER, *_live(bench, folder, "startup-classes")],
                          env=bench.env, cwd=ROOT, capture_output=True, text=True)
    lines += ["", "class creation in the one-step run (perf_counter around dataclass processing and pydantic's"
              " model metaclass):", *(line for line in done.stderr.splitlines() if line.startswith(_CLASS_ROW))]
    return "\n".join(lines)


# Runs the CLI in-process with dataclass processing and pydantic model creation timed, by top-level package;
# the figures go to stderr, each line starting with _CLASS_ROW (the run's own output is left out).
_CLASS_ROW = "  class "
_CLASS_TIMER = """
import collections, dataclasses, runpy, sys, time
import pydantic._internal._model_construction as construction
spent = collections.defaultdict(lambda: [0, 0.0])
def timed(kind, original):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            module = (args[1] if kind == "pydantic model" else args[0].__module__).split(".")[0]
            entry = spent[(kind, module)]
            entry[0] += 1
            entry[1] += time.perf_counter() - start
    return wrapper
dataclasses._process_class = timed("dataclass", dataclasses._process_class)
meta = construction.ModelMetaclass
original_new = meta.__new__
meta.__new__ = lambda mcs, name, bases, ns, *a, **k: timed("pydantic model", lambda *x: original_new(
    mcs, name, bases, ns, *a, **k))(mcs, ns.get("__module__", "?"))
sys.argv = ["velikey-e2e", *sys.argv[1:]]
try:
    runpy.run_module("runner", run_name="__main__")
except SystemExit:
    pass
for (kind, package), (count, seconds) in sorted(spent.items(), key=lambda item: -item[1][1]):
    print(f"  class {kind:15s} {package:18s} {count:4d} classes {seconds * 1000:7.1f} ms", file=sys.stderr)
"""


def _live(bench: Bench, folder: Path, target: str) -> list[str]:
    out = str(bench.folder("out-" + target))
    return ["run", str(folder), "--live", "--out", out, "--concurrency", "1", "--deadline", "3600"]


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
    if target == "startup":
        report += f"\n-X importtime by top-level package, one-step live run and the bare loop\n{_startup(bench)}\n"
    PROFILES.mkdir(exist_ok=True)
    path = PROFILES / f"{target}.txt"
    path.write_text(report, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", default=["help", "dry"],
                        choices=["help", "dry", "gets", "gates", "startup"])
    args = parser.parse_args()
    compile_sources()
    with scratch_dir(SCRATCH, "velikey-profile-") as tmp, ReferenceServer() as server:
        bench = Bench(quick=False, server=server, scratch=Path(tmp))
        for target in args.targets:
            print(profile(bench, target), file=sys.stderr)


if __name__ == "__main__":
    main()
