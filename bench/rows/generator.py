"""Throughput of the probe payload generator against ``hashlib.sha256`` over the same bytes.

Generation and hashing both sit on the probe's path; the generator must not be the slower
of the two. No public entry point exposes the generator alone, so the child reaches it through
``runner.engine.payload.payload_for`` (the one internal name bench/ uses; update ``_CHILD``
when it moves: the row then says so instead of failing the run).
"""

from __future__ import annotations

import json
import statistics
import subprocess

from bench.harness import ROOT, Bench
from bench.table import Row

TARGET = 1.0

_CHILD = """
import asyncio, hashlib, json, pathlib, sys, time
from runner.engine.payload import payload_for
from runner.scenario.model import ProbeSpec

size = int(sys.argv[1])
payload = payload_for(ProbeSpec.model_validate({"payload": {"size": size, "seed": 7}}), pathlib.Path("."))

async def generate():
    chunk = b""
    started = time.perf_counter()
    async for chunk in payload.chunks():
        pass
    return time.perf_counter() - started, chunk

generate_s, chunk = asyncio.run(generate())
digest = hashlib.sha256()
started = time.perf_counter()
for _ in range(size // len(chunk)):
    digest.update(chunk)
hash_s = time.perf_counter() - started
print(json.dumps({"generate_s": generate_s, "hash_s": hash_s}))
"""


def measure(bench: Bench) -> list[Row]:
    mib = 64 if bench.quick else 256
    gen, sha = [], []
    for _ in range(3):
        done = subprocess.run(
            [bench.python, "-c", _CHILD, str(mib * 1024 * 1024)],
            env=bench.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return [
                Row(
                    "payload generator",
                    "MiB/s",
                    "n/a",
                    "-",
                    "-",
                    f"≥ {TARGET:g}×",
                    None,
                    note=f"generator not reachable (update bench/rows/generator.py): {last}",
                )
            ]
        figures = json.loads(done.stdout)
        gen.append(mib / figures["generate_s"])
        sha.append(mib / figures["hash_s"])
    g, s = statistics.median(gen), statistics.median(sha)
    return [
        Row(
            f"payload generator ({mib} MiB)",
            "MiB/s",
            f"{g:.0f} MiB/s",
            f"{s:.0f} MiB/s (sha256)",
            f"{g / s:.2f}×",
            f"≥ {TARGET:g}×",
            g / s >= TARGET,
        )
    ]
