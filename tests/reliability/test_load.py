"""Load: 200 release gates at ``--concurrency 32`` against one reference server.

Every scenario passes, the receipts validate, and they are byte-identical (all files but
``timings.json``) to the same 200 gates run one at a time against a fresh server on the same
address (the base URL is an input, so it is part of the receipts). The run leaks no file
descriptor, thread or asyncio task, and its memory stays bounded. The figures are printed
past pytest's capture, so a regression in time or memory is visible.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from reliability_helpers import RELEASE_GATE, assert_valid_run, live_env, receipt_bytes

from runner.pipeline import RunConfig, RunReport, run
from velikey.testing import ReferenceServer

pytestmark = pytest.mark.slow

SCENARIOS = 200
CONCURRENCY = 32
MEMORY_BOUND_MIB = 300
# Descriptors the process may open once and keep (a cached selector, /dev/urandom): not a leak per run.
FD_ALLOWANCE = 4
T = TypeVar("T")


def _write_gates(folder: Path, count: int) -> None:
    """``count`` copies of the release gate with distinct ids (``release-gate-000`` ...)."""
    text = RELEASE_GATE.read_text(encoding="utf-8")
    assert text.count("\nid: release-gate\n") == 1
    folder.mkdir()
    for n in range(count):
        copy = text.replace("\nid: release-gate\n", f"\nid: release-gate-{n:03d}\n")
        (folder / f"gate-{n:03d}.yaml").write_text(copy, encoding="utf-8")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """The highest resident set size seen while the block runs, sampled every few milliseconds.

    RSS rather than tracemalloc: tracemalloc slows this run about fourfold, and RSS also counts
    what C code (hashing, sockets) holds.
    """

    def __init__(self) -> None:
        self.before = self.peak = _rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_mib())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())


@pytest.fixture
def leftover_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[set[str]]]:
    """Wraps the pipeline's ``asyncio.run``: when its coroutine returns, no other task may still exist.

    ``asyncio.run`` cancels leftover tasks on its way out, which would hide a leak; this looks first.
    Only the main thread's runs are wrapped: the reference server's loop runs in its own thread.
    """
    original = asyncio.run
    found: list[set[str]] = []

    async def watched(coro: Coroutine[Any, Any, T]) -> T:
        value = await coro
        current = asyncio.current_task()
        found.append({repr(task) for task in asyncio.all_tasks() if task is not current})
        return value

    def run_watched(coro: Coroutine[Any, Any, T], **kwargs: Any) -> T:
        if threading.current_thread() is not threading.main_thread():
            return original(coro, **kwargs)
        return original(watched(coro), **kwargs)

    monkeypatch.setattr(asyncio, "run", run_watched)
    yield found


def _show(capsys: pytest.CaptureFixture[str], figures: dict[str, Any]) -> None:
    """Straight to the terminal, past pytest's capture, so a passing CI run shows the figures too."""
    with capsys.disabled():
        print(f"\nload figures: {figures}")


def _timed(label: str, figures: dict[str, Any], action: Callable[[], RunReport]) -> RunReport:
    started = time.perf_counter()
    report = action()
    figures[f"{label} seconds"] = round(time.perf_counter() - started, 2)
    return report


@pytest.mark.timeout(900)
@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc/self/fd")
def test_200_gates_at_concurrency_32_pass_identically_without_leaks(
    tmp_path: Path, leftover_tasks: list[set[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "scenarios"
    _write_gates(folder, SCENARIOS)
    figures: dict[str, Any] = {"scenarios": SCENARIOS, "concurrency": CONCURRENCY}

    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    with PeakRss() as rss:
        with ReferenceServer() as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            config = RunConfig(paths=(folder,), mode="live", env=live_env(server), concurrency=CONCURRENCY,
                               out=tmp_path / "concurrent", run_id="load")
            loaded = _timed("concurrency 32", figures, lambda: run(config))
            served = server.state()
    growth = rss.peak - rss.before
    figures["rss MiB before/peak/after"] = (round(rss.before, 1), round(rss.peak, 1), round(_rss_mib(), 1))
    fds_after = _open_fds()
    figures["fds before/after"] = (fds_before, fds_after)
    _show(capsys, figures)

    assert loaded.exit_code == 0, loaded.summary["reason_codes"]
    assert loaded.summary["counts"]["passed"] == SCENARIOS * 8  # every step but the rollback, skipped: no token
    assert [s["outcome"] for s in loaded.summary["scenarios"]] == ["passed"] * SCENARIOS
    assert served["ingested_bytes"] == SCENARIOS * 1024**2  # each gate probes 1 MiB, each exactly once
    assert served["faults_injected"] == {}
    assert_valid_run(tmp_path / "concurrent")

    assert fds_after <= fds_before + FD_ALLOWANCE, f"{fds_after - fds_before} descriptors more after the run"
    leaked_threads = [t.name for t in set(threading.enumerate()) - threads_before]
    assert leaked_threads == [], leaked_threads
    assert leftover_tasks == [set()], leftover_tasks
    assert growth < MEMORY_BOUND_MIB, f"resident memory grew by {growth:.0f} MiB during the run"

    # The same gates one at a time, against a fresh server on the same address.
    with ReferenceServer(port=port) as fresh:
        serial_config = RunConfig(paths=(folder,), mode="live", env=live_env(fresh), concurrency=1,
                                  out=tmp_path / "serial", run_id="load")  # the same run: the same ids
        serial = _timed("concurrency 1", figures, lambda: run(serial_config))
    _show(capsys, {"concurrency 1 seconds": figures["concurrency 1 seconds"]})
    assert serial.exit_code == 0
    assert leftover_tasks == [set(), set()], leftover_tasks
    concurrent_files = receipt_bytes(tmp_path / "concurrent")
    serial_files = receipt_bytes(tmp_path / "serial")
    assert sorted(concurrent_files) == sorted(serial_files)
    differing = [name for name in sorted(serial_files) if serial_files[name] != concurrent_files[name]]
    assert differing == [], f"{len(differing)} receipt files differ between --concurrency 32 and 1: {differing[:10]}"
    assert len(concurrent_files) > SCENARIOS  # SUMMARY, manifest, result and per-step evidence
