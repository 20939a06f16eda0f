"""The ``velikey-e2e`` command line as a user meets it: exit codes, messages, help, lint, validate, reasons.

Most tests drive ``runner.cli.cli`` through click's ``CliRunner``; the ones that must see a
real process (no traceback on stderr, Ctrl-C) run ``python -m runner``.
"""
# Fixtures come from outcome_helpers by import (no conftest.py here), so their parameters shadow the imports.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from outcome_helpers import (  # noqa: F401  (the fixtures among them are used by name)
    GATE_PASSED,
    HERE,
    RELEASE_GATE,
    REPO,
    assert_valid_receipts,
    live_env,
    scenario,
    steps,
)

from runner.cli import cli
from runner.inputs import INPUTS
from runner.reasons import CATALOG
from velikey.testing import Fault, ReferenceServer

StartServer = Callable[..., ReferenceServer]

# Every env variable the runner reads as an input, unset for each CliRunner call: the
# developer's own shell must not leak into these tests.
_UNSET: dict[str, str | None] = {name: None for spec in INPUTS.values() for name in spec.env}
_UNSET["SOURCE_DATE_EPOCH"] = None
_LOCATED = re.compile(r"^(?:error: )?(?P<file>\S+\.ya?ml):(?P<line>\d+): (?P<field>[^:]+): (?P<message>.+)$")


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env={**_UNSET, **(env or {})}, catch_exceptions=False)


def _options(command: click.Command) -> list[str]:
    return [opt for param in command.params for opt in param.opts if opt.startswith("--")]


def _help_text(*args: str) -> str:
    result = invoke(*args, "--help")
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


# run ---------------------------------------------------------------------------------------------


def test_run_needs_a_mode(tmp_path: Path) -> None:
    result = invoke("run", RELEASE_GATE, "--out", tmp_path / "run")
    assert result.exit_code == 2
    assert "choose --dry-run or --live" in result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("order", [("--live", "--dry-run"), ("--dry-run", "--live")])
