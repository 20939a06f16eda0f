"""Every kind of bad scenario gives exactly one clear ``file:line: field: message``."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_helpers import VALID, errors_of, replace, write

from runner.scenario import lint, load_scenarios

CASES: list[tuple[str, str, int | None, str, str]] = [
    # (case id, scenario text, line, field, message fragment)
    ("yaml-syntax", "id: demo\ntitle: [unclosed\nneeds: []\n", 3, "yaml", "expected ',' or ']'"),
    ("yaml-tab", "id: demo\n\ttitle: x\n", 2, "yaml", "found character '\\t'"),
    ("not-a-mapping", "- id: demo\n- title: x\n", 1, "document", "the file is a list; a scenario is a mapping"),
    ("scalar-document", "just text\n", 1, "document", "the file is a string"),
    ("empty-file", "", None, "document", "the file is empty"),
    ("control-character", "id: demo\ntitle: a\x07b\n", 2, "yaml", "unacceptable character #x0007"),
    (
        "duplicate-key",
        replace("      dry_run: true\n", "      policy_id: again\n"),
        13,
        "steps[1].with.policy_id",
        "duplicate key 'policy_id' (first at line 12)",
    ),
    ("duplicate-top-key", VALID + "id: again\n", 24, "id", "duplicate key 'id' (first at line 1)"),
    ("alias", replace("{period: current}", "&p {period: current}") + "extra: *p\n", 24, "yaml", "aliases (*p)"),
    (
        "merge-key",
        replace("    with: {period: current}\n", "    with: {<<: {period: current}}\n"),
        7,
        "steps[0].with",
        "merge keys (<<) are not allowed",
    ),
    ("binary-tag", replace("title: Demo scenario", "title: !!binary aGk="), 2, "title", "unsupported YAML tag"),
    (
        "non-string-key",
        replace("    with: {period: current}\n", "    with: {1: current}\n"),
        7,
        "steps[0].with",
        "mapping key '1' is not a string",
    ),
    (
        "unknown-top-key",
        replace("title: Demo scenario\n", "title: Demo scenario\ncolour: red\n"),
        3,
        "colour",
        "unknown key",
    ),
    (
        "unknown-step-key",
        replace("    with: {period: current}\n", "    wiht: {period: current}\n"),
        7,
        "steps[0].wiht",
        "unknown key",
    ),
    ("missing-title", replace("title: Demo scenario\n", ""), 1, "title", "required key is missing"),
    ("bad-scenario-id", replace("id: demo\n", "id: Demo_1\n"), 1, "id", "invalid id 'Demo_1'"),
    (
        "unknown-need",
        replace("needs: [session, policy_id, payload_url]", "needs: [session, policy, payload_url]"),
        3,
        "needs[1]",
        "unknown input 'policy'",
    ),
    (
        "need-twice",
        replace("needs: [session, policy_id, payload_url]", "needs: [session, session, policy_id, payload_url]"),
        3,
        "needs",
        "'session' is listed twice",
    ),
    ("no-steps", VALID.split("steps:")[0] + "steps: []\n", 4, "steps", "must not be empty"),
    (
        "step-two-kinds",
        replace("  - id: probe\n", "  - id: probe\n    call: get_health\n"),
        20,
        "steps[3]",
        "exactly one of call, probe, metering",
    ),
    (
        "step-not-mapping",
        replace("  - id: probe\n    probe: {payload: {size: 1024, seed: 7}}\n", "  - probe\n"),
        20,
        "steps[3]",
        "exactly one of call, probe, metering",
    ),
    (
        "call-not-string",
        replace("    call: billing.get_usage\n", "    call: [billing]\n"),
        6,
        "steps[0].call",
        "expected a string, got a list",
    ),
    (
        "duplicate-step-id",
        replace("  - id: apply\n", "  - id: plan\n"),
        15,
        "steps[2].id",
        "duplicate step id 'plan' (first at line 9)",
    ),
    (
        "unknown-operation",
        replace("call: rollouts.apply", "call: rollouts.aply"),
        16,
        "steps[2].call",
        "unknown SDK operation 'rollouts.aply'",
    ),
    (
        "unknown-argument",
        replace("      dry_run: true\n", "      dryrun: true\n"),
        13,
        "steps[1].with.dryrun",
        "rollouts.plan has no argument 'dryrun'",
    ),
    (
        "runner-owned-argument",
        replace("      dry_run: true\n", "      idempotency_key: k1\n"),
        13,
        "steps[1].with.idempotency_key",
        "idempotency_key cannot be set in a scenario",
    ),
    (
        "missing-argument",
        replace('      policy_id: "${inputs.policy_id}"\n', ""),
        11,
        "steps[1].with",
        "rollouts.plan needs argument 'policy_id'",
    ),
    (
        "yaml11-boolean-argument",
        replace("      dry_run: true\n", "      dry_run: yes\n"),
        13,
        "steps[1].with.dry_run",
        "argument 'dry_run' must be true/false, got 'yes'",
    ),
    (
        "int-argument-as-string",
        replace("      dry_run: true\n", "      canary_percent: '5'\n"),
        13,
        "steps[1].with.canary_percent",
        "must be an integer, got '5'",
    ),
    (
        "save-bad-path",
        replace("save: {gb: usage.telemetryDataGB}", "save: {gb: usage..telemetryDataGB}"),
        8,
        "steps[0].save.gb",
        "invalid response path 'usage..telemetryDataGB'",
    ),
    (
        "save-bad-name",
        replace("save: {gb: usage.telemetryDataGB}", "save: {1gb: usage.telemetryDataGB}"),
        8,
        "steps[0].save.1gb",
        "key '1gb': invalid saved name",
    ),
    (
        "expect-bad-path",
        replace("{path: success, equals: true}", "{path: 'a b', equals: true}"),
        19,
        "steps[2].expect[0].path",
        "invalid response path 'a b'",
    ),
    (
        "expect-two-operators",
        replace("{path: success, equals: true}", "{path: success, equals: true, exists: true}"),
        19,
        "steps[2].expect[0]",
        "exactly one of equals, min, max, exists, one_of, matches (got equals, exists)",
    ),
    (
        "expect-bad-regex",
        replace("{path: success, equals: true}", "{path: success, matches: '('}"),
        19,
        "steps[2].expect[0].matches",
        "invalid regular expression '('",
    ),
    (
        "expect-float-min",
        replace("{path: success, equals: true}", "{path: success, min: abc}"),
        19,
        "steps[2].expect[0].min",
        "expected a number, got 'abc'",
    ),
    (
        "expect-bad-reason",
        replace("{path: success, equals: true}", "{path: success, equals: true, reason: Bad}"),
        19,
        "steps[2].expect[0].reason",
        "invalid reason code 'Bad'",
    ),
    (
        "expect-unknown-reason",
        replace("{path: success, equals: true}", "{path: success, equals: true, reason: made_up}"),
        19,
        "steps[2].expect[0].reason",
        "unknown reason code 'made_up'",
    ),
    (
        "expect-blocked-reason",
        replace("{path: success, equals: true}", "{path: s, exists: true, reason: policy_missing}"),
        19,
        "steps[2].expect[0].reason",
        "reason 'policy_missing' is a blocked code; a failed assertion needs a fail code",
    ),
    (
        "expect-reference",
        replace("{path: success, equals: true}", "{path: id, equals: '${inputs.policy_id}'}"),
        19,
        "steps[2].expect[0].equals",
        "expectations are compared literally",
    ),
    (
        "unknown-input",
        replace("${inputs.policy_id}", "${inputs.policy}"),
        12,
        "steps[1].with.policy_id",
        "${inputs.policy}: unknown input 'policy'",
    ),
    (
        "undeclared-input",
        replace("needs: [session, policy_id, payload_url]", "needs: [session, payload_url]"),
        12,
        "steps[1].with.policy_id",
        "${inputs.policy_id} is used but 'policy_id' is not in the scenario's or this step's",
    ),
    (
        "session-interpolated",
        replace("${inputs.policy_id}", "${inputs.session}"),
        12,
        "steps[1].with.policy_id",
        "${inputs.session} cannot be interpolated",
    ),
    (
        "malformed-reference",
        replace("${inputs.policy_id}", "${inputs}"),
        12,
        "steps[1].with.policy_id",
        "invalid reference '${inputs}'",
    ),
    (
        "unterminated-reference",
        replace("${inputs.policy_id}", "${inputs.policy_id"),
        12,
        "steps[1].with.policy_id",
        "unterminated reference",
    ),
    (
        "later-step-reference",
        replace("${steps.plan.plan_id}", "${steps.delta.x}"),
        17,
        "steps[2].with.plan_id",
        "${steps.delta.x} refers to itself or a later step",
    ),
    (
        "self-reference",
        replace("${steps.plan.plan_id}", "${steps.apply.x}"),
        17,
        "steps[2].with.plan_id",
        "refers to itself or a later step",
    ),
    (
        "unknown-step-reference",
        replace("${steps.plan.plan_id}", "${steps.nope.x}"),
        17,
        "steps[2].with.plan_id",
        "refers to no step of this scenario",
    ),
    (
        "unsaved-name",
        replace("${steps.plan.plan_id}", "${steps.plan.planId}"),
        17,
        "steps[2].with.plan_id",
        "step 'plan' does not save 'planId' (it saves plan_id)",
    ),
    (
        "metering-before-later",
        replace("before: usage,", "before: delta,"),
        23,
        "steps[4].metering.before",
        "names itself or a later step",
    ),
    (
        "metering-before-unknown",
        replace("before: usage,", "before: nope,"),
        23,
        "steps[4].metering.before",
        "names no step of this scenario",
    ),
    (
        "metering-before-not-usage",
        replace("before: usage,", "before: apply,"),
        23,
        "steps[4].metering.before",
        "is a call to rollouts.apply; it must be an earlier billing.get_usage step",
    ),
    (
        "metering-before-probe",
        replace("before: usage,", "before: probe,"),
        23,
        "steps[4].metering.before",
        "is a probe step",
    ),
    (
        "from-probes-without-probe",
        replace("  - id: probe\n    probe: {payload: {size: 1024, seed: 7}}\n", ""),
        21,
        "steps[3].metering.expect",
        "from_probes needs at least one probe step between 'usage' and this step",
    ),
    (
        "metering-bad-expect",
        replace("expect: from_probes}", "expect: from_probe}"),
        23,
        "steps[4].metering.expect",
        "expected a number, a {min, max} mapping or from_probes, got 'from_probe'",
    ),
    (
        "metering-negative-tolerance",
        replace("expect: from_probes}", "expect: from_probes, tolerance: '-1'}"),
        23,
        "steps[4].metering.tolerance",
        "must be >= 0",
    ),
    (
        "metering-empty-range",
        replace("expect: from_probes}", "expect: {}}"),
        23,
        "steps[4].metering.expect",
        "a range needs min, max or both",
    ),
    (
        "probe-without-payload-url",
        replace("needs: [session, policy_id, payload_url]", "needs: [session, policy_id]"),
        21,
        "steps[3].probe",
        "a probe sends to payload_url",
    ),
    (
        "probe-two-sources",
        replace("{payload: {size: 1024, seed: 7}}", "{payload: {size: 1024, seed: 7}, text: hi}"),
        21,
        "steps[3].probe",
        "exactly one of payload, text, file (got payload, text)",
    ),
    ("probe-negative-size", replace("size: 1024", "size: -1"), 21, "steps[3].probe.payload.size", "must be >= 0"),
    (
        "probe-absolute-file",
        replace("{payload: {size: 1024, seed: 7}}", "{file: /etc/passwd}"),
        21,
        "steps[3].probe.file",
        "must be relative to the scenario file, not absolute",
    ),
    (
        "probe-dotdot-file",
        replace("{payload: {size: 1024, seed: 7}}", "{file: data/../../secret.bin}"),
        21,
        "steps[3].probe.file",
        "must not contain a '..' segment",
    ),
]


@pytest.mark.parametrize(("text", "line", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_class_gives_one_located_error(
    tmp_path: Path, text: str, line: int | None, field: str, fragment: str
) -> None:
    errors = errors_of(tmp_path, text)
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert (error.file, error.line, error.field) == ("s.yaml", line, field)
    assert fragment in error.message
    prefix = "s.yaml" if line is None else f"s.yaml:{line}"
    assert str(error) == f"{prefix}: {field}: {error.message}"


def test_valid_text_has_no_errors(tmp_path: Path) -> None:
    assert errors_of(tmp_path, VALID) == ()


def test_not_utf8(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, b"id: demo\ntitle: caf\xe9\n")
    assert str(error) == "s.yaml:2: encoding: not UTF-8 (byte 0xe9)"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, VALID)

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    (error,) = load_scenarios([tmp_path / "s.yaml"], cwd=tmp_path).errors
    assert str(error) == "s.yaml: file: cannot read: Permission denied"


def test_too_large_file(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, VALID + "#" * (1024 * 1024))
    assert (error.field, error.line) == ("file", None)


def test_duplicate_scenario_id_across_files(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yaml")
    write(tmp_path, "# the same id again\n" + VALID, "b.yaml")
    result = load_scenarios([tmp_path], cwd=tmp_path)
    assert [str(e) for e in result.errors] == ["b.yaml:2: id: duplicate scenario id 'demo' (first defined at a.yaml:1)"]
    assert [s.source.file for s in result.scenarios if s.source] == ["a.yaml"]


def test_errors_from_several_files_in_file_then_line_order(tmp_path: Path) -> None:
    write(tmp_path, replace("call: rollouts.apply", "call: nope", replace("id: demo", "id: two")), "b.yaml")
    write(tmp_path, replace("title: Demo scenario\n", "title: Demo scenario\ncolour: red\n"), "a.yaml")
    assert lint([tmp_path], cwd=tmp_path) == [
        "a.yaml:3: colour: unknown key",
        "b.yaml:16: steps[2].call: unknown SDK operation 'nope'; known: billing.get_usage, get_health,"
        " monitoring.get_active_alerts, monitoring.get_health_score, policies.list, rollouts.apply,"
        " rollouts.get_events, rollouts.plan, rollouts.rollback, telemetry.ingest",
    ]


def test_several_structural_errors_in_one_file_are_all_reported_in_line_order(tmp_path: Path) -> None:
    text = replace("id: demo\n", "id: Demo\n")
    text = replace("size: 1024", "size: -1", text)
    text = replace("    call: billing.get_usage\n", "    call: 7\n", text)
    assert [(e.line, e.field) for e in errors_of(tmp_path, text)] == [
        (1, "id"),
        (6, "steps[0].call"),
        (21, "steps[3].probe.payload.size"),
    ]


def test_step_level_needs_declare_inputs(tmp_path: Path) -> None:
    text = replace("needs: [session, policy_id, payload_url]", "needs: [session, payload_url]")
    text = replace("  - id: plan\n", "  - id: plan\n    needs: [policy_id]\n", text)
    assert errors_of(tmp_path, text) == ()


def test_base_url_needs_no_declaration(tmp_path: Path) -> None:
    text = replace("{period: current}", '{period: "${inputs.base_url}"}')
    assert errors_of(tmp_path, text) == ()


def test_reference_to_a_probe_step(tmp_path: Path) -> None:
    text = replace("  - id: apply\n", "  - id: early\n    probe: {text: hi}\n  - id: apply\n")
    text = replace("${steps.plan.plan_id}", "${steps.early.bytes}", text)
    (error,) = errors_of(tmp_path, text)
    assert str(error) == (
        "s.yaml:19: steps[3].with.plan_id: ${steps.early.bytes}: step 'early' is a probe step and saves nothing"
    )


def test_long_values_keep_messages_on_one_bounded_line(tmp_path: Path) -> None:
    (error,) = errors_of(tmp_path, replace("id: demo\n", f"id: {'x' * 5000}\n"))
    assert (error.line, error.field) == (1, "id")
    assert len(error.message) <= 400 and "\n" not in str(error)
