"""``validate`` reads cleanup steps and poll counts for meaning too: forgeries with digests recomputed are refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_validate_meaning import Docs, _forge

from runner.pipeline import RunConfig, run
from runner.receipts.validate import validate_run_dir
from velikey.testing import ReferenceServer

CANARY = Path(__file__).resolve().parents[2] / "scenarios" / "canary-rollout.yaml"


@pytest.fixture(scope="module")
def canary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real, confirmed run of the shipped canary rollout: an apply, one poll, a cleanup rollback."""
    out = tmp_path_factory.mktemp("canary") / "run"
    with ReferenceServer() as server:
        report = run(RunConfig(paths=(CANARY,), mode="live", out=out, env=server.live_env(), confirm=True))
    assert report.exit_code == 0
    yield out


def _scenario(docs: Docs) -> dict[str, Any]:
    scenario: dict[str, Any] = docs["SUMMARY.json"]["scenarios"][0]
    return scenario


def test_the_genuine_set_is_valid(canary: Path, tmp_path: Path) -> None:
    assert validate_run_dir(canary) == []
    assert validate_run_dir(_forge(canary, tmp_path, lambda docs: None)) == []


def test_a_failed_cleanup_under_a_passing_result(canary: Path, tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        rollback = _scenario(docs)["cleanup"][0]
        rollback.update(outcome="failed", reason_code="conflict", message="already rolled back")

    problems = validate_run_dir(_forge(canary, tmp_path, edit))
    assert "SUMMARY.json: result 'pass', but the steps make it 'fail'" in problems
    assert any("scenario canary-rollout is 'passed'" in p for p in problems)
    assert any("counts" in p for p in problems) and any("'conflict'" in p for p in problems)


def test_a_cleanup_step_left_out_of_the_counts(canary: Path, tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        docs["SUMMARY.json"]["counts"]["passed"] -= 1

    assert any(p.startswith("SUMMARY.json: counts") for p in validate_run_dir(_forge(canary, tmp_path, edit)))


def test_more_polls_than_the_budget(canary: Path, tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        wait = next(s for s in _scenario(docs)["steps"] if s["until"] is not None)
        wait["until"]["polls"] = wait["until"]["max_polls"] + 1

    assert validate_run_dir(_forge(canary, tmp_path, edit)) == [
        "SUMMARY.json: step canary-rollout/canary-stable: 32 polls, over its budget of 31"
    ]


def test_a_poll_timeout_before_the_budget_ran_out(canary: Path, tmp_path: Path) -> None:
    def edit(docs: Docs) -> None:
        wait = next(s for s in _scenario(docs)["steps"] if s["until"] is not None)
        wait.update(outcome="failed", reason_code="poll_timeout")
        _scenario(docs).update(outcome="failed", reason_code="poll_timeout")
        summary = docs["SUMMARY.json"]
        summary.update(result="fail", reason_codes=sorted({*summary["reason_codes"], "poll_timeout"}))
        summary["counts"].update(passed=summary["counts"]["passed"] - 1, failed=1)

    problems = validate_run_dir(_forge(canary, tmp_path, edit))
    expected = "SUMMARY.json: step canary-rollout/canary-stable: poll_timeout after 1 polls, but its budget is 31"
    assert expected in problems
