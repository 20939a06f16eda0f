"""What every row shares: the installed CLI, a clean environment, one reference server, a scratch folder.

The server is started once, in this process, on 127.0.0.1; the runner and the bare loops reach
it over a real socket as separate processes, with the environment a user would export
(``ReferenceServer.live_env``). Nothing of the caller's environment that steers the runner
(``AXIS_*``, ``VELIKEY_*``, CI variables) leaks into a measured run.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from velikey.testing import ReferenceServer

from .measure import Child
from .replay import recorded_requests, write_requests

__all__ = ["ROOT", "SCRATCH", "Bench", "compile_sources", "file_creation_us", "scratch_dir"]

ROOT = Path(__file__).resolve().parents[1]
# Where measured runs write their receipts: inside the checkout, as a user's ``--out receipts/...`` is. Nothing in it
# is removed until the bench ends (``measure.run_child`` says why).
SCRATCH = ROOT / ".bench"
_STEERING = ("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_", "GITHUB_", "CI_", "SOURCE_DATE_EPOCH")
# A live run's default deadline would cut the largest runs short; the figures must come from whole runs.
_DEADLINE_S = "3600"


@dataclass
class Bench:
    """The shared context of one ``python -m bench`` run."""

    quick: bool
    server: ReferenceServer
    scratch: Path

    @property
    def python(self) -> str:
        return sys.executable

    @property
    def cli(self) -> str:
        return str(Path(sys.executable).parent / "velikey-e2e")

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_STEERING)}
        return {**env, **self.server.live_env()}

    def folder(self, name: str) -> Path:
        path = self.scratch / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def velikey(self, *args: str, timeout_s: float = 300.0, ok: tuple[int, ...] = (0,)) -> Child:
        """The installed CLI with ``args``, receipts to a fresh ``{out}`` when args name it."""
        return Child([self.cli, *args], self.env, ROOT, ok, timeout_s, self.scratch)

    def live(self, folder: Path, *extra: str, timeout_s: float = 300.0) -> Child:
        """A live run of ``folder`` against the reference server, one scenario at a time unless told."""
        return self.velikey(
            "run",
            str(folder),
            "--live",
            "--out",
            "{out}",
            "--concurrency",
            "1",
            "--deadline",
            _DEADLINE_S,
            *extra,
            timeout_s=timeout_s,
        )

    def dry(self, folder: Path, timeout_s: float = 300.0) -> Child:
        return self.velikey("run", str(folder), "--dry-run", "--out", "{out}", timeout_s=timeout_s)

    def python_c(self, code: str, *args: str, timeout_s: float = 300.0) -> Child:
        return Child([self.python, "-c", code, *args], self.env, ROOT, (0,), timeout_s, None)

    def record(self, folder: Path, runs: int) -> Child:
        """Run ``folder`` live once, and return the bare loop replaying its requests (one file per run)."""
        out = self.scratch / f"record-{folder.name}"
        done = subprocess.run(
            [
                self.cli,
                "run",
                str(folder),
                "--live",
                "--out",
                str(out),
                "--concurrency",
                "1",
                "--deadline",
                _DEADLINE_S,
            ],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the recording run exited {done.returncode}: {done.stdout.strip()[-300:]}")
        requests = recorded_requests(out, sorted(folder.glob("*.yaml")))
        files = str(folder.parent / f"{folder.name}-requests-{{run}}.json")
        for run in range(runs + 1):
            write_requests(Path(files.format(run=run)), requests, env=self.env, salt=str(run))
        self._verify(Path(files.format(run=0)), requests)
        return Child([self.python, str(ROOT / "bench" / "bare_loop.py"), files], self.env, ROOT, (0,), 600.0, None)

    def _verify(self, path: Path, requests: Sequence[dict[str, Any]]) -> None:
        # The bare loop must send the runner's bytes: its probes' echoes must match the runner's digests.
        done = subprocess.run(
            [self.python, str(ROOT / "bench" / "bare_loop.py"), str(path)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the bare loop failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
        echoes = json.loads(done.stdout)["probe_sha256"]
        expected = [r["sha256"] for r in requests if "payload" in r]
        if echoes != expected:
            raise RuntimeError("the bare loop's probe bytes differ from the runner's: update bench/bare_loop.py")


def compile_sources() -> None:
    """Bytecode for runner/ and velikey/, as an installed wheel has: an editable checkout under
    PYTHONDONTWRITEBYTECODE (set on this machine) would otherwise compile ~1,000 code objects in
    every child process, a start-up cost no installed user pays."""
    import compileall

    import runner
    import velikey

    for package in (runner, velikey):
        compileall.compile_dir(package.__path__[0], quiet=1)


def scratch_dir(parent: Path, prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A fresh scratch folder under ``parent`` (created if needed), removed on exit."""
    parent.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=prefix, dir=parent)


def file_creation_us(parent: Path, files: int = 300) -> float:
    """Median CPU µs to create, write (2 KiB) and close one new file under ``parent``: the filesystem's share
    of a receipt set (one file per step), printed with the table so a slow folder is seen, not blamed.
    The files stay (``parent`` is the scratch folder): removing them would slow the runs that follow."""
    folder = tempfile.mkdtemp(prefix="filecost-", dir=parent)
    costs = []
    for n in range(files):
        started = time.process_time()
        with open(os.path.join(folder, f"f{n}.json"), "xb") as handle:
            handle.write(b"x" * 2048)
        costs.append(time.process_time() - started)
    return statistics.median(costs) * 1e6
