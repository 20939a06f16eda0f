"""Preflight decides blockers and hands the redactor's material on as data, without sending a step."""

from __future__ import annotations

import asyncio
from pathlib import Path

from runner.config import RunConfig
from runner.preflight import Preflight, preflight
from runner.scenario.load import Planned, ScenarioFile, load_source

NEEDS = """
id: gate
title: Gate
needs: [session, policy_id]
steps:
  - id: health
    call: get_health
"""


def _planned() -> Planned:
    scenario, errors = load_source(NEEDS.encode(), "gate.yaml")
    assert scenario is not None, errors
    return Planned(scenario, ScenarioFile("gate.yaml", "ab" * 32, Path("/x/gate.yaml"), "x/gate.yaml"))


def _preflight(mode: str, env: dict[str, str], flags: dict[str, str | None] | None = None) -> Preflight:
    config = RunConfig(paths=(Path("x"),), mode=mode, env=env, flags=flags or {})
    return asyncio.run(preflight(config, [_planned()], None))


def test_a_dry_run_opens_no_client_and_blocks_nothing() -> None:
    pre = _preflight("dry-run", {"VELIKEY_API_KEY": "vk-secret-1234"})
    assert pre.client is None and not pre.blocked and not pre.live
    assert pre.missing == ("policy_id",) and pre.auth_header == "Authorization"
    assert pre.scenario_files == ({"id": "gate", "file": "x/gate.yaml", "sha256": f"sha256:{'ab' * 32}"},)
    assert "vk-secret-1234" in pre.secrets and "vk-secret-1234" not in repr(pre)


def test_a_live_run_missing_inputs_is_blocked_with_every_missing_inputs_code() -> None:
    pre = _preflight("live", {}, {"rollback_token": "tok-rollback-1"})
    assert pre.blocked and not pre.live and pre.client is None
    assert pre.missing == ("policy_id", "session")
    assert pre.blocker_codes == ("policy_missing", "auth_missing")
    assert "tok-rollback-1" not in repr(pre)


def test_the_plan_digest_ignores_secrets_but_not_visible_inputs() -> None:
    one = _preflight("dry-run", {"AXIS_SESSION_COOKIE": "c-1111"}, {"policy_id": "pol-1"})
    other_secret = _preflight("dry-run", {"AXIS_SESSION_COOKIE": "c-2222"}, {"policy_id": "pol-1"})
    other_policy = _preflight("dry-run", {"AXIS_SESSION_COOKIE": "c-1111"}, {"policy_id": "pol-2"})
    assert one.ids == other_secret.ids != other_policy.ids
    assert one.shown["session"] == {"provided": True, "source": "env:AXIS_SESSION_COOKIE", "value": None}
    assert one.urls == {"https://axis.velikey.com": "AXIS_BASE_URL", "": "SDK_E2E_PAYLOAD_URL"}
