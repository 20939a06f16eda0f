"""Good files load, in a deterministic order, with sources, digests and non-absolute names."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from scenario_helpers import VALID, write

from runner.scenario import (
    CallStep,
    MeteringRange,
    MeteringStep,
    ProbeStep,
    ScenarioError,
    SourceLocation,
    display_path,
    lint,
    load_scenarios,
    receipt_name,
)

REPO = Path(__file__).resolve().parents[2]


def test_shipped_release_gate_loads() -> None:
    result = load_scenarios([REPO / "scenarios"], cwd=REPO)
    assert result.errors == ()
    canary, gate = result.scenarios
    assert canary.id == "canary-rollout" and [s.id for s in canary.cleanup] == ["rollback"]
    assert gate.id == "release-gate"
    assert gate.needs == ("session", "policy_id", "payload_url")
    assert [s.id for s in gate.steps] == [
        "health", "policies", "usage-before", "score", "plan", "apply", "rollback", "probe", "telemetry-delta",
    ]  # fmt: skip
    assert [s.kind for s in gate.steps][-2:] == ["probe", "metering"]
    policies = gate.step("policies")
    assert isinstance(policies, CallStep) and policies.call == "policies.list"
    assert policies.with_ == {"active_only": True}
    assert policies.expect[0].operator == "exists"
    rollback = gate.step("rollback")
    assert rollback.needs == ("rollback_token",)
    score = gate.step("score")
    assert isinstance(score, CallStep) and score.expect[0].min == Decimal(70)
    delta = gate.step("telemetry-delta")
    assert isinstance(delta, MeteringStep)
    assert delta.metering.tolerance == Decimal("1e-9") and delta.metering.settle_s == Decimal(10)
    raw = (REPO / "scenarios" / "release-gate.yaml").read_bytes()
    assert result.files[1].path == "scenarios/release-gate.yaml"
    assert result.files[1].sha256 == hashlib.sha256(raw).hexdigest()
    assert lint([REPO / "scenarios"], cwd=REPO) == []


def test_model_objects_remember_where_they_were_written(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    (scenario,) = load_scenarios([tmp_path / "s.yaml"], cwd=tmp_path).scenarios
    assert scenario.source == SourceLocation("s.yaml", 1)
    assert [step.source.line for step in scenario.steps if step.source] == [5, 9, 15, 20, 22]
    apply = scenario.step("apply")
    assert isinstance(apply, CallStep) and apply.expect[0].source == SourceLocation("s.yaml", 19)
    probe = scenario.step("probe")
    assert isinstance(probe, ProbeStep) and probe.probe.source == SourceLocation("s.yaml", 21)
    assert str(scenario.location("steps", 1, "with", "policy_id")) == "s.yaml:12"
    # A path that was not written falls back to the nearest enclosing value.
    assert str(scenario.location("steps", 1, "save", "nope")) == "s.yaml:14"
    # A run forgets the table once loading is done: objects keep their own lines, lookups answer the scenario's.
    scenario.forget_lines()
    assert str(scenario.location("steps", 1, "with", "policy_id")) == "s.yaml:1"
    assert apply.expect[0].source == SourceLocation("s.yaml", 19)


def test_numbers_are_exact_decimals(tmp_path: Path) -> None:
    text = VALID.replace("expect: from_probes}", "expect: {min: 0.1, max: '1e+3'}, tolerance: 0.000001}")
    write(tmp_path, text)
    (scenario,) = load_scenarios([tmp_path / "s.yaml"], cwd=tmp_path).scenarios
    metering = scenario.step("delta")
    assert isinstance(metering, MeteringStep)
    assert metering.metering.expect == MeteringRange(min=Decimal("0.1"), max=Decimal("1000"))
    assert isinstance(metering.metering.tolerance, Decimal) and str(metering.metering.tolerance) == "0.000001"


def test_directory_order_is_by_name_and_skips_subdirectories_and_dotfiles(tmp_path: Path) -> None:
    for name, ident in (("b.yaml", "bravo"), ("a.yml", "alpha"), ("c.yaml", "charlie")):
        write(tmp_path, VALID.replace("id: demo", f"id: {ident}"), name)
    write(tmp_path, "not: [valid", ".hidden.yaml")
    write(tmp_path, "ignored", "notes.txt")
    (tmp_path / "faults").mkdir()
    write(tmp_path / "faults", "- match: x", "faults.yaml")
    result = load_scenarios([tmp_path], cwd=tmp_path)
    assert result.errors == ()
    assert [s.id for s in result.scenarios] == ["alpha", "bravo", "charlie"]
    assert [f.path for f in result.files] == ["a.yml", "b.yaml", "c.yaml"]


def test_arguments_keep_their_order_and_repeats_are_read_once(tmp_path: Path) -> None:
    write(tmp_path, VALID.replace("id: demo", "id: zulu"), "z.yaml")
    write(tmp_path, VALID, "a.yaml")
    result = load_scenarios([tmp_path / "z.yaml", tmp_path, "a.yaml"], cwd=tmp_path)
    assert result.errors == ()
    assert [s.id for s in result.scenarios] == ["zulu", "demo"]


def test_missing_path_and_empty_directory_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = load_scenarios([tmp_path / "empty", tmp_path / "nope.yaml"], cwd=tmp_path)
    assert [str(e) for e in result.errors] == [
        f"{(tmp_path / 'empty').as_posix()}: path: no *.yaml or *.yml files in this directory",
        f"{(tmp_path / 'nope.yaml').as_posix()}: path: no such file or directory",
    ]
    assert result.scenarios == ()


def test_display_path_is_never_absolute(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    gate = repo / "scenarios" / "gate.yaml"
    elsewhere = tmp_path / "elsewhere"
    # 1. under the current directory: relative to it
    assert display_path(gate, cwd=repo) == "scenarios/gate.yaml"
    assert display_path(Path("scenarios/./gate.yaml"), cwd=repo) == "scenarios/gate.yaml"
    # 2. given relative, outside it: as given (normalised)
    assert display_path(Path("../repo/scenarios/gate.yaml"), cwd=elsewhere) == "../repo/scenarios/gate.yaml"
    # 3. absolute, outside it: directory argument's name + inner path, or parent name + file name
    assert display_path(gate, root=repo / "scenarios", cwd=elsewhere) == "scenarios/gate.yaml"
    assert display_path(gate, cwd=elsewhere) == "scenarios/gate.yaml"
    assert display_path(gate, root=repo, cwd=elsewhere) == "repo/scenarios/gate.yaml"


def test_same_name_from_any_working_directory(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    write(tmp_path / "scenarios", VALID, "gate.yaml")
    from_root = load_scenarios(["scenarios"], cwd=tmp_path)
    from_elsewhere = load_scenarios([tmp_path / "scenarios"], cwd=tmp_path.parent / "x")
    assert from_root.files == from_elsewhere.files
    assert from_root.files[0].path == "scenarios/gate.yaml"
    # The filesystem location is for finding probe files; it is absolute and not part of equality.
    assert from_root.files[0].location == tmp_path / "scenarios" / "gate.yaml"
    assert from_elsewhere.files[0].location.is_absolute()


def test_receipt_names_come_from_the_argument_not_the_working_directory(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "scenarios"
    folder.mkdir(parents=True)
    gate = folder / "gate.yaml"
    gate.write_bytes(b"id: x\n")
    for cwd in (tmp_path, folder, tmp_path / "deep"):
        assert receipt_name(gate, [folder], cwd=cwd) == "scenarios/gate.yaml"
        assert receipt_name(gate, [gate], cwd=cwd) == "scenarios/gate.yaml"
    assert receipt_name(gate, [Path("scenarios")], cwd=tmp_path / "deep") == "scenarios/gate.yaml"
    assert receipt_name(gate, [tmp_path], cwd=folder) == f"{tmp_path.name}/deep/scenarios/gate.yaml"


def test_scenario_error_formats() -> None:
    assert str(ScenarioError("a.yaml", 3, "steps[0].call", "bad")) == "a.yaml:3: steps[0].call: bad"
    assert str(ScenarioError("a.yaml", None, "file", "cannot read")) == "a.yaml: file: cannot read"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_bom(tmp_path: Path, bom: bytes) -> None:
    write(tmp_path, bom + VALID.encode())
    assert load_scenarios([tmp_path / "s.yaml"], cwd=tmp_path).errors == ()
