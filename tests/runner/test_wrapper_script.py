"""The seed's invocation, scripts/sdk-e2e/run_python_sdk_e2e.sh, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.receipts.validate import validate_run_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sdk-e2e" / "run_python_sdk_e2e.sh"


def _run(tmp_path: Path, python_bin: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SDK_E2E_PYTHON_BIN": python_bin}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_dry_run_works_with_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "dry"
    done = _run(tmp_path, sys.executable, "--dry-run", str(ROOT / "scenarios"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert validate_run_dir(out) == []
    result = json.loads((out / "python-sdk-e2e-result.json").read_text())
    assert (result["result"], result["mode"]) == ("pass", "dry-run")


@pytest.mark.parametrize("interpreter", ["missing", "too-old"])
def test_an_unusable_interpreter_is_manual_required_with_valid_receipts(tmp_path: Path, interpreter: str) -> None:
    if interpreter == "missing":
        python_bin = str(tmp_path / "no-such-python")
    else:  # a stand-in for python3.8: answers the version probe, fails the >= 3.10 check
        fake = tmp_path / "python3.8"
        fake.write_text('#!/bin/sh\ncase "$2" in *sys.exit*) exit 1 ;; *) echo 3.8 ;; esac\n')
        fake.chmod(0o755)
        python_bin = str(fake)
    out = tmp_path / "blocked"
    done = _run(tmp_path, python_bin, "--live", "--out", str(out))
    assert done.returncode == 3, done.stderr
    assert validate_run_dir(out) == []
    blocker = json.loads((out / "BLOCKER.json").read_text())
    assert blocker["reason_codes"] == ["python_runtime_unsupported"]
    assert "Traceback" not in done.stderr


def test_a_bad_mode_is_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path, sys.executable, "--sideways")
    assert done.returncode == 2
    assert "usage" in done.stderr
