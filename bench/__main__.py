"""``python -m bench [--probe-mib N] [--scenarios N]``: memory of a streamed probe, speed of the gate.

1. Probe memory: peak RSS of a process that streams an N MiB generated payload through the SDK
   to the reference server (hash echo), against the same process's baseline after a 1 MiB probe.
   DESIGN's target: a 1 GiB probe adds at most a few tens of MiB.
2. Gate throughput: wall time of a live run of N copies of the release gate at --concurrency 1
   (the baseline) and 8, and the speed-up ratio. Metering windows serialise probes, so the ratio
   shows how much of the gate overlaps.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = """
import asyncio, pathlib, resource, sys
from velikey import AegisClient
from velikey.testing import ReferenceServer
from runner.engine.payload import payload_for
from runner.scenario.model import ProbeSpec

size = int(sys.argv[1])
with ReferenceServer() as server:
    async def main():
        async with AegisClient(base_url=server.base_url, env={}) as client:
            spec = ProbeSpec.model_validate({"payload": {"size": size, "seed": 7}})
            payload = payload_for(spec, pathlib.Path("."))
            result = await client.probe_payload(server.payload_url, payload.chunks, length=payload.length)
            assert result.matched
    asyncio.run(main())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_rss_kib(size: int) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, str(size)], check=True, capture_output=True, text=True,
                         cwd=ROOT)
    return int(out.stdout.strip().splitlines()[-1])


def bench_probe(mib: int) -> None:
    baseline = _peak_rss_kib(1024 * 1024)
    started = time.monotonic()
    peak = _peak_rss_kib(mib * 1024 * 1024)
    seconds = time.monotonic() - started
    extra = (peak - baseline) / 1024
    print(f"probe: {mib} MiB streamed in {seconds:.1f} s ({mib / seconds:.0f} MiB/s)")
    print(f"probe: peak RSS {peak / 1024:.1f} MiB vs baseline (1 MiB probe) {baseline / 1024:.1f} MiB: "
          f"+{extra:.1f} MiB, ratio {peak / baseline:.2f}x, {extra / mib * 100:.2f}% of the payload")


def _gate_copies(folder: Path, count: int) -> None:
    text = (ROOT / "scenarios" / "release-gate.yaml").read_text(encoding="utf-8")
    for n in range(count):
        (folder / f"gate-{n:03d}.yaml").write_text(text.replace("id: release-gate", f"id: gate-{n:03d}", 1),
                                                   encoding="utf-8")


def _gate_seconds(folder: Path, concurrency: int, out: Path) -> float:
    from runner.pipeline import RunConfig, run

    started = time.monotonic()
    report = run(RunConfig(paths=(folder,), mode="live", embedded=True, env={}, out=out, concurrency=concurrency))
    assert report.exit_code == 0, report.summary["reason_codes"]
    return time.monotonic() - started


def bench_gate(scenarios: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scenarios"
        folder.mkdir()
        _gate_copies(folder, scenarios)
        serial = _gate_seconds(folder, 1, Path(tmp) / "c1")
        parallel = _gate_seconds(folder, 8, Path(tmp) / "c8")
        same = all((Path(tmp) / "c1" / f.relative_to(Path(tmp) / "c8")).read_bytes() == f.read_bytes()
                   for f in (Path(tmp) / "c8").rglob("*.json") if f.name != "timings.json")
    print(f"gate: {scenarios} scenarios, concurrency 1 (baseline) {serial:.2f} s, concurrency 8 {parallel:.2f} s, "
          f"speed-up {serial / parallel:.2f}x, receipts identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--probe-mib", type=int, default=1024, help="payload size for the probe benchmark")
    parser.add_argument("--scenarios", type=int, default=50, help="copies of the release gate for the throughput run")
    args = parser.parse_args()
    bench_probe(args.probe_mib)
    bench_gate(args.scenarios)


if __name__ == "__main__":
    main()
