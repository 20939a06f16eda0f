"""Probe sizes are bounded and hashing a probe never holds the event loop (issue 8).

Found from outside: lint accepted ``size: 10**15``, and a dry-run of a large generated probe
hashed it on the event loop, so ``--deadline``, Ctrl-C and SIGTERM were all ignored until it
ended (for 10**15 bytes: days). Runs are the installed CLI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runner.receipts.validate import validate_run_dir
from runner.scenario.model import MAX_PROBE_BYTES

CLI = Path(sys.executable).with_name("velikey-e2e")
# A hang guard, not a timing assertion: hashing the largest probe takes far longer than this.
HANG_GUARD_S = 60

PROBE = """\
id: big-probe
title: The largest probe
needs: [payload_url]
steps:
  - id: health
    call: get_health
  - id: probe
    probe: {{{probe}}}
"""


def _scenario(folder: Path, probe: str) -> Path:
    path = folder / "big.yaml"
    path.write_text(PROBE.format(probe=probe), encoding="utf-8")
    return path


def _cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env={"PATH": os.environ["PATH"]},
                          capture_output=True, text=True, timeout=HANG_GUARD_S)


@pytest.mark.parametrize("size", [MAX_PROBE_BYTES + 1, 10**15])
def test_lint_refuses_a_generated_probe_above_the_maximum(tmp_path: Path, size: int) -> None:
    _scenario(tmp_path, f"payload: {{size: {size}, seed: 7}}")
    done = _cli("lint", "big.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("big.yaml:8: steps[1].probe.payload.size: ") and str(MAX_PROBE_BYTES) in done.stderr


def test_lint_refuses_a_probe_file_above_the_maximum(tmp_path: Path) -> None:
    with open(tmp_path / "huge.bin", "wb") as handle:  # sparse: no disk is used
        handle.truncate(MAX_PROBE_BYTES + 1)
    _scenario(tmp_path, "file: huge.bin")
    done = _cli("lint", "big.yaml", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("big.yaml:8: steps[1].probe.file: ")
    assert "larger than the largest probe" in done.stderr


def _assert_cut_short(out: Path, reason: str) -> None:
    assert validate_run_dir(out) == []
    summary = json.loads((out / "SUMMARY.json").read_text(encoding="utf-8"))
    steps = {step["id"]: (step["outcome"], step["reason_code"]) for step in summary["scenarios"][0]["steps"]}
    assert steps["probe"] == ("failed", reason)


def test_the_deadline_interrupts_a_dry_run_hashing_the_largest_probe(tmp_path: Path) -> None:
    _scenario(tmp_path, f"payload: {{size: {MAX_PROBE_BYTES}, seed: 7}}")
    done = _cli("run", "big.yaml", "--dry-run", "--deadline", "1", "--out", "out", "--run-id", "probe-bounds",
                cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    _assert_cut_short(tmp_path / "out", "timeout")


def test_sigterm_interrupts_a_dry_run_hashing_the_largest_probe(tmp_path: Path) -> None:
    _scenario(tmp_path, f"payload: {{size: {MAX_PROBE_BYTES}, seed: 7}}")
    proc = subprocess.Popen([str(CLI), "run", "big.yaml", "--dry-run", "--out", "out", "--run-id", "probe-bounds"],
                            cwd=tmp_path, env={"PATH": os.environ["PATH"]}, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline().startswith("  big-probe/health: ")  # the steps run; the probe is next
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    _assert_cut_short(tmp_path / "out", "interrupted")
