"""The installed ``velikey-e2e`` in a child process, with an environment nothing of this machine leaks into."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

CLI = Path(sys.executable).with_name("velikey-e2e")
REPO = Path(__file__).resolve().parents[2]
RELEASE_GATE = REPO / "scenarios" / "release-gate.yaml"
# What the runner or a CI reads: a developer's shell or the CI running these tests must not leak in.
_PREFIXES = ("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_", "SOURCE_DATE_EPOCH", "GITHUB_", "CI", "GITLAB_")


def cli(*args: str | Path, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``velikey-e2e ARGS`` as a user would; ``env`` is added to a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env={**base, "TZ": "UTC", **(env or {})},
                          capture_output=True, encoding="utf-8", errors="replace", timeout=120, check=False)
