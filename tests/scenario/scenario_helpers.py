"""Shared text for scenario tests: a valid scenario whose line numbers the tests rely on."""

from __future__ import annotations

from pathlib import Path

from runner.scenario import ScenarioError, load_scenarios

# Line numbers matter: tests assert errors at specific lines of variants of this text.
VALID = """\
id: demo
title: Demo scenario
needs: [session, policy_id, payload_url]
steps:
  - id: usage
    call: billing.get_usage
    with: {period: current}
    save: {gb: usage.telemetryDataGB}
  - id: plan
    call: rollouts.plan
    with:
      policy_id: "${inputs.policy_id}"
      dry_run: true
    save: {plan_id: "data.plan_id|data.planId"}
  - id: apply
    call: rollouts.apply
    with: {plan_id: "${steps.plan.plan_id}", dry_run: true}
    expect:
      - {path: success, equals: true}
  - id: probe
    probe: {payload: {size: 1024, seed: 7}}
  - id: delta
    metering: {before: usage, path: usage.telemetryDataGB, expect: from_probes}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def errors_of(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> tuple[ScenarioError, ...]:
    write(tmp_path, text, name)
    return load_scenarios([tmp_path / name], cwd=tmp_path).errors


def replace(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)
