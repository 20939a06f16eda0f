"""Every run outcome and exit code of a run, end to end: pipeline → reference server → receipts on disk.

Each test starts its own reference server (fresh tenant, its own faults), runs the pipeline
as the CLI would, and checks the exit code, ``result``, each step's outcome and reason code,
and that the receipt set validates (the runner's validator and the raw schemas).
"""
# Fixtures come from outcome_helpers by import (no conftest.py here), so their parameters shadow the imports.
# ruff: noqa: F811

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from outcome_helpers import (  # noqa: F401  (the fixtures among them are used by name)
    GATE_PASSED,
    RELEASE_GATE,
    assert_valid_receipts,
    check_outcome,
    gate_failing_at,
    live_env,
    no_network,
    run_live,
    scenario,
)

from runner.inputs import INPUTS
from runner.pipeline import RunConfig, run
from velikey import AegisClientSync
from velikey.testing import Fault, ReferenceServer

StartServer = Callable[..., ReferenceServer]

# What a run may send before any scenario step: the credentials bootstrap, nothing else.
AUTH_ROUTES = {"GET /api/auth/csrf", "POST /api/auth/callback/credentials"}


def test_release_gate_passes_against_a_fresh_server(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    documents = check_outcome(run_live(server, out), out, exit_code=0, result="pass", expected_steps=GATE_PASSED)
    summary = documents["SUMMARY.json"]
    assert summary["mode"] == "live" and summary["readiness"] == {"ready": True, "missing_inputs": []}
    assert summary["scenarios"][0]["outcome"] == "passed"
    # Every step that made a request has its evidence file; the skipped rollback has none.
    assert {rel for rel in documents if rel.startswith("evidence/")} == {
        f"evidence/release-gate/{step}.json" for step, (outcome, _) in GATE_PASSED.items() if outcome == "passed"
    }
    state = server.state()
    assert state["ingested_bytes"] == 1048576
    assert state["effects"]["apply"] == {} and state["effects"]["rollback"] == {}


def test_a_failing_assertion_fails_the_run_and_skips_the_rest(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out, scenario("status-down.yaml")),
        out,
        exit_code=1,
        result="fail",
        expected_steps={
            "health": ("failed", "assertion_failed"),
            "policies": ("skipped", "previous_step_failed"),
            "usage": ("skipped", "previous_step_failed"),
        },
    )
    health = documents["SUMMARY.json"]["scenarios"][0]["steps"][0]
    assert [(a["path"], a["passed"], a["actual"]) for a in health["assertions"]] == [("status", False, "ok")]
    assert documents["SUMMARY.json"]["scenarios"][0]["reason_code"] == "assertion_failed"
    # The skipped steps sent nothing.
    assert server.state()["requests"] == {"GET /api/healthz": 1}


def test_critical_alerts_put_health_below_threshold(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(critical_alerts=3)
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out),
        out,
        exit_code=1,
        result="fail",
        expected_steps=gate_failing_at("score", "health_below_threshold"),
    )
    score = next(s for s in documents["SUMMARY.json"]["scenarios"][0]["steps"] if s["id"] == "score")
    assert [(a["path"], a["actual"], a["reason_code"]) for a in score["assertions"]] == [
        ("overall_score", 55, "health_below_threshold")
    ]
    assert "POST /api/rollouts/plan" not in server.state()["requests"]


def test_a_corrupted_hash_echo_is_a_payload_integrity_mismatch(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(faults=(Fault("POST /ingest", action="corrupt"),))
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out),
        out,
        exit_code=1,
        result="fail",
        expected_steps=gate_failing_at("probe", "payload_integrity_mismatch"),
    )
    probe = next(s for s in documents["SUMMARY.json"]["scenarios"][0]["steps"] if s["id"] == "probe")["probe"]
    assert probe["matched"] is False and probe["bytes"] == 1048576
    assert probe["sha256"] != probe["echo_sha256"]
    assert server.state()["faults_injected"] == {"POST /ingest": 1}


@pytest.mark.parametrize(
    ("lag_s", "exit_code", "result", "delta"),
    [(0.0, 0, "pass", ("passed", "ok")), (5.0, 1, "fail", ("failed", "metering_not_settled"))],
    ids=["settles", "lags-past-settle_s"],
)
def test_metering_must_settle_within_settle_s(
    start_server: StartServer, tmp_path: Path, lag_s: float, exit_code: int, result: str, delta: tuple[str, str]
) -> None:
    server = start_server(metering_lag_s=lag_s)
    out = tmp_path / "run"
    started = time.monotonic()
    documents = check_outcome(
        run_live(server, out, scenario("metering-short.yaml")),
        out,
        exit_code=exit_code,
        result=result,
        expected_steps={"usage-before": ("passed", "ok"), "probe": ("passed", "ok"), "delta": delta},
    )
    assert time.monotonic() - started < 4  # settle_s is 1: the run gives up long before the lag ends
    metering = documents["SUMMARY.json"]["scenarios"][0]["steps"][2]["metering"]
    assert metering["settled"] is (result == "pass")
    sent = Decimal(4096) / 1024**3
    assert abs(Decimal(metering["delta"]) - (sent if result == "pass" else 0)) < Decimal("1e-12")


