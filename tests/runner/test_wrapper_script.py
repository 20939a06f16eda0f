"""The seed's invocation, scripts/sdk-e2e/run_python_sdk_e2e.sh, end to end."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner.receipts.validate import validate_run_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sdk-e2e" / "run_python_sdk_e2e.sh"


def _run(tmp_path: Path, python_bin: str, *args: str, timeout: float = 120,
         **env: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SDK_E2E_PYTHON_BIN": python_bin, **env}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)


def _interpreter(version: str) -> str:
    """A working ``python<version>`` other than the one running the tests, or skip."""
    candidates = [shutil.which(f"python{version}"),
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))]
    for candidate in filter(None, candidates):
        done = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == version:
            return candidate
    pytest.skip(f"no python{version} on this machine")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_dry_run_works_with_no_credentials(tmp_path: Path) -> None:
    out = tmp_path / "dry"
    done = _run(tmp_path, sys.executable, "--dry-run", str(ROOT / "scenarios"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert validate_run_dir(out) == []
    result = json.loads((out / "python-sdk-e2e-result.json").read_text())
    assert (result["result"], result["mode"]) == ("planned", "dry-run")


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
@pytest.mark.parametrize("interpreter", ["missing", "too-old"])
def test_an_unusable_interpreter_is_manual_required_with_valid_receipts(tmp_path: Path, interpreter: str,
                                                                        mode: str) -> None:
    if interpreter == "missing":
        python_bin = str(tmp_path / "no-such-python")
    else:  # a stand-in for python3.8: answers the version probe, fails the >= 3.10 check
        fake = tmp_path / "python3.8"
        fake.write_text('#!/bin/sh\ncase "$2" in *sys.exit*) exit 1 ;; *) echo 3.8 ;; esac\n')
        fake.chmod(0o755)
        python_bin = str(fake)
    out = tmp_path / "blocked"
    done = _run(tmp_path, python_bin, mode, "--out", str(out))
    assert done.returncode == 3, done.stderr
    assert validate_run_dir(out) == []  # SUMMARY.md included: bash writes exactly what the template renders
    blocker = json.loads((out / "BLOCKER.json").read_text())
    assert blocker["reason_codes"] == ["python_runtime_unsupported"]
    assert "Traceback" not in done.stderr
    again = _run(tmp_path, python_bin, mode, "--out", str(out))  # its own set is replaced
    assert again.returncode == 3 and validate_run_dir(out) == []


def test_the_manual_required_set_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "SUMMARY.json").write_text("my own")
    (out / "photos").mkdir()
    done = _run(tmp_path, str(tmp_path / "no-such-python"), "--live", "--out", "mine")
    assert done.returncode == 2
    assert "not a receipt set" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["SUMMARY.json", "photos"]


def test_a_bad_mode_is_exit_2(tmp_path: Path) -> None:
    done = _run(tmp_path, sys.executable, "--sideways")
    assert done.returncode == 2
    assert "usage" in done.stderr


def test_relative_paths_are_the_callers(tmp_path: Path) -> None:
    """--out and scenario paths resolve from the caller's directory, not the repository root."""
    (tmp_path / "mine").mkdir()
    shutil.copy(ROOT / "scenarios" / "release-gate.yaml", tmp_path / "mine" / "gate.yaml")
    (tmp_path / "runner").mkdir()  # a folder named like the package must not shadow it
    (tmp_path / "runner" / "__init__.py").write_text("raise SystemExit('shadowed')\n")
    done = _run(tmp_path, sys.executable, "--dry-run", "mine/gate.yaml", "--out", "rel/out")
    assert done.returncode == 0, done.stderr
    out = tmp_path / "rel" / "out"
    assert validate_run_dir(out) == []
    assert [s["file"] for s in _json(out / "SUMMARY.json")["scenarios"]] == ["mine/gate.yaml"]
    assert not (ROOT / "rel").exists() and not (ROOT / "mine").exists()


def test_without_a_path_the_repository_scenarios_run_from_anywhere(tmp_path: Path) -> None:
    done = _run(tmp_path, sys.executable, "--dry-run", "--concurrency", "2", "--out", "out")
    assert done.returncode == 0, done.stderr
    summary = _json(tmp_path / "out" / "SUMMARY.json")
    assert [s["id"] for s in summary["scenarios"]] == ["release-gate"]


def test_another_interpreter_is_never_swapped_for_the_repositorys_venv(tmp_path: Path) -> None:
    """Asked for 3.12 while .venv is another Python: never run under .venv; with no way to prepare an
    environment for 3.12 (no package index), manual-required naming what is missing."""
    python312 = _interpreter("3.12")
    if (ROOT / ".venv" / "bin" / "python").exists():
        venv = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", "import sys; print(sys.version_info[:2])"],
                              capture_output=True, text=True).stdout.strip()
        assert venv != "(3, 12)", "the test needs a .venv of another Python than 3.12"
    done = _run(tmp_path, python312, "--dry-run", "--out", "out", PIP_NO_INDEX="1", timeout=300)
    assert done.returncode == 3, done.stderr
    assert validate_run_dir(tmp_path / "out") == []
    blocker = _json(tmp_path / "out" / "BLOCKER.json")
    assert "is Python 3.12 but cannot run the runner" in blocker["guidance"][0]
    assert _json(tmp_path / "out" / "run-manifest.json")["python"] == {"implementation": "unknown", "version": "3.12"}
    assert not list((tmp_path / ".cache" / "velikey-e2e" / "envs").iterdir())  # the half-made environment is gone


@pytest.mark.slow
def test_the_runner_runs_under_the_interpreter_asked_for(tmp_path: Path) -> None:
    """An environment is prepared once for SDK_E2E_PYTHON_BIN (from PyPI) and the manifest names that Python."""
    python312 = _interpreter("3.12")
    for attempt in range(2):  # the second run reuses the prepared environment
        done = _run(tmp_path, python312, "--dry-run", "--out", "out", timeout=900)
        assert done.returncode == 0, done.stderr
        assert ("preparing an environment" in done.stderr) is (attempt == 0)
        assert _json(tmp_path / "out" / "run-manifest.json")["python"] == {"implementation": "CPython",
                                                                          "version": "3.12"}
