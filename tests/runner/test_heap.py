"""The collector settings: set aside what a command imports, in the entry point's process and nowhere else."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import heap

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def owned(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    threshold = gc.get_threshold()
    monkeypatch.setattr(heap, "_owned", True)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_an_importing_program_keeps_its_collector() -> None:
    # pytest is such a program: heap.own() was never called here.
    frozen = gc.get_freeze_count()
    with heap.long_lived():
        assert gc.isenabled()
        kept = [[n] for n in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert len(kept) == 1000


@pytest.mark.usefixtures("owned")
def test_what_the_body_makes_is_frozen_and_the_collector_is_back() -> None:
    frozen = gc.get_freeze_count()
    with heap.long_lived():
        assert not gc.isenabled()
        kept = [[n] for n in range(5000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen + len(kept)


@pytest.mark.usefixtures("owned")
def test_a_failing_import_still_gives_the_collector_back() -> None:
    with pytest.raises(ImportError), heap.long_lived():
        import runner.no_such_module  # noqa: F401
    assert gc.isenabled()


@pytest.mark.usefixtures("owned")
def test_a_collector_the_program_switched_off_stays_off() -> None:
    gc.disable()
    try:
        frozen = gc.get_freeze_count()
        with heap.long_lived():
            pass
        assert not gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.enable()


_PROBE = """
import atexit, gc, json, sys
atexit.register(lambda: sys.stderr.write(json.dumps(
    {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()[0]}) + "\\n"))
sys.argv = ["velikey-e2e", *sys.argv[1:]]
from runner._entry import main
main()
"""


def test_a_run_through_the_entry_point_sets_its_modules_aside(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, "run", str(ROOT / "scenarios"), "--dry-run", "--out", str(tmp_path / "out"),
         "--run-id", "heap-0001", "-q"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads(done.stderr.strip().splitlines()[-1])
    # The CLI's and the pipeline's modules: tens of thousands of objects, never walked again.
    assert state["enabled"] is True and state["threshold"] == 10_000
    assert state["frozen"] > 40_000  # the CLI alone (`--version`) sets about 17,000 aside
    assert (tmp_path / "out" / "SUMMARY.json").is_file()