def _blocker_input(name: str) -> dict[str, Any]:
    spec = INPUTS[name]
    return {"name": name, "env": list(spec.env), "flag": spec.flag, "how": spec.how}


def test_missing_inputs_block_the_run_before_any_socket(no_network: list[Any], tmp_path: Path) -> None:
    out = tmp_path / "run"
    report = run(RunConfig(paths=(RELEASE_GATE,), mode="live", out=out, env={}))
    missing = ["payload_url", "policy_id", "session"]
    documents = check_outcome(
        report,
        out,
        exit_code=3,
        result="manual-required",
        expected_steps={step: ("blocked", "auth_missing") for step in GATE_PASSED},  # session first
        run_codes=("payload_url_missing", "policy_missing"),
    )
    blocker = documents["BLOCKER.json"]
    assert blocker == report.blocker
    assert blocker["missing_inputs"] == [_blocker_input(name) for name in missing]
    assert blocker["reason_codes"] == ["auth_missing", "payload_url_missing", "policy_missing"]
    assert blocker["rerun"].startswith("velikey-e2e run --live ") and "release-gate.yaml --out " in blocker["rerun"]
    assert " /" not in blocker["rerun"]  # paths relative to the working directory, never absolute
    assert all(m["how"] and m["env"] for m in blocker["missing_inputs"])
    assert documents["SUMMARY.json"]["readiness"] == {"ready": False, "missing_inputs": missing}
    assert not (out / "evidence").exists()
    assert no_network == []


def test_a_base_url_alone_sends_the_server_nothing(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    report = run_live(server, out, env={"AXIS_BASE_URL": server.base_url})
    documents = check_outcome(
        report,
        out,
        exit_code=3,
        result="manual-required",
        expected_steps={step: ("blocked", "auth_missing") for step in GATE_PASSED},  # session first
        run_codes=("payload_url_missing", "policy_missing"),
    )
    assert [m["name"] for m in documents["BLOCKER.json"]["missing_inputs"]] == ["payload_url", "policy_id", "session"]
    assert server.state()["requests"] == {}


def test_a_stale_auth_schema_blocks_before_any_scenario_step(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(auth_schema="stale")
    config = server.config
    env = {**live_env(server), "AXIS_AUTH_EMAIL": config.email, "AXIS_AUTH_PASSWORD": config.password}
    del env["AXIS_SESSION_COOKIE"]
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out, env=env),
        out,
        exit_code=3,
        result="manual-required",
        expected_steps={step: ("blocked", "axis_auth_schema_mismatch") for step in GATE_PASSED},
    )
    blocker = documents["BLOCKER.json"]
    assert blocker["reason_codes"] == ["axis_auth_schema_mismatch"] and blocker["missing_inputs"] == []
    assert blocker["guidance"]
    # The bootstrap was tried (and stopped at the first answer of the wrong shape); no scenario step was sent.
    requests = server.state()["requests"]
    assert "GET /api/auth/csrf" in requests and set(requests) <= AUTH_ROUTES, requests
    assert documents["run-manifest.json"]["auth_source"] == "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"
    text = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    assert config.password not in text


def test_a_real_apply_is_blocked_without_confirm(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out, scenario("apply-for-real.yaml")),
        out,
        exit_code=3,
        result="manual-required",
        expected_steps={
            "plan": ("passed", "ok"),
            "apply": ("blocked", "confirmation_required"),
            "health": ("skipped", "previous_step_failed"),
        },
    )
    assert documents["BLOCKER.json"]["reason_codes"] == ["confirmation_required"]
    apply = documents["SUMMARY.json"]["scenarios"][0]["steps"][1]
    assert apply["request"]["method"] == "POST" and apply["evidence"] is None
    state = server.state()
    assert "POST /api/rollouts/apply" not in state["requests"] and state["effects"]["apply"] == {}


