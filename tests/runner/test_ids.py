"""Run ids, request ids and idempotency keys are digests of the plan: stable, mode-aware only where meant."""

from __future__ import annotations

import re

from runner.ids import RunIds

PLAN = {"scenarios": [{"id": "gate", "file": "scenarios/gate.yaml", "sha256": "sha256:00"}], "confirm": False}


def test_ids_are_a_pure_function_of_the_plan_and_ignore_key_order() -> None:
    again = {"confirm": False, "scenarios": [{"sha256": "sha256:00", "file": "scenarios/gate.yaml", "id": "gate"}]}
    assert RunIds.for_plan(PLAN, "live") == RunIds.for_plan(again, "live")
    assert RunIds.for_plan(PLAN, "live").run_id != RunIds.for_plan({**PLAN, "confirm": True}, "live").run_id


def test_the_run_id_names_the_mode_but_request_ids_and_keys_do_not() -> None:
    dry, live = RunIds.for_plan(PLAN, "dry-run"), RunIds.for_plan(PLAN, "live")
    assert dry.run_id != live.run_id
    # A dry-run shows the very ids a live run with the same inputs sends.
    assert dry.request_id("gate", "plan") == live.request_id("gate", "plan")
    assert dry.idempotency_key("gate", "plan") == live.idempotency_key("gate", "plan")


def test_ids_differ_per_step_and_purpose_and_have_fixed_shapes() -> None:
    ids = RunIds.for_plan(PLAN, "live")
    assert re.fullmatch(r"run-[0-9a-f]{16}", ids.run_id)
    assert re.fullmatch(r"req-[0-9a-f]{24}", ids.request_id("gate", "a"))
    assert re.fullmatch(r"idem-[0-9a-f]{32}", ids.idempotency_key("gate", "a"))
    assert ids.request_id("gate", "a") != ids.request_id("gate", "b") != ids.request_id("other", "b")
    assert ids.request_id("gate", "a")[4:] != ids.idempotency_key("gate", "a")[5:29]


def test_ids_are_stable_across_releases() -> None:
    # A rerun must send the keys an earlier run sent: changing the scheme re-applies effects.
    ids = RunIds.for_plan(PLAN, "live")
    assert (ids.run_id, ids.request_id("gate", "plan")) == ("run-e285394b1243cf73", "req-3b60299ac3f9916b04dd35c4")

