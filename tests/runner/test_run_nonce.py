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

import pytest
from golden_helpers import assert_same_receipts, read_set
from outcome_helpers import HERE, RELEASE_GATE, assert_valid_receipts

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


# --- the run nonce -------------------------------------------------------------------------------------

APPLY, INGEST = "POST /api/rollouts/apply", "POST /ingest"


def _live(server: ReferenceServer, out: Path | None, *args: str, env: Mapping[str, str] = {},
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return velikey_e2e("run", RELEASE_GATE, "--live", *(["--out", str(out)] if out is not None else []), *args,
                       env={**server.live_env(), **env}, cwd=cwd)


def _manifest(out: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = _json(out / "run-manifest.json")
    return manifest


def _reasons(out: Path) -> list[str]:
    codes: list[str] = _json(out / RESULT)["reason_codes"]
    return codes


def test_two_runs_against_one_tenant_without_a_run_id_are_two_runs(start_server: StartServer,
                                                                  tmp_path: Path) -> None:
    server = start_server()
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        done = _live(server, out)
        assert done.returncode == 0, done.stdout + done.stderr
    state = server.state()
    assert state["requests"][APPLY] == 2 and state["requests"][INGEST] == 2, state
    # Two probes under two keys, each metered once and neither a replay.
    assert list(state["effects"]["ingest"].values()) == [{"effects": 1, "replays": 0}] * 2, state
    assert state["ingested_bytes"] == 2 * 1048576
    nonces = [_manifest(out)["run_nonce"] for out in (first, second)]
    assert [n["source"] for n in nonces] == ["random", "random"] and nonces[0]["value"] != nonces[1]["value"]
    assert _manifest(first)["run_id"] != _manifest(second)["run_id"]
    for out in (first, second):
        assert "replayed_evidence" not in _reasons(out)
        assert "replayed" not in (out / "SUMMARY.md").read_text(encoding="utf-8").lower()


def test_the_same_run_id_against_two_fresh_servers_writes_the_same_bytes(tmp_path: Path) -> None:
    """Fresh tenants on one address (the base URL is an input, so it shapes the ids too)."""
    sets, port = [], 0
    for name in ("a", "b"):
        out = tmp_path / name
        with ReferenceServer(port=port) as server:
            port = int(server.base_url.rsplit(":", 1)[1])
            done = _live(server, out, "--run-id", "rel-2026.12_1")
        assert done.returncode == 0, done.stdout + done.stderr
        sets.append(read_set(out))
    assert_same_receipts(sets[0], sets[1], expected_label="a", actual_label="b")
    manifest = json.loads(sets[0]["run-manifest.json"])
    assert manifest["run_id"] == "rel-2026.12_1"
    assert manifest["run_nonce"] == {"value": "rel-2026.12_1", "source": "flag"}


def test_the_run_id_names_the_default_run_directory_and_the_env_variable_sets_it(start_server: StartServer,
                                                                                 tmp_path: Path) -> None:
    server = start_server()
    done = _live(server, None, env={"VELIKEY_E2E_RUN_ID": "nightly-7"}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run: nightly-7" in done.stdout.splitlines()[0]
    out = tmp_path / "receipts" / "live-nightly-7"
    assert _manifest(out)["run_nonce"] == {"value": "nightly-7", "source": "env"}
    assert assert_valid_receipts(out)["SUMMARY.json"]["run_id"] == "nightly-7"


@pytest.mark.parametrize(("ci", "nonce"), [
    ({"GITHUB_RUN_ID": "12345", "GITHUB_RUN_ATTEMPT": "3"}, {"value": "12345-3", "source": "github"}),
    ({"CI_PIPELINE_ID": "880", "CI_JOB_ID": "4411"}, {"value": "880-4411", "source": "gitlab"}),
])
def test_a_ci_run_takes_the_ci_run_identity_as_its_nonce(shared_server: ReferenceServer, tmp_path: Path,
                                                         ci: dict[str, str], nonce: dict[str, str]) -> None:
    # A scenario that only reads, so the shared tenant stays as every other test expects it.
    out = tmp_path / "ci"
    done = velikey_e2e("run", HERE / "usage-only.yaml", "--live", "--out", out, env={**shared_server.live_env(), **ci})
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = _manifest(out)
    assert manifest["run_nonce"] == nonce
    assert manifest["run_id"].startswith("run-")


@pytest.mark.parametrize("fixed", [["--dry-run"], ["--live", "--embedded"]])
def test_a_dry_run_and_an_embedded_run_use_the_fixed_nonce_even_in_ci(tmp_path: Path, fixed: list[str]) -> None:
    out = tmp_path / "run"
    done = velikey_e2e("run", RELEASE_GATE, *fixed, "--out", out, env={"GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert _manifest(out)["run_nonce"] == {"value": "fixed", "source": "fixed"}


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--run-id", "../../etc"], {}, "--run-id"),
    (["--run-id", ""], {}, "--run-id"),
    (["--run-id", "a b"], {}, "--run-id"),
    (["--run-id", "x" * 65], {}, "--run-id"),
    ([], {"VELIKEY_E2E_RUN_ID": "-dash"}, "VELIKEY_E2E_RUN_ID"),
    ([], {"GITHUB_RUN_ID": "1;rm", "GITHUB_RUN_ATTEMPT": "1"}, "GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT"),
])
def test_a_bad_run_id_is_exit_2_with_one_line_and_no_request(start_server: StartServer, tmp_path: Path,
                                                             args: list[str], env: dict[str, str], named: str) -> None:
    server = start_server()
    out = tmp_path / "run"
    done = _live(server, out, *args, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {named}: ") and "is not a run id" in lines[0], lines
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert server.state()["requests"] == {}
    assert not out.exists()
