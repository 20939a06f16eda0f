"""``until:`` and ``cleanup:`` in the model and in lint: each mistake is one ``file:line: field: message``."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from runner.scenario.load import load_source
from runner.scenario.model import CallStep

CLI = Path(sys.executable).with_name("velikey-e2e")

GOOD = """\
id: canary
title: Canary
needs: [session, policy_id]
steps:
  - id: apply
    call: rollouts.apply
    with: {plan_id: p, dry_run: false}
    save: {token: data.rollbackToken}
  - id: stable
    call: rollouts.get_events
    with: {plan_id: p}
    until: {every_s: 2, within_s: 61}
    expect:
      - {path: phase, equals: stable}
cleanup:
  - id: rollback
    call: rollouts.rollback
    with: {rollback_token: "${steps.apply.token}"}
  - id: after
    call: rollouts.get_events
    with: {plan_id: p}
"""


def errors(text: str) -> list[str]:
    scenario, found = load_source(text.encode(), "s.yaml")
    assert scenario is None, "expected the scenario to be refused"
    return [str(e) for e in found]


def test_a_good_scenario_loads_with_its_policy_and_cleanup() -> None:
    scenario, found = load_source(GOOD.encode(), "s.yaml")
    assert found == () and scenario is not None
    stable = scenario.step("stable")
    assert isinstance(stable, CallStep) and stable.until is not None
    assert (stable.until.every_s, stable.until.within_s, stable.until.max_polls) == (Decimal(2), Decimal(61), 31)
    assert [s.id for s in scenario.cleanup] == ["rollback", "after"]
    assert [s.id for s in scenario.all_steps] == ["apply", "stable", "rollback", "after"]
    assert scenario.cleanup[0].source is not None and scenario.cleanup[0].source.line == 16


def test_all_steps_is_built_once_and_leaves_equality_alone() -> None:
    """The engine indexes ``all_steps`` per step run: one tuple, not one per access; equal scenarios stay equal."""
    scenario, _ = load_source(GOOD.encode(), "s.yaml")
    again, _ = load_source(GOOD.encode(), "other.yaml")
    assert scenario is not None and again is not None
    assert scenario.all_steps is scenario.all_steps
    assert scenario == again


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("{every_s: 2, within_s: 61}", "{every_s: 5, within_s: 2}",
         "s.yaml:12: steps[1].until: every_s 5 is greater than within_s 2: nothing to repeat"),
        ("{every_s: 2, within_s: 61}", "{every_s: 0, within_s: 2}", "s.yaml:12: steps[1].until: every_s must be > 0"),
        ("{every_s: 2, within_s: 61}", "{every_s: two, within_s: 61}",
         "s.yaml:12: steps[1].until.every_s: expected a number, got 'two'"),
        ("{every_s: 2, within_s: 61}", "{every_s: true, within_s: 61}", "s.yaml:12: steps[1].until.every_s:"),
        ("{every_s: 2, within_s: 61}", "{every_s: 1, within_s: 3601}",
         "s.yaml:12: steps[1].until: within_s must be at most 3600 s"),
        ("{every_s: 2, within_s: 61}", "{every_s: '0.001', within_s: 60}",
         "s.yaml:12: steps[1].until: within_s / every_s allows 60001 polls; at most 1000"),
        ("{every_s: 2, within_s: 61}", "{every_s: 2}", "s.yaml:12: steps[1].until.within_s: required key is missing"),
        ("{every_s: 2, within_s: 61}", "{every_s: 2, within_s: 61, times: 3}",
         "s.yaml:12: steps[1].until.times: unknown key"),
        ("    expect:\n      - {path: phase, equals: stable}\n", "",
         "s.yaml:12: steps[1].until: until repeats the call until its expect holds: add expect"),
        ("  - id: after\n", "  - id: apply\n", "s.yaml:19: cleanup[1].id: duplicate step id 'apply' (first at line 5)"),
        ('"${steps.apply.token}"', '"${steps.after.x}"',
         "s.yaml:18: cleanup[0].with.rollback_token: ${steps.after.x} refers to itself or a later step"),
        ('"${steps.apply.token}"', '"${steps.apply.nope}"',
         "s.yaml:18: cleanup[0].with.rollback_token: ${steps.apply.nope}: step 'apply' does not save 'nope'"),
        ("id: after\n    call: rollouts.get_events\n    with: {plan_id: p}\n", "id: after\n    probe: {text: a}\n",
         "s.yaml:19: cleanup[1].call: required key is missing"),
    ],
)
def test_each_mistake_is_one_located_error(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    found = errors(GOOD.replace(old, new))
    assert any(line.startswith(expected) for line in found), found


def test_until_on_an_operation_that_changes_state_is_refused() -> None:
    text = GOOD.replace("    save: {token: data.rollbackToken}\n",
                        "    save: {token: data.rollbackToken}\n    until: {every_s: 1, within_s: 5}\n"
                        "    expect: [{path: data.applied, equals: true}]\n")
    assert errors(text) == [
        "s.yaml:9: steps[0].until: until repeats a read; rollouts.apply sends POST"
        " (a repeat under one idempotency key replays the first answer)"
    ]


@pytest.mark.parametrize("call", ["billing.get_usage", "monitoring.get_health_score"])
def test_a_cleanup_step_cannot_read_metered_usage(call: str) -> None:
    """Cleanup runs after a stop, outside the turnstile's order: a usage read there could see another's probe."""
    text = GOOD.replace("  - id: after\n    call: rollouts.get_events\n    with: {plan_id: p}\n",
                        f"  - id: after\n    call: {call}\n")
    assert errors(text) == [
        f"s.yaml:20: cleanup[1].call: {call} reads or moves metered usage, which a cleanup step (run after a stop,"
        " outside the turnstile's order) cannot keep in order; move it to steps"
    ]


def test_a_step_cannot_use_what_a_cleanup_step_saves() -> None:
    text = GOOD.replace("    with: {plan_id: p}\n    until", "    with: {plan_id: '${steps.after.x}'}\n    until")
    assert any("steps[1].with.plan_id: ${steps.after.x} refers to itself or a later step" in e for e in errors(text))


def test_the_installed_lint_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "canary.yaml").write_text(GOOD.replace("{every_s: 2, within_s: 61}", "{every_s: 9, within_s: 1}"),
                                          encoding="utf-8")
    done = subprocess.run([str(CLI), "lint", "canary.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    expected = "canary.yaml:12: steps[1].until: every_s 9 is greater than within_s 1: nothing to repeat"
    assert done.stderr.strip() == expected
    assert "Traceback" not in done.stderr
