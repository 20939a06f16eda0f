"""Run ids, request ids and idempotency keys: digests of the plan and the run nonce; where the nonce comes from."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.canonical import CanonicalJSONError, jcs
from runner.config import InputError
from runner.ids import FIXED_NONCE, RunIds, RunNonce, _jcs_of, resolve_nonce

PLAN = {"inputs": {"policy_id": "pol-1"}, "confirm": False}
SCENARIOS = {"gate": "sha256:00", "other": "sha256:01"}
PINNED = RunNonce("ci-42", "flag")


def _ids(plan: object = PLAN, mode: str = "live", nonce: RunNonce = FIXED_NONCE,
         scenarios: dict[str, str] = SCENARIOS) -> RunIds:
    return RunIds.for_plan(plan, mode, nonce, scenarios)


def test_ids_are_a_pure_function_of_plan_and_nonce_and_ignore_key_order() -> None:
    again = {"confirm": False, "inputs": {"policy_id": "pol-1"}}
    assert _ids() == _ids(again, scenarios=dict(reversed(SCENARIOS.items())))
    assert _ids().run_id != _ids({**PLAN, "confirm": True}).run_id
    random = RunNonce("0123456789abcdef", "random")
    assert _ids(nonce=random).run_id != _ids().run_id
    assert _ids(nonce=random).idempotency_key("gate", "apply") != _ids().idempotency_key("gate", "apply")


def test_a_named_run_is_its_id_verbatim_and_its_keys_still_follow_the_plan() -> None:
    assert _ids(nonce=PINNED).run_id == _ids(mode="dry-run", nonce=PINNED).run_id == "ci-42"
    assert _ids(nonce=RunNonce("ci-42", "env")).run_id == "ci-42"
    assert _ids(nonce=RunNonce("ci-42", "github")).run_id != "ci-42"  # the CI's identity names no run by itself
    # An edited plan under a reused id is a new request, not the old key with another body (a 409).
    assert _ids(nonce=PINNED).request_id("gate", "a") != _ids({**PLAN, "confirm": True}, nonce=PINNED).request_id(
        "gate", "a")


def test_a_steps_keys_depend_on_its_own_scenario_not_on_the_others_in_the_run() -> None:
    """A shard of the scenarios sends the keys the unsharded run sends."""
    whole, shard = _ids(nonce=PINNED), _ids(nonce=PINNED, scenarios={"gate": "sha256:00"})
    assert whole.idempotency_key("gate", "apply") == shard.idempotency_key("gate", "apply")
    edited = _ids(nonce=PINNED, scenarios={**SCENARIOS, "gate": "sha256:ff"})
    assert edited.idempotency_key("gate", "apply") != whole.idempotency_key("gate", "apply")


def test_the_run_id_names_the_mode_but_request_ids_and_keys_do_not() -> None:
    dry, live = _ids(mode="dry-run"), _ids(mode="live")
    assert dry.run_id != live.run_id
    # A dry-run shows the very ids a live run with the same inputs and nonce sends.
    assert dry.request_id("gate", "plan") == live.request_id("gate", "plan")
    assert dry.idempotency_key("gate", "plan") == live.idempotency_key("gate", "plan")


def test_ids_differ_per_step_and_purpose_and_have_fixed_shapes() -> None:
    ids = _ids()
    assert re.fullmatch(r"run-[0-9a-f]{16}", ids.run_id)
    assert re.fullmatch(r"req-[0-9a-f]{24}", ids.request_id("gate", "a"))
    assert re.fullmatch(r"idem-[0-9a-f]{32}", ids.idempotency_key("gate", "a"))
    assert ids.request_id("gate", "a") != ids.request_id("gate", "b") != ids.request_id("other", "b")
    assert ids.request_id("gate", "a")[4:] != ids.idempotency_key("gate", "a")[5:29]


def test_ids_are_stable_across_releases_for_a_pinned_nonce() -> None:
    # `--run-id X` twice must send the same keys, whichever release ran it: that is what a replay is.
    ids = _ids(nonce=PINNED)
    assert (ids.run_id, ids.request_id("gate", "plan")) == ("ci-42", "req-d1d39c3b193ecc4a7e444378")


# --- where the nonce comes from -------------------------------------------------------------------

CI = {"GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "2", "CI_PIPELINE_ID": "77", "CI_JOB_ID": "5"}


def _nonce(flag: str | None = None, env: dict[str, str] | None = None, *, live: bool = True,
           embedded: bool = False) -> RunNonce:
    return resolve_nonce(flag, env or {}, live=live, embedded=embedded, token=lambda: "feedface")


@pytest.mark.parametrize(("flag", "env", "live", "embedded", "expected"), [
    ("x1", {**CI, "VELIKEY_E2E_RUN_ID": "e1"}, True, False, ("x1", "flag")),
    (None, {**CI, "VELIKEY_E2E_RUN_ID": "e1"}, False, False, ("e1", "env")),
    (None, CI, False, False, ("fixed", "fixed")),
    (None, CI, True, True, ("fixed", "fixed")),
    (None, CI, True, False, ("9001-2", "github")),
    (None, {"GITHUB_RUN_ID": "9001"}, True, False, ("9001", "github")),
    (None, {k: v for k, v in CI.items() if not k.startswith("GITHUB")}, True, False, ("77-5", "gitlab")),
    (None, {"VELIKEY_E2E_RUN_ID": "  ", "GITHUB_RUN_ID": ""}, True, False, ("feedface", "random")),
])
def test_the_nonce_comes_from_the_flag_the_env_the_mode_the_ci_or_chance(
        flag: str | None, env: dict[str, str], live: bool, embedded: bool, expected: tuple[str, str]) -> None:
    assert _nonce(flag, env, live=live, embedded=embedded).document() == {"value": expected[0],
                                                                          "source": expected[1]}


def test_a_random_nonce_is_fresh_each_time() -> None:
    assert resolve_nonce(None, {}, live=True, embedded=False) != resolve_nonce(None, {}, live=True, embedded=False)


@pytest.mark.parametrize(("flag", "env", "named"), [
    ("", {}, "--run-id"),
    ("-x", {}, "--run-id"),
    ("a/b", {}, "--run-id"),
    ("a" * 65, {}, "--run-id"),
    ("run\n1", {}, "--run-id"),
    ("ünï", {}, "--run-id"),
    (None, {"VELIKEY_E2E_RUN_ID": "../up"}, "VELIKEY_E2E_RUN_ID"),
    (None, {"GITHUB_RUN_ID": "1 2", "GITHUB_RUN_ATTEMPT": "1"}, "GITHUB_RUN_ID-GITHUB_RUN_ATTEMPT"),
])
def test_a_malformed_run_id_is_input_error_naming_where_it_came_from(flag: str | None, env: dict[str, str],
                                                                     named: str) -> None:
    with pytest.raises(InputError) as caught:
        _nonce(flag, env)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{named}: ") and "is not a run id" in problem


@settings(max_examples=500, deadline=None)
@given(st.lists(st.none() | st.text() | st.sampled_from(["\x00", "\x1f", "\x7f", "\u2028", '"', "\\", "é", "😀"]),
                max_size=7))
def test_the_fast_digest_of_strings_is_the_rfc8785_digest(parts: list[str | None]) -> None:
    """Every step's ids take the C JSON encoder; the bytes hashed must be RFC 8785's, or ids would change."""
    assert _jcs_of(parts) == jcs(parts)


def test_text_rfc8785_cannot_express_is_still_refused() -> None:
    with pytest.raises(CanonicalJSONError):
        _jcs_of(["\ud800"])
