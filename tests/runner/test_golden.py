"""The checked-in golden receipt sets are exactly what the runner writes today, byte for byte.

``tests/golden/regenerate.py`` is run into a temporary directory and every file but
``timings.json`` is compared with ``tests/golden/{dry-run,live}/`` and ``receipts/example/``.
A difference is either a regression or an intended change: then `make golden` and review.
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from golden_helpers import VOLATILE, assert_same_receipts, read_set, regenerate

from runner.receipts.validate import validate_run_dir

HINT = "If this change is intended, run `make golden` to regenerate on purpose, and review the diff."


@dataclass(frozen=True)
class Regenerated:
    root: Path  # <root>/golden/<set>/ and <root>/example/, as `make golden` would write them now
    timings: dict[str, bytes]  # the timings.json of each set's run


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Regenerated:
    root = tmp_path_factory.mktemp("regenerated")
    sets = regenerate.regenerate(golden=root / "golden", example=root / "example")
    return Regenerated(root, {name: timings for name, (_, timings) in sets.items()})


def _interpreter() -> dict[str, str]:
    return {"implementation": platform.python_implementation(),
            "version": ".".join(platform.python_version_tuple()[:2])}


@pytest.fixture(scope="module", autouse=True)
def same_interpreter() -> None:
    """The manifest records the interpreter (by design), so the golden bytes hold for one Python minor."""
    recorded = json.loads((regenerate.GOLDEN / "live" / "run-manifest.json").read_bytes())["python"]
    if recorded != _interpreter():
        pytest.skip(f"the golden receipts were made on {recorded}, this is {_interpreter()}; "
                    "the determinism tests still run here")


@pytest.mark.parametrize("name", regenerate.SETS)
def test_golden_set_is_what_the_runner_writes(fresh: Regenerated, name: str) -> None:
    assert_same_receipts(regenerate.GOLDEN / name, fresh.root / "golden" / name,
                         expected_label=f"tests/golden/{name}", actual_label=f"regenerated/{name}", hint=HINT)


def test_example_receipts_are_the_live_golden_set(fresh: Regenerated) -> None:
    assert_same_receipts(regenerate.GOLDEN / "live", regenerate.EXAMPLE,
                         expected_label="tests/golden/live", actual_label="receipts/example", hint=HINT)
    assert_same_receipts(regenerate.EXAMPLE, fresh.root / "example",
                         expected_label="receipts/example", actual_label="regenerated/example", hint=HINT)


def test_example_is_a_complete_valid_run_directory() -> None:
    """Reviewers can run ``velikey-e2e validate receipts/example``: it keeps its timings.json."""
    assert (regenerate.EXAMPLE / VOLATILE).is_file()
    assert validate_run_dir(regenerate.EXAMPLE) == []


@pytest.mark.parametrize("name", regenerate.SETS)
def test_golden_sets_leave_out_only_timings(tmp_path: Path, fresh: Regenerated, name: str) -> None:
    """With its run's timings.json put back, a golden set is a valid receipt set (schemas and digests)."""
    golden = regenerate.GOLDEN / name
    assert not (golden / VOLATILE).exists(), "timings.json is volatile and must not be checked in"
    run_dir = tmp_path / name
    shutil.copytree(golden, run_dir)
    (run_dir / VOLATILE).write_bytes(fresh.timings[name])
    assert validate_run_dir(run_dir) == []


def test_golden_sets_cover_both_modes() -> None:
    """Guards the sets against being regenerated from a wrong run (a blocked live run, say)."""
    for name, files in ((name, read_set(regenerate.GOLDEN / name)) for name in regenerate.SETS):
        result = json.loads(files["python-sdk-e2e-result.json"])
        verdict = "planned" if name == "dry-run" else "pass"
        assert (result["mode"], result["result"], result["exit_code"]) == (name, verdict, 0)
        assert "BLOCKER.json" not in files
        evidence = sorted(n for n in files if n.startswith("evidence/"))
        assert bool(evidence) == (name == "live")
        manifest = json.loads(files["run-manifest.json"])
        assert [s["file"] for s in manifest["scenarios"]] == ["scenarios/release-gate.yaml"]
        assert manifest["source_date"] is None
