"""Exactly once: an effect whose answer is lost is retried with the same Idempotency-Key and happens once.

The reference server processes the request and then loses the answer (``drop``: the connection
closes; ``hang``: no answer until the client gives up), once for the real apply, once for the
confirmed rollback and once for each of three payload probes. The run must pass, the server's
ledger must show one entry per key with one replay (same key on the retry, one effect), the
bytes must be metered once, and the metering check (``from_probes``) must still balance.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from fault_helpers import SCENARIOS, GateRun, expected_steps, run_against, run_gate

from velikey.testing import Fault, ReferenceServer

SCENARIO = SCENARIOS / "exactly-once.yaml"
STEPS = ("usage-before", "plan", "apply", "rollback", "probe-small", "probe-large", "probe-text", "telemetry-delta")
PROBES = ("probe-small", "probe-large", "probe-text")
EFFECTS = {"apply": "POST /api/rollouts/apply", "rollback": "POST /api/rollouts/rollback"}
GIB = Decimal(1024**3)


def _lose_each_first_answer(action: str) -> tuple[Fault, ...]:
    """The first answer to the apply, the rollback and each probe is lost; every retry is answered.

    Each rule counts every request to its route, so on ``/ingest`` the probes' first attempts are
    requests 0, 2 and 4 (each lost one is followed by its answered retry).
    """
    return (
        Fault(EFFECTS["apply"], times=1, action=action),
        Fault(EFFECTS["rollback"], times=1, action=action),
        *(Fault("POST /ingest", after=nth, times=1, action=action) for nth in (0, 2, 4)),
    )


def _run(action: str, out: Path) -> GateRun:
    # hang: the answer is lost when the request times out, so a short timeout keeps the test fast. The
    # answered effects take 15-55 ms on a loaded 2-core machine; 0.5 s keeps them well clear of it.
    return run_gate(_lose_each_first_answer(action), out, paths=(SCENARIO,), request_timeout=0.5, deadline=30.0)


def _sent_key(seen: GateRun, step: str) -> str:
    evidence = seen.evidence(step, "exactly-once")
    assert evidence is not None, step
    (exchange,) = evidence["exchanges"]
    return str(exchange["request"]["headers"]["idempotency-key"])


def _attempts(seen: GateRun, step: str) -> int:
    evidence = seen.evidence(step, "exactly-once")
    assert evidence is not None, step
    return int(evidence["exchanges"][0]["attempts"])


@pytest.mark.parametrize("action", ["drop", "hang"])
def test_lost_answers_are_retried_and_take_effect_once(action: str, tmp_path: Path) -> None:
    seen = _run(action, tmp_path / "run")
    context = (seen.steps, seen.out)
    assert seen.problems == [], context
    assert (seen.exit_code, seen.result) == (0, "pass"), context
    assert seen.steps == expected_steps(None, STEPS), context

    state = seen.state
    # Every lost answer was lost after the server acted: that is what makes the retry a replay.
    assert state["faults_injected"] == {EFFECTS["apply"]: 1, EFFECTS["rollback"]: 1, "POST /ingest": 3}, state
    assert state["requests"][EFFECTS["apply"]] == 2 and state["requests"][EFFECTS["rollback"]] == 2, state
    assert state["requests"]["POST /ingest"] == 6, state

    # One ledger entry per effect, under the key the run sent, replayed once: same key, one effect.
    effects = state["effects"]
    for kind in EFFECTS:
        assert effects[kind] == {_sent_key(seen, kind): {"effects": 1, "replays": 1}}, (kind, effects)
        assert _attempts(seen, kind) == 2, kind
    assert effects["ingest"] == {_sent_key(seen, p): {"effects": 1, "replays": 1} for p in PROBES}, effects
    assert all(_attempts(seen, p) == 2 for p in PROBES)

    # Bytes were metered once, and the metering check that counts them balanced.
    steps = {s["id"]: s for s in seen.summary["scenarios"][0]["steps"]}
    sent = [steps[p]["probe"]["bytes"] for p in PROBES]
    assert sent[:2] == [65536, 1048576] and all(steps[p]["probe"]["matched"] for p in PROBES)
    assert state["ingested_bytes"] == sum(sent), state
    metering = steps["telemetry-delta"]["metering"]
    assert metering["settled"] is True
    assert abs(Decimal(metering["delta"]) - Decimal(sum(sent)) / GIB) <= Decimal("1e-9"), metering


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> tuple[GateRun, GateRun, GateRun]:
    """Three runs with the same inputs against one server (no faults): one without --run-id, then the same
    --run-id twice."""
    root = tmp_path_factory.mktemp("rerun")
    with ReferenceServer() as server:
        first = run_against(server, root / "first", paths=(SCENARIO,))
        second = run_against(server, root / "second", paths=(SCENARIO,), run_id="pinned")
        again = run_against(server, root / "again", paths=(SCENARIO,), run_id="pinned")
    return first, second, again


def test_a_rerun_is_a_new_run_with_new_effects(rerun: tuple[GateRun, GateRun, GateRun]) -> None:
    """No --run-id: a fresh nonce, so new keys, so every effect and probe happens again, none replayed."""
    first, second, _ = rerun
    assert (first.exit_code, second.exit_code, first.problems, second.problems) == (0, 0, [], [])
    assert first.summary["run_id"] != second.summary["run_id"]
    effects = second.state["effects"]
    for kind in ("apply", "rollback"):
        assert {_sent_key(first, kind), _sent_key(second, kind)} == set(effects[kind]), (kind, effects)
        assert list(effects[kind].values()) == [{"effects": 1, "replays": 0}] * 2, (kind, effects)
    assert len(effects["ingest"]) == 2 * len(PROBES), effects
    assert second.state["ingested_bytes"] == 2 * first.state["ingested_bytes"] > 0


def test_the_same_run_id_again_sends_the_same_keys_and_takes_no_effect_twice(
        rerun: tuple[GateRun, GateRun, GateRun]) -> None:
    _, second, again = rerun
    assert second.summary["run_id"] == again.summary["run_id"] == "pinned"
    assert all(_sent_key(second, step) == _sent_key(again, step) for step in ("apply", "rollback", *PROBES))
    effects = again.state["effects"]
    assert [effects[kind][_sent_key(again, kind)] for kind in ("apply", "rollback")] == [
        {"effects": 1, "replays": 1}] * 2, effects
    assert again.state["ingested_bytes"] == second.state["ingested_bytes"]