def test_a_real_apply_runs_once_with_confirm(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    documents = check_outcome(
        run_live(server, out, scenario("apply-for-real.yaml"), confirm=True),
        out,
        exit_code=0,
        result="pass",
        expected_steps={"plan": ("passed", "ok"), "apply": ("passed", "ok"), "health": ("passed", "ok")},
    )
    assert documents["run-manifest.json"]["options"]["confirm"] is True
    effects = server.state()["effects"]["apply"]
    assert len(effects) == 1 and list(effects.values()) == [{"effects": 1, "replays": 0}]
    # The rollback token the apply handed out is a secret: it stays out of every receipt.
    evidence = (out / "evidence" / "apply-for-real" / "apply.json").read_text(encoding="utf-8")
    assert "rbk-" not in evidence


def test_dry_run_needs_no_credentials_and_opens_no_socket(no_network: list[Any], tmp_path: Path) -> None:
    out = tmp_path / "run"
    paths = (RELEASE_GATE, scenario("apply-for-real.yaml"))
    report = run(RunConfig(paths=paths, mode="dry-run", out=out, env={}))
    documents = check_outcome(
        report,
        out,
        exit_code=0,
        result="planned",
        scenario_id="release-gate",
        expected_steps={step: ("planned", "dry_run_planned") for step in GATE_PASSED},
    )
    summary = documents["SUMMARY.json"]
    assert steps_planned(summary) == {("apply-for-real", s): "dry_run_planned" for s in ("plan", "apply", "health")} | {
        ("release-gate", s): "dry_run_planned" for s in GATE_PASSED
    }
    assert summary["reason_codes"] == ["dry_run_planned"]
    assert summary["readiness"] == {"ready": False, "missing_inputs": ["payload_url", "policy_id", "session"]}
    assert all(step["request"] for sc in summary["scenarios"] for step in sc["steps"])
    assert no_network == [] and not (out / "evidence").exists()


def test_the_socket_guard_would_catch_a_live_run(
    no_network: list[Any], shared_server: ReferenceServer, tmp_path: Path
) -> None:
    """The dry-run test above proves something: with the same guard, a live run cannot reach the server."""
    out = tmp_path / "run"
    check_outcome(
        run_live(shared_server, out, scenario("usage-only.yaml"), max_retries=0),
        out,
        exit_code=1,
        result="fail",
        expected_steps={
            "health": ("failed", "network_error"),
            "usage": ("skipped", "previous_step_failed"),
            "policies": ("skipped", "previous_step_failed"),
        },
    )
    assert no_network


def steps_planned(summary: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (sc["id"], step["id"]): step["reason_code"]
        for sc in summary["scenarios"]
        for step in sc["steps"]
        if step["outcome"] == "planned"
    }


def test_the_deadline_ends_a_hung_run_with_valid_receipts(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server(faults=(Fault("GET /api/usage/summary", action="hang"),))
    out = tmp_path / "run"
    started = time.monotonic()
    report = run_live(server, out, scenario("usage-only.yaml"), deadline=1, request_timeout=30)
    assert time.monotonic() - started < 5
    check_outcome(
        report,
        out,
        exit_code=1,
        result="fail",
        expected_steps={
            "health": ("passed", "ok"),
            "usage": ("failed", "timeout"),
            "policies": ("skipped", "previous_step_failed"),
        },
    )


def _rollback_token(server: ReferenceServer) -> str:
    """Apply a plan for real outside the run, as an operator would have, and return its rollback token."""
    env = live_env(server)
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url, env={}) as client:
        plan = client.rollouts.plan(env["AEGIS_POLICY_ID"], 10, 60, dry_run=False)
        applied = client.rollouts.apply(plan["data"]["plan_id"], idempotency_key="operator-apply-1", dry_run=False)
    token: str = applied["data"]["rollbackToken"]
    return token


@pytest.mark.parametrize("confirm", [False, True], ids=["without-confirm", "with-confirm"])
def test_the_gate_s_rollback_step_needs_confirm_and_keeps_its_token_secret(
    start_server: StartServer, tmp_path: Path, confirm: bool
) -> None:
    server = start_server()
    token = _rollback_token(server)
    out = tmp_path / "run"
    env = {**live_env(server), "AEGIS_ROLLBACK_TOKEN": token}
    expected = dict(GATE_PASSED, rollback=("passed", "ok"))
    if not confirm:
        expected.update(rollback=("blocked", "confirmation_required"))
        expected.update(
            probe=("skipped", "previous_step_failed"), **{"telemetry-delta": ("skipped", "previous_step_failed")}
        )
    documents = check_outcome(
        run_live(server, out, env=env, confirm=confirm),
        out,
        exit_code=0 if confirm else 3,
        result="pass" if confirm else "manual-required",
        expected_steps=expected,
    )
    assert documents["run-manifest.json"]["inputs"]["rollback_token"]["value"] is None
    assert not any(token in p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    rollbacks = server.state()["effects"]["rollback"]
    assert [entry["effects"] for entry in rollbacks.values()] == ([1] if confirm else [])


def test_a_rerun_into_the_same_out_dir_leaves_no_stale_receipts(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    out = tmp_path / "run"
    run(RunConfig(paths=(RELEASE_GATE,), mode="live", out=out, env={}))
    assert "BLOCKER.json" in assert_valid_receipts(out)
    check_outcome(run_live(server, out), out, exit_code=0, result="pass", expected_steps=GATE_PASSED)
    usage = scenario("usage-only.yaml")
    check_outcome(
        run_live(server, out, usage),
        out,
        exit_code=0,
        result="pass",
        expected_steps={"health": ("passed", "ok"), "usage": ("passed", "ok"), "policies": ("passed", "ok")},
    )
    assert sorted(p.name for p in (out / "evidence").iterdir()) == ["usage-only"]
