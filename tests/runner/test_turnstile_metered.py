"""Every SDK call that reads metered usage takes its turn, so receipts do not depend on --concurrency (issue 8).

The turnstile's set of metered calls used to be a hand list without ``monitoring.get_health_score``
(it reads the usage summary): beside a probe in another scenario, its evidence held the usage
before the probe at --concurrency 8 and after it at --concurrency 1.
"""

from __future__ import annotations

from pathlib import Path

from golden_helpers import assert_same_receipts, run_receipts

from runner.engine.turnstile import METERED_CALLS, METERED_ROUTES
from velikey.operations import OPERATIONS

SCENARIOS = Path(__file__).parent / "scenarios" / "turnstile"


def test_a_usage_read_beside_a_probe_gives_the_same_receipts_at_any_concurrency(tmp_path: Path) -> None:
    serial = run_receipts(SCENARIOS, tmp_path / "c1", "live", cwd=tmp_path, extra=["--concurrency", "1"])
    parallel = run_receipts(SCENARIOS, tmp_path / "c8", "live", cwd=tmp_path, extra=["--concurrency", "8"])
    assert_same_receipts(serial, parallel, expected_label="--concurrency 1", actual_label="--concurrency 8")


def test_the_metered_calls_are_those_whose_requests_reach_a_metered_route() -> None:
    # Built from what each operation actually sends, not from its declared routes.
    sent = {name: {(spec.method, spec.path) for spec in op.build(**_minimal(name))} for name, op in OPERATIONS.items()}
    assert METERED_CALLS == {name for name, routes in sent.items() if routes & METERED_ROUTES}
    assert "monitoring.get_health_score" in METERED_CALLS


def _minimal(name: str) -> dict[str, object]:
    """Arguments enough to build ``name``'s requests."""
    return {param.name: "x" for param in OPERATIONS[name].params if param.required}
