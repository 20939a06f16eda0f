"""SUMMARY.md rendering: verdict first, escaped tables, catalog guidance, deterministic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.reasons import CATALOG
from runner.receipts.render import md_cell, md_code, render_markdown

REPO = Path(__file__).resolve().parents[2]


def test_verdict_comes_first(docs: dict[str, Any]) -> None:
    text = render_markdown(docs["summary"])
    lines = text.splitlines()
    assert lines[0] == "# velikey-e2e: PASS (live)"
    head = "\n".join(lines[:8])
    assert "run-0123456789abcdef" in head
    assert "passed 1, failed 0, blocked 0, skipped 0, planned 0" in head
    assert "Reason codes: `ok`" in head
    assert text.index("Reason codes") < text.index("## Scenario")


def test_ends_with_exactly_one_newline(docs: dict[str, Any], blocked: dict[str, Any]) -> None:
    for summary in (docs["summary"], blocked["summary"]):
        text = render_markdown(summary)
        assert text.endswith("\n") and not text.endswith("\n\n")
        assert "\r" not in text


def test_step_table_escapes_pipes_and_newlines(blocked: dict[str, Any]) -> None:
    step = blocked["summary"]["scenarios"][0]["steps"][0]
    step["message"] = "a | b\nc"
    text = render_markdown(blocked["summary"])
    row = next(line for line in text.splitlines() if line.startswith("| `health`"))
    assert row == "| `health` | 6 | call | blocked | `auth_missing` | a \\| b c |  |"
    assert row.replace("\\|", "").count("|") == 8


def test_what_to_do_lists_failed_and_blocked_steps_with_catalog_text(blocked: dict[str, Any]) -> None:
    text = render_markdown(blocked["summary"])
    todo = text.split("## What to do", 1)[1]
    assert "`release-gate` / `health`: **blocked** with `auth_missing`" in todo
    assert CATALOG["auth_missing"].meaning in todo
    assert CATALOG["auth_missing"].remediation in todo


def test_passing_run_has_nothing_to_do(docs: dict[str, Any]) -> None:
    assert render_markdown(docs["summary"]).rstrip().endswith("Nothing failed or was blocked.")


def test_dry_run_shows_readiness(blocked: dict[str, Any], docs: dict[str, Any]) -> None:
    blocked["summary"]["mode"] = "dry-run"
    assert "Missing live inputs: `session`." in render_markdown(blocked["summary"])
    assert "Readiness" not in render_markdown(docs["summary"])
    docs["summary"]["mode"] = "dry-run"
    assert "Every live input the selected scenarios need is present." in render_markdown(docs["summary"])


def _reversed(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order (a copy, not the same objects)."""
    if isinstance(value, dict):
        return {key: _reversed(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed(item) for item in value]
    return value


def test_deterministic_whatever_the_key_order(docs: dict[str, Any], blocked: dict[str, Any]) -> None:
    for summary in (docs["summary"], blocked["summary"]):
        reordered = _reversed(summary)
        assert list(reordered) != list(summary)
        assert render_markdown(reordered) == render_markdown(summary)


@pytest.mark.parametrize("run_dir", [REPO / "tests" / "golden" / "live", REPO / "tests" / "golden" / "dry-run",
                                     REPO / "receipts" / "example"])
def test_the_checked_in_markdown_is_the_render_of_its_json(run_dir: Path) -> None:
    summary = json.loads((run_dir / "SUMMARY.json").read_text(encoding="utf-8"))
    assert render_markdown(summary).encode("utf-8") == (run_dir / "SUMMARY.md").read_bytes()


def test_missing_field_is_an_error_not_an_empty_cell(docs: dict[str, Any]) -> None:
    del docs["summary"]["scenarios"][0]["steps"][0]["kind"]
    with pytest.raises(Exception, match="kind"):
        render_markdown(docs["summary"])


def test_unknown_reason_code_is_an_error(docs: dict[str, Any]) -> None:
    step = docs["summary"]["scenarios"][0]["steps"][0]
    step.update(outcome="failed", reason_code="no_such_code")
    with pytest.raises(ValueError, match="no_such_code"):
        render_markdown(docs["summary"])


@pytest.mark.parametrize(
    ("value", "cell", "code"),
    [
        ("plain", "plain", "`plain`"),
        ("a|b", "a\\|b", "`a\\|b`"),
        ("x`y", "x`y", "``x`y``"),
        ("`x", "`x", "`` `x ``"),
        ("line1\r\n  line2", "line1 line2", "`line1 line2`"),
        (None, "", ""),
    ],
)
def test_cell_and_code_filters(value: Any, cell: str, code: str) -> None:
    assert md_cell(value) == cell
    assert md_code(value) == code


def test_reviewer_facts_come_from_the_summary(docs: dict[str, Any]) -> None:
    """Tenant origin, auth source name, TLS and proxy, effects and versions: all from SUMMARY.json's facts."""
    facts = docs["summary"]["facts"]
    facts["tenant"] = "https://axis.example:8443"
    facts["transport"] = {"verify_tls": True, "allow_insecure_http": False,
                          "ca_bundle": {"source": "SSL_CERT_FILE", "sha256": "sha256:" + "ab" * 32},
                          "proxy": {"source": "HTTPS_PROXY", "origin": "http://proxy.internal:3128"}}
    facts["confirm"], facts["run_nonce_source"] = True, "github"
    where = render_markdown(docs["summary"]).split("## Where and how it ran", 1)[1].split("## Scenario", 1)[0]
    assert "- Tenant: `https://axis.example:8443`" in where
    assert "- Auth source: `AXIS_SESSION_COOKIE`" in where
    assert ("- TLS and proxy: `allow_insecure_http`: `false`, `ca_bundle.sha256`: `sha256:" + "ab" * 32 + "`, "
            "`ca_bundle.source`: `SSL_CERT_FILE`, `proxy.origin`: `http://proxy.internal:3128`, "
            "`proxy.source`: `HTTPS_PROXY`, `verify_tls`: `true`") in where
    assert "- Effects: `--confirm` given" in where
    assert "- Versions: velikey-e2e 0.1.0, SDK velikey 0.1.0, CPython 3.11.7" in where
    assert "- Run nonce: from `github`" in where


def test_each_check_shows_expected_and_actual(docs: dict[str, Any]) -> None:
    step = docs["summary"]["scenarios"][0]["steps"][0]
    step["assertions"] = [{"path": "a|b", "op": "min", "expected": "70", "actual": 55, "passed": False,
                           "reason_code": "health_below_threshold"},
                          {"path": "big", "op": "exists", "expected": True, "actual": {"x": "y" * 500},
                           "passed": True, "reason_code": "assertion_failed"}]
    text = render_markdown(docs["summary"])
    assert "| `health` | `a\\|b` | min | `\"70\"` | `55` | failed |" in text
    big = next(line for line in text.splitlines() if line.startswith("| `health` | `big`"))
    assert big.endswith("…` | passed |") and len(big) < 200, "a huge actual value is cut; the evidence has it"


def test_dry_runs_replays_and_evidence_are_shown(docs: dict[str, Any]) -> None:
    step = docs["summary"]["scenarios"][0]["steps"][0]
    step["server_dry_run"] = True
    step["probe"] = {"source": "generated", "bytes": 3, "sha256": "sha256:" + "1" * 64,
                     "echo_sha256": "sha256:" + "1" * 64, "echo_bytes": 3, "matched": True, "replayed": True}
    row = next(line for line in render_markdown(docs["summary"]).splitlines() if line.startswith("| `health` | 6"))
    assert row == ("| `health` | 6 | call, server-side dry run | passed (replayed) | `ok` |  | "
                   "[health.json](evidence/release-gate/health.json) |")


def test_the_checks_table_is_announced_exactly_when_a_step_has_a_check_row() -> None:
    # The "Checks" heading is decided without making the rows; it must agree with the rows for every kind of step.
    from runner.receipts.render import _checks, _has_checks

    golden = Path(__file__).resolve().parents[1] / "golden"
    steps = [step for mode in ("live", "dry-run")
             for scenario in json.loads((golden / mode / "SUMMARY.json").read_text())["scenarios"]
             for step in [*scenario["steps"], *scenario.get("cleanup", ())]]
    changes = ({}, {"assertions": []}, {"outcome": "planned"}, {"assertions": [], "outcome": "planned"})
    variants = [{**step, **change} for step in steps for change in changes]
    assert {bool(_checks(s)) for s in variants} == {True, False}
    assert all(_has_checks(step) == bool(_checks(step)) for step in variants)
