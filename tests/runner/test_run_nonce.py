"""Fresh runs, replays and the dry-run verdict, from outside: the installed CLI against reference servers.

A rerun against one tenant is a new run (new keys, new effects, new probes) unless the caller pins
``--run-id``; then the tenant's replays are ``replayed_evidence`` and prove nothing. A dry-run's
verdict is ``planned``, never ``pass``. Every run here is a real ``velikey-e2e`` process with the CI
variables scrubbed from its environment, so the machine running the tests cannot change a nonce.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from outcome_helpers import RELEASE_GATE, assert_valid_receipts

from velikey.testing import ReferenceServer

StartServer = Callable[..., ReferenceServer]
CLI = Path(sys.executable).with_name("velikey-e2e")
# What the runner reads (inputs, its own options, the CI's run identity): never inherited from this shell.
_SCRUBBED = ("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_", "GITHUB_", "CI_", "SOURCE_DATE_EPOCH")
RESULT = "python-sdk-e2e-result.json"


def _env(extra: Mapping[str, str] = {}) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    return {**env, "TZ": "UTC", "LC_ALL": "C.UTF-8", **extra}


def velikey_e2e(*args: str | Path, env: Mapping[str, str] = {}, cwd: Path | None = None
                ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *(str(a) for a in args)], env=_env(env), cwd=cwd, capture_output=True,
                          encoding="utf-8", errors="replace", timeout=120, check=False)


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- a dry-run is planned, not pass -------------------------------------------------------------------


def test_a_dry_run_says_planned_in_every_receipt_and_on_stdout_and_exits_0(tmp_path: Path) -> None:
    out = tmp_path / "dry"
    done = velikey_e2e("run", RELEASE_GATE, "--dry-run", "--out", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("result: planned  mode: dry-run"), done.stdout
    documents = assert_valid_receipts(out)
    assert documents[RESULT]["result"] == documents["SUMMARY.json"]["result"] == "planned"
    assert documents[RESULT]["exit_code"] == 0
    assert "- Result: **planned**" in (out / "SUMMARY.md").read_text(encoding="utf-8")
