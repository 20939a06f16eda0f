"""``serve``: documented options, usage errors without tracebacks, and a real run until Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from velikey.testing import serve_command

OPTIONS = [
    "--host",
    "--port",
    "--session-token",
    "--api-key",
    "--email",
    "--password",
    "--auth-schema",
    "--metering-lag-s",
    "--critical-alerts",
    "--client-id",
    "--client-secret",
    "--token-ttl-s",
    "--sse-interval-s",
    "--faults",
    "--seed",
]


def test_help_documents_every_option() -> None:
    result = CliRunner().invoke(serve_command, ["--help"])
    assert result.exit_code == 0
    for option in OPTIONS:
        assert option in result.output
    documented = {opt for param in serve_command.params for opt in param.opts if getattr(param, "help", None)}
    assert documented >= set(OPTIONS)
    assert sorted(o for p in serve_command.params for o in p.opts if o.startswith("--")) == sorted(OPTIONS)


def test_a_bad_fault_file_is_a_usage_error(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("- match: GET /api/healthz\n  action: explode\n", encoding="utf-8")
    result = CliRunner().invoke(serve_command, ["--faults", str(faults)])
    assert result.exit_code == 2
    assert f"{faults}:2: rule 1: field 'action'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--faults", "/nonexistent/faults.yaml"],
        ["--auth-schema", "legacy"],
        ["--metering-lag-s", "-1"],
        ["--token-ttl-s", "-1"],
        ["--sse-interval-s", "61"],
        ["--client-secret", "has spaces"],
        ["--port", "70000"],
        ["--session-token", "two words"],
    ],
)
def test_bad_options_exit_2_without_a_traceback(args: list[str]) -> None:
    result = CliRunner().invoke(serve_command, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)


def test_module_serves_until_interrupted(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text('- {match: "GET /api/alerts", status: 500}\n', encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "velikey.testing", "--seed", "0", "--faults", str(faults), "--api-key", "cli-key"]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().rstrip("\n").split(": ", 1) for _ in range(12))
        assert printed["base_url"].startswith("http://127.0.0.1:")
        assert printed["payload_url"] == printed["base_url"] + "/ingest"
        assert printed["session_cookie"] == "next-auth.session-token=ref-session-token-0"
        assert (printed["api_key"], printed["email"], printed["password"]) == (
            "cli-key",
            "owner@example.com",
            "reference-password",
        )
        assert printed["policy_id"].startswith("pol-") and printed["faults"] == "1"
        assert printed["token_url"] == printed["base_url"] + "/api/oauth/token"
        assert (printed["client_id"], printed["client_secret"]) == ("ref-client-0", "ref-client-secret-0")
        headers = {"Authorization": "Bearer cli-key"}
        with httpx.Client(base_url=printed["base_url"], headers=headers, trust_env=False, timeout=5) as http:
            assert http.get("/api/healthz").status_code == 200
            assert http.get("/api/alerts").status_code == 500
            assert http.get("/api/policies").json()["policies"][0]["id"] == printed["policy_id"]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave the process (and its pipes) behind for the next test
            process.communicate()
            raise
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
