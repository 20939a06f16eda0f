"""The evidence stage turns raw results into documents, redacting every view of them."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import httpx

from runner import exits
from runner.config import RunConfig
from runner.engine.results import Answer, Assertion, Exchanged, Metering, Probe, Rendered, ScenarioResult, StepResult
from runner.evidence.collect import Documents, collect, exit_code
from runner.evidence.redact import REDACTED, Redactor
from runner.evidence.views import exchange_view, message, metering_view, probe_view, request_view
from runner.ids import RunIds
from runner.preflight import Preflight
from runner.scenario import MISSING
from velikey import Exchange
from velikey.exceptions import ServerError
from velikey.operations import RequestSpec, prepare

SECRET = "zq9x-secret-value-77"
BASE = "https://tenant.example"
REDACTOR = Redactor([SECRET], {BASE: "AXIS_BASE_URL"})


def _prepared(token: str = SECRET) -> Rendered:
    spec = RequestSpec("POST", "/api/rollouts/plan", json={"policyId": "pol-1", "note": token}, mutating=True)
    return Rendered(prepare(spec.with_idempotency_key("idem-1"), base_url=BASE, request_id="req-1",
                            auth_headers={"Authorization": f"Bearer {token}"}))


def _exchange(body: bytes, status: int = 200) -> Exchange:
    return Exchange(_prepared().request, status, httpx.Headers({"content-type": "application/json"}), body, 2)


def test_a_request_view_names_inputs_and_hides_credentials() -> None:
    view = request_view(_prepared(), REDACTOR)
    assert view["url"] == "$AXIS_BASE_URL/api/rollouts/plan"
    assert view["headers"]["authorization"] == REDACTED
    assert '"authorization: Bearer $VELIKEY_API_KEY"' in view["curl"]
    assert SECRET not in repr(view) and view["body_sha256"].startswith("sha256:")


def test_a_streamed_request_shows_its_digest_and_length() -> None:
    rendered = Rendered(prepare(RequestSpec("PUT", "/ingest"), base_url=BASE, request_id="r"), "ab" * 32, 7)
    view = request_view(rendered, REDACTOR)
    assert (view["body_sha256"], view["body_bytes"]) == (f"sha256:{'ab' * 32}", 7)
    assert view["curl"].endswith("--data-binary @payload.bin")


def test_an_exchange_view_redacts_the_answer_and_the_error() -> None:
    exchange = _exchange(f'{{"echo": "{SECRET}", "gb": 0.1}}'.encode(), status=503)
    error = ServerError(f"failed with {SECRET}", status=503)
    view = exchange_view(Exchanged(_prepared(), Answer.of(exchange), exchange.attempts, error), REDACTOR)
    assert view["body"] == {"echo": REDACTED, "gb": "0.1"}
    assert view["response"]["status"] == 503 and view["attempts"] == 2
    assert view["error"] == {"type": "ServerError", "reason_code": "server_error", "message": f"failed with {REDACTED}"}
    unanswered = exchange_view(Exchanged(_prepared(), None, 3, error), REDACTOR)
    assert (unanswered["response"], unanswered["body"], unanswered["attempts"]) == (None, None, 3)


def test_messages_are_redacted_before_they_are_cut_to_one_line() -> None:
    step = StepResult("s", "call", "failed", "server_error", "x" * 290 + "\n" + SECRET)
    shown = message(step, REDACTOR)
    assert "\n" not in shown and len(shown) == 300 and SECRET[:4] not in shown


def test_a_failed_assertion_is_described_by_its_redacted_operands() -> None:
    assertions = (Assertion("a", "equals", "ok", "ok", True, "assertion_failed"),
                  Assertion("b.c", "equals", Decimal("1.50"), SECRET, False, "assertion_failed"),
                  Assertion("d", "exists", True, MISSING, False, "assertion_failed"))
    step = StepResult("s", "call", "failed", "assertion_failed", "", assertions=assertions)
    assert message(step, REDACTOR) == f"expected b.c equals '1.5', got '{REDACTED}'"


def test_probe_and_metering_views_are_canonical_strings() -> None:
    probe = Probe("text", 5, "ab" * 32, "AB" * 32, 5, True, False)
    assert probe_view(probe)["echo_sha256"] == f"sha256:{'ab' * 32}"
    assert probe_view(Probe("text", 5, "ab" * 32, "not a digest", 5, False, False))["echo_sha256"] is None
    metering = Metering("usage.gb", Decimal("1.000"), None, Decimal("2E+1"), Decimal("1.5"), Decimal("0.500"), True)
    assert metering_view(metering) == {"path": "usage.gb", "before": "1", "after": "1.5", "delta": "0.5",
                                       "expected_min": "-inf", "expected_max": "20", "settled": True}
    assert metering_view(Metering("p", None, Decimal(0), Decimal(1)))["before"] == ""


def _preflight(**fields: object) -> Preflight:
    base: dict[str, object] = dict(
        ids=RunIds.for_plan({"t": 1}, "live"), scenario_files=({"id": "gate", "file": "t/g.yaml", "sha256": "x"},),
        shown={}, values={"base_url": BASE}, missing=(), blocker_codes=(), auth_source="VELIKEY_API_KEY",
        auth_header="Authorization", live=True, blocked=False, guidance=(), secrets=(SECRET,),
        urls={BASE: "AXIS_BASE_URL"},
    )
    return Preflight(**{**base, **fields})  # type: ignore[arg-type]


def _collect(pre: Preflight, steps: tuple[StepResult, ...]) -> Documents:
    config = RunConfig(paths=(Path("t"),), mode="live", env={})
    return collect(config, pre, [ScenarioResult("gate", "Gate", "t/g.yaml", steps)],
                   started_at=datetime.now(timezone.utc), started=0.0)


def test_collect_redacts_with_preflights_secrets_and_writes_the_blocker_from_results() -> None:
    pre = _preflight(blocked=True, live=False, blocker_codes=("auth_invalid",),
                     guidance=(f"AuthenticationError: rejected {SECRET}",))
    steps = (StepResult("health", "call", "blocked", "auth_invalid", "the session could not be established"),)
    docs = _collect(pre, steps)
    assert docs.summary["result"] == "manual-required" and docs.exit_code == exits.MANUAL_REQUIRED
    assert docs.blocker is not None and docs.blocker["reason_codes"] == ["auth_invalid"]
    assert docs.blocker["guidance"][0] == f"AuthenticationError: rejected {REDACTED}"
    assert docs.manifest["run_id"] == pre.ids.run_id and docs.manifest["auth_source"] == "VELIKEY_API_KEY"
    assert docs.evidence == {}


def test_collect_shows_exchanges_as_evidence_and_the_summary_step_as_views() -> None:
    exchange = _exchange(b'{"ok": true}')
    exchanged = Exchanged(Rendered(exchange.request), Answer.of(exchange), 2)
    steps = (StepResult("plan", "call", "passed", "ok", f"done {SECRET}", call="rollouts.plan",
                        requests=(_prepared(),), exchanges=(exchanged,),
                        saved={"token": SECRET, "n": Decimal("0.10")}),)
    docs = _collect(_preflight(), steps)
    step = docs.summary["scenarios"][0]["steps"][0]
    assert step["message"] == f"done {REDACTED}" and step["saved"] == {"token": REDACTED, "n": "0.1"}
    assert step["attempts"] == 2 and step["response"]["status"] == 200
    assert step["evidence"] == "evidence/gate/plan.json" and list(docs.evidence) == ["evidence/gate/plan.json"]
    assert docs.blocker is None and docs.exit_code == exits.PASS


def test_a_step_cut_short_by_a_stop_makes_the_run_exit_130() -> None:
    cut = StepResult("usage", "call", "failed", "interrupted", "the run was interrupted during this step")
    assert exit_code([ScenarioResult("a", "A", "a.yaml", (cut,))]) == exits.INTERRUPTED
    timed_out = StepResult("usage", "call", "failed", "timeout", "out of time")
    assert exit_code([ScenarioResult("a", "A", "a.yaml", (timed_out,))]) == exits.FAIL


def test_an_evidence_document_is_made_once_and_lets_go_of_the_raw_exchange() -> None:
    """A long run must not hold every step's raw exchanges while the rest of its set is built (issue 11): asking
    for a step's evidence renders it and drops the exchange, so nothing but the caller's copy remains."""
    import gc
    import weakref

    from runner.evidence.collect import evidence_documents

    error = ServerError("the tenant said no", status=503)
    watched = weakref.ref(error)
    step = StepResult(id="plan", kind="call", outcome="failed", reason_code="server_error", message="",
                      call="rollouts.plan", exchanges=(Exchanged(_prepared(), None, 1, error),))
    evidence = evidence_documents("run-1", [ScenarioResult("s", "S", "s.yaml", (step,))], REDACTOR)
    del step, error
    gc.collect()
    assert watched() is not None  # still needed: the document is not made yet
    assert list(evidence) == ["evidence/s/plan.json"]
    document = evidence["evidence/s/plan.json"]
    assert document["exchanges"][0]["error"]["type"] == "ServerError" and SECRET not in str(document)
    gc.collect()
    assert watched() is None
    assert len(evidence) == 0 and "evidence/s/plan.json" not in evidence


def test_views_of_equal_requests_and_answers_share_their_strings() -> None:
    """A long run's summary holds a view per step, mostly of the same URLs and answers: equal strings are one
    object, not one per step (issue 11: 0.37 KiB a step of a 10,000-step run's peak)."""
    from runner.evidence.views import response_view

    first, second = (request_view(_prepared(), REDACTOR) for _ in range(2))
    assert first["url"] == second["url"] and first["url"] is second["url"]
    answers = [response_view(Answer.of(_exchange(b'{"ok": true}'))) for _ in range(2)]
    assert answers[0]["body_sha256"] is answers[1]["body_sha256"]
    assert answers[0]["content_type"] is answers[1]["content_type"] == "application/json"
