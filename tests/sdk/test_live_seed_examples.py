"""The seed's code examples, verbatim, run as scripts against a live reference server.

Each example is a file under ``seed_examples/`` whose code is byte-for-byte the seed's
(guarded by a digest in its header); only the environment points it at the server. This
is the promise "the seed's examples run unchanged against the SDK", tested end to end in
a fresh interpreter, as a user would run them.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from velikey import AegisClient
from velikey.testing import ReferenceServer

EXAMPLES = Path(__file__).parent / "seed_examples"
MINIMAL = EXAMPLES / "minimal_working_example.py"
PRODUCTION = EXAMPLES / "production_pattern.py"
CANARY = EXAMPLES / "canary_rollout_dry_run.py"
# Inherited settings that would change what the example does: auth and inputs, and proxies.
_DROP_PREFIXES = ("AXIS_", "AEGIS_", "VELIKEY_", "SDK_E2E_")
_DROP_NAMES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def example_env(**values: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_DROP_PREFIXES) and name.lower() not in _DROP_NAMES
    }
    env["PYTHONWARNINGS"] = "error"  # the examples must run cleanly, not just succeed
    env.update(values)
    return env


def run_example(path: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)],
        env=example_env(**env),
        cwd=cwd,  # not the repo: the example must find the SDK as an installed package
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def server_env(server: ReferenceServer) -> dict[str, str]:
    return {
        "AXIS_BASE_URL": server.base_url,
        "AXIS_SESSION_COOKIE": server.session_cookie,
        "AEGIS_POLICY_ID": server.first_active_policy_id,
    }


@pytest.mark.parametrize("path", [MINIMAL, PRODUCTION, CANARY], ids=lambda p: p.stem)
def test_example_is_verbatim_from_the_seed(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # The header is the leading comment lines (provenance, digest, lint/format pragmas); the seed's code follows.
    count = next(index for index, line in enumerate(lines) if not line.startswith("#"))
    header, body = "".join(lines[:count]), "".join(lines[count:])
    assert "# fmt: off" in header, "without it `make fmt` would reformat the seed's code"
    recorded = re.search(r"sha256: ([0-9a-f]{64})", header)
    assert recorded is not None
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    assert digest == recorded.group(1), f"{path.name} was edited; restore the seed's code"


def test_minimal_working_example(shared_server: ReferenceServer, tmp_path: Path) -> None:
    done = run_example(MINIMAL, tmp_path, **server_env(shared_server))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["health: ok", "policies: 2", "telemetry_gb: 12.5"]


def test_minimal_working_example_with_a_bare_cookie_value(shared_server: ReferenceServer, tmp_path: Path) -> None:
    env = {**server_env(shared_server), "AXIS_SESSION_COOKIE": shared_server.config.session_token}
    done = run_example(MINIMAL, tmp_path, **env)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["health: ok", "policies: 2", "telemetry_gb: 12.5"]


def test_production_pattern(shared_server: ReferenceServer, tmp_path: Path) -> None:
    done = run_example(PRODUCTION, tmp_path, **server_env(shared_server))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["overall_score: 100"]


def test_production_pattern_reports_a_typed_error_without_the_cookie(
    shared_server: ReferenceServer, tmp_path: Path
) -> None:
    canary = "seed-example-wrong-cookie-7c41e0"
    done = run_example(PRODUCTION, tmp_path, **{**server_env(shared_server), "AXIS_SESSION_COOKIE": canary})
    assert done.returncode == 1
    (line,) = done.stdout.splitlines()
    assert line.startswith("sdk_error: GET /api/usage/summary failed status=401")
    assert "velikey.exceptions.AuthenticationError" in done.stderr
    assert canary not in done.stdout + done.stderr


def test_canary_rollout_dry_run_without_rollback_token(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    server = start_server()
    done = run_example(CANARY, tmp_path, **server_env(server))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["apply_dry_run: True"]
    state = server.state()
    assert state["requests"]["POST /api/rollouts/plan"] == 1
    assert state["requests"]["POST /api/rollouts/apply"] == 1
    assert state["effects"]["apply"] == {}, "a dry-run apply has no effect"
    assert "POST /api/rollouts/rollback" not in state["requests"]


def test_canary_rollout_with_a_rollback_token_from_a_confirmed_apply(
    start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    server = start_server()

    async def confirmed_apply() -> str:
        async with AegisClient(session_cookie=server.session_cookie, base_url=server.base_url) as client:
            plan = await client.rollouts.plan(server.first_active_policy_id, canary_percent=10, dry_run=False)
            applied = await client.rollouts.apply(plan["data"]["plan_id"], dry_run=False)
        assert applied["data"]["applied"] is True
        token: str = applied["data"]["rollbackToken"]
        return token

    token = asyncio.run(confirmed_apply())
    done = run_example(CANARY, tmp_path, **server_env(server), AEGIS_ROLLBACK_TOKEN=token)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == ["apply_dry_run: True", "rollback_dry_run: True"]
    effects = server.state()["effects"]
    assert len(effects["apply"]) == 1 and len(effects["rollback"]) == 1
    assert [entry["effects"] for entry in effects["rollback"].values()] == [1]