def test_run_refuses_both_modes(tmp_path: Path, order: tuple[str, str]) -> None:
    result = invoke("run", RELEASE_GATE, *order, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("mode", ["--dry-run", "--live"])
def test_a_bad_scenario_is_exit_2_with_file_line_field_and_no_receipts(tmp_path: Path, mode: str) -> None:
    out = tmp_path / "run"
    result = invoke("run", HERE / "bad" / "broken.yaml", mode, "--out", out)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    located = _LOCATED.match(lines[0])
    assert located, lines[0]
    assert located["file"].endswith("broken.yaml") and located["line"] == "7"
    assert located["field"] == "steps[1].call" and "billing.get_usages" in located["message"]
    assert "Traceback" not in result.output
    assert not out.exists()


def test_a_bad_scenario_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    process = subprocess.run(
        [sys.executable, "-m", "runner", "run", str(HERE / "bad"), "--dry-run", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert process.returncode == 2
    assert process.stdout == ""
    assert "Traceback" not in process.stderr
    assert [bool(_LOCATED.match(line)) for line in process.stderr.strip().splitlines()] == [True]
    assert not out.exists()


def test_an_unknown_flag_is_exit_2(tmp_path: Path) -> None:
    result = invoke("run", "--dry-run", "--no-such-flag", "--out", tmp_path / "run")
    assert result.exit_code == 2 and "--no-such-flag" in result.stderr
    assert not (tmp_path / "run").exists()


def test_live_run_from_the_command_line_passes(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    result = invoke("run", RELEASE_GATE, "--live", "--out", out, env=live_env(server))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("result: pass  mode: live")
    assert f"receipts: {out}" in result.stdout
    documents = assert_valid_receipts(out)
    assert steps(documents["SUMMARY.json"]) == GATE_PASSED


def test_flags_override_env_inputs(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    env = {
        "AXIS_SESSION_COOKIE": server.session_cookie,
        "AXIS_BASE_URL": "http://127.0.0.1:9",
        "AEGIS_POLICY_ID": "pol-nope",
    }
    result = invoke(
        "run",
        RELEASE_GATE,
        "--live",
        "--out",
        out,
        "--base-url",
        server.base_url,
        "--policy-id",
        server.first_active_policy_id,
        "--payload-url",
        server.payload_url,
        env=env,
    )
    assert result.exit_code == 0, result.output
    inputs = assert_valid_receipts(out)["run-manifest.json"]["inputs"]
    assert inputs["policy_id"] == {
        "provided": True,
        "source": "flag:--policy-id",
        "value": server.first_active_policy_id,
    }


def test_missing_inputs_from_the_command_line_write_a_blocker_with_a_rerun_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke("run", RELEASE_GATE, "--live", "--out", out)
    assert result.exit_code == 3, result.output
    blocker = assert_valid_receipts(out)["BLOCKER.json"]
    assert [m["name"] for m in blocker["missing_inputs"]] == ["payload_url", "policy_id", "session"]
    for missing in blocker["missing_inputs"]:
        assert missing["env"] == list(INPUTS[missing["name"]].env) and missing["how"]
        assert missing["flag"] == INPUTS[missing["name"]].flag
    assert blocker["rerun"].startswith("velikey-e2e run --live ") and "release-gate.yaml" in blocker["rerun"]
    # The verdict tells the user the same, with the command to rerun.
    assert "manual action required (BLOCKER.json)" in result.stdout
    assert f"then rerun: {blocker['rerun']}" in result.stdout


def test_ctrl_c_during_a_live_run_is_exit_130_with_complete_receipts(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", action="hang"),))
    out = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k not in _UNSET} | live_env(server)
    process = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", str(scenario("usage-only.yaml")), "--live", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        waited = time.monotonic() + 30
        while "GET /api/usage/summary" not in server.state()["requests"]:
            assert process.poll() is None and time.monotonic() < waited, "the run never reached the hung request"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    documents = assert_valid_receipts(out)
    assert steps(documents["SUMMARY.json"]) == {
        "health": ("passed", "ok"),
        "usage": ("failed", "interrupted"),
        "policies": ("skipped", "previous_step_failed"),
    }
    assert "interrupted" in documents["python-sdk-e2e-result.json"]["reason_codes"]


# validate ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dry_run_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dry run for the module; the tests below damage copies of it."""
    out = tmp_path_factory.mktemp("dry-run") / "run"
    assert invoke("run", RELEASE_GATE, "--dry-run", "--out", out).exit_code == 0
    assert_valid_receipts(out)
    return out


@pytest.fixture
def dry_run_dir(dry_run_set: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(dry_run_set, tmp_path / "run"))


def test_validate_accepts_an_untouched_set(dry_run_dir: Path) -> None:
    result = invoke("validate", dry_run_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"valid: {dry_run_dir}"


@pytest.mark.parametrize("where", ["value", "structure", "utf-8"])
def test_validate_names_the_file_with_a_flipped_byte(dry_run_dir: Path, where: str) -> None:
    path = dry_run_dir / "SUMMARY.json"
    raw = bytearray(path.read_bytes())
    at = {"value": raw.index(b'"dry_run_planned"') + 1, "structure": 0, "utf-8": raw.index(b'"run_id"') + 1}[where]
    raw[at] ^= {"value": 0x01, "structure": 0x01, "utf-8": 0x80}[where]
    path.write_bytes(bytes(raw))
    result = invoke("validate", dry_run_dir)
    assert result.exit_code == 1
    problems = result.stderr.strip().splitlines()
    assert problems and all(line.startswith("invalid: ") for line in problems)
    assert any("SUMMARY.json" in line for line in problems), problems
    assert "Traceback" not in result.output


def test_validate_notices_a_missing_file(dry_run_dir: Path) -> None:
    (dry_run_dir / "SUMMARY.md").unlink()
    result = invoke("validate", dry_run_dir)
    assert result.exit_code == 1 and "SUMMARY.md" in result.stderr


# lint --------------------------------------------------------------------------------------------


def test_lint_accepts_good_files() -> None:
    good = [RELEASE_GATE, *sorted(HERE.glob("*.yaml"))]
    result = invoke("lint", *good)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")


def test_lint_reports_a_bad_file_with_its_line() -> None:
    result = invoke("lint", RELEASE_GATE, HERE / "bad" / "broken.yaml")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and _LOCATED.match(lines[0]), lines
    assert ":7: steps[1].call: " in lines[0]


# reasons and help --------------------------------------------------------------------------------


def test_reasons_lists_every_code() -> None:
    result = invoke("reasons")
    assert result.exit_code == 0
    rows = result.stdout.strip().splitlines()[1:]
    listed = {row.split()[0]: row.split()[1] for row in rows}
    assert listed == {code: reason.category for code, reason in CATALOG.items()}


def test_reasons_json_lists_every_code_as_the_checked_in_catalog() -> None:
    result = invoke("reasons", "--json")
    assert result.exit_code == 0
    document: dict[str, Any] = json.loads(result.stdout)
    assert {c["code"]: c["category"] for c in document["codes"]} == {
        code: reason.category for code, reason in CATALOG.items()
    }
    assert all(c["meaning"] and c["remediation"] for c in document["codes"])
    checked_in = json.loads((REPO / "schemas" / "reason-codes.json").read_text(encoding="utf-8"))
    assert document == checked_in


def test_the_design_s_reason_codes_are_all_catalogued() -> None:
    design = {
        "ok",
        "dry_run_planned",
        "auth_missing",
        "auth_invalid",
        "auth_forbidden",
        "axis_auth_schema_mismatch",
        "policy_missing",
        "payload_url_missing",
        "python_runtime_unsupported",
        "confirmation_required",
        "assertion_failed",
        "health_below_threshold",
        "payload_integrity_mismatch",
        "metering_delta_mismatch",
        "metering_not_settled",
        "not_found",
        "conflict",
        "rate_limited",
        "server_error",
        "timeout",
        "network_error",
        "tls_error",
        "invalid_response",
        "input_not_provided",
        "previous_step_failed",
        "scenario_invalid",
        "interrupted",
    }
    assert design <= set(CATALOG)


@pytest.mark.parametrize("command", ["run", "serve", "validate", "lint", "reasons", "demo"])
def test_help_mentions_every_option(command: str) -> None:
    text = _help_text(command)
    options = _options(cli.commands[command])  # type: ignore[attr-defined]
    assert options or command in ("validate", "lint")
    for option in options:
        assert option in text, option


def test_run_help_shows_the_modes_and_exit_codes() -> None:
    assert "--dry-run" in _help_text("run") and "--live" in _help_text("run")
    top = _help_text()
    assert "0 pass, 1 fail, 2 invalid input, 3 manual-required" in top and "130 interrupted" in top
    assert "--critical-alerts" in _help_text("serve")
