"""Receipt views of the engine's raw results: requests, answers, assertions, probes, messages.

Every view is redacted here. Requests are shown from ``PreparedRequest`` — the very object
live mode sends — so a dry-run's rendered request and a live run's recorded one cannot drift
apart, and each is reproducible as a curl command.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from sys import intern
from typing import Any

from runner.canonical import decimal_str, jcs, sha256_tag
from runner.engine.results import Answer, Assertion, Exchanged, Metering, Polling, Probe, Rendered, StepResult
from runner.reasons import reason_for_error
from runner.scenario.interpolate import MISSING
from velikey.operations import EVENT_STREAM

from .redact import REDACTED, SECRET_HEADERS, Redactor

__all__ = [
    "CAPPED_VALUE",
    "MAX_RECORDED_VALUE_BYTES",
    "assertion_view",
    "exchange_body",
    "exchange_view",
    "message",
    "metering_view",
    "polling_view",
    "probe_view",
    "recorded_value",
    "request_view",
    "response_view",
]

MAX_EVIDENCE_BODY_BYTES = 64 * 1024
MAX_MESSAGE_CHARS = 300
# A saved or asserted value past this (as canonical JSON) is recorded by its size and digest, as a
# body past MAX_EVIDENCE_BODY_BYTES is: one 10 MB string saved from an answer made 20 MB of SUMMARY.json.
MAX_RECORDED_VALUE_BYTES = 4 * 1024
CAPPED_VALUE = re.compile(r"\[not recorded: [0-9]+ bytes of JSON, sha256:[0-9a-f]{64}\]")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ENV_FOR_HEADER = {"authorization": "Bearer $VELIKEY_API_KEY", "cookie": "$AXIS_SESSION_COOKIE"}


def _double_quoted(text: str) -> str:
    """Quote for a shell, keeping ``$NAME`` expansions live (URLs and secrets come from env)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`") + '"'


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _curl(method: str, url: str, headers: dict[str, str], body: str | None, body_bytes: int) -> str:
    parts = ["curl", "-sS", "-X", method, _double_quoted(url)]
    for name, value in headers.items():
        if name in SECRET_HEADERS:
            value = _ENV_FOR_HEADER.get(name, REDACTED)
            parts += ["-H", _double_quoted(f"{name}: {value}")]
        else:
            parts += ["-H", _single_quoted(f"{name}: {value}")]
    if body is not None:
        parts += ["--data-raw", _single_quoted(body)]
    elif body_bytes:
        parts += ["--data-binary", "@payload.bin"]
    return " ".join(parts)


def _json_body(body: bytes, redactor: Redactor) -> str | None:
    try:
        return redactor.text(json.dumps(redactor.value(json.loads(body)), sort_keys=True, separators=(",", ":"),
                                        ensure_ascii=False))
    except ValueError:
        return None


def request_view(rendered: Rendered, redactor: Redactor) -> dict[str, Any]:
    """``{method, url, headers, body_sha256, body_bytes, curl}`` with secrets gone.

    A streamed payload has no ``body`` in memory; its digest and length come with it.
    """
    request = rendered.request
    headers = redactor.headers(request.headers)
    url = redactor.url(request.url)
    digest: str | None
    shown: str | None
    if request.body:
        digest, size = sha256_tag(request.body), len(request.body)
        # Like an answer's body, a large one is stood for by its digest and size (it may hold a saved value).
        shown = _json_body(request.body, redactor) if size <= MAX_EVIDENCE_BODY_BYTES else None
    else:
        digest = f"sha256:{rendered.streamed_sha256}" if rendered.streamed_sha256 else None
        size, shown = rendered.streamed_bytes, None
    return {
        "method": request.method,
        # Shared, not copied: a long run's summary holds a view per step, most of them of the same few URLs,
        # content types, answers and messages (interned, they cost 0.37 KiB a step less; issue 11).
        "url": intern(url),
        "headers": headers,
        "body_sha256": digest,
        "body_bytes": size,
        "curl": _curl(request.method, url, headers, shown, size),
    }


def response_view(exchange: Answer) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "body_sha256": intern(sha256_tag(exchange.body)),
        "body_bytes": len(exchange.body),
        "content_type": None if exchange.content_type is None else intern(exchange.content_type),
        "replayed": exchange.replayed,
    }


def exchange_body(exchange: Answer, redactor: Redactor) -> Any:
    """The parsed, redacted answer for evidence: small JSON, or a small event stream as its text; else None."""
    if len(exchange.body) > MAX_EVIDENCE_BODY_BYTES:
        return None
    if (exchange.content_type or "").split(";")[0].strip().lower() == EVENT_STREAM:
        try:
            return redactor.text(exchange.body.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    try:
        return redactor.value(json.loads(exchange.body.decode("utf-8"), parse_float=Decimal))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def exchange_view(exchanged: Exchanged, redactor: Redactor) -> dict[str, Any]:
    """One entry of an evidence file's ``exchanges``: request, answer, parsed body, attempts, error."""
    exchange, error = exchanged.exchange, exchanged.error
    return {
        "request": request_view(exchanged.request, redactor),
        "response": response_view(exchange) if exchange is not None else None,
        "body": exchange_body(exchange, redactor) if exchange is not None else None,
        "attempts": exchanged.attempts,
        "error": None if error is None else {
            "type": type(error).__name__,
            "reason_code": reason_for_error(error),
            "message": redactor.text(error.message),
        },
    }


def recorded_value(value: Any, redactor: Redactor) -> Any:
    """``value`` as a receipt holds it: redacted, and past ``MAX_RECORDED_VALUE_BYTES`` only its size and
    digest (``CAPPED_VALUE``); the engine keeps using the whole value.
    """
    shown = redactor.value(value)
    data = jcs(shown)
    if len(data) <= MAX_RECORDED_VALUE_BYTES:
        return shown
    return f"[not recorded: {len(data)} bytes of JSON, {sha256_tag(data)}]"


def assertion_view(assertion: Assertion, redactor: Redactor) -> dict[str, Any]:
    return {
        "path": assertion.path,
        "op": assertion.op,
        "expected": recorded_value(assertion.expected, redactor),
        "actual": None if assertion.actual is MISSING else recorded_value(assertion.actual, redactor),
        "passed": assertion.passed,
        "reason_code": assertion.reason_code,
    }


def probe_view(probe: Probe) -> dict[str, Any]:
    """The probe's facts as digests; an echo that is not a SHA-256 is shown as absent."""
    echo = probe.echo_sha256.lower()
    return {
        "source": probe.source,
        "bytes": probe.bytes,
        "sha256": f"sha256:{probe.sha256}",
        "echo_sha256": f"sha256:{echo}" if _HEX64.fullmatch(echo) else None,
        "echo_bytes": probe.echo_bytes,
        "matched": probe.matched,
        "replayed": probe.replayed,
        "generator": probe.generator,
    }


def metering_view(metering: Metering) -> dict[str, Any]:
    """Decimals as canonical strings; ``before`` is empty when the earlier step had no number."""
    low, high = metering.window()
    return {
        "path": metering.path,
        "before": "" if metering.before is None else decimal_str(metering.before),
        "after": None if metering.after is None else decimal_str(metering.after),
        "delta": None if metering.delta is None else decimal_str(metering.delta),
        "expected_min": low,
        "expected_max": high,
        "settled": metering.settled,
    }


def polling_view(polling: Polling) -> dict[str, Any]:
    """An ``until:`` step's policy (decimal strings) and the polls it made (null in a dry run)."""
    return {
        "every_s": decimal_str(polling.every_s),
        "within_s": decimal_str(polling.within_s),
        "max_polls": polling.max_polls,
        "polls": polling.polls,
    }


def _one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message(step: StepResult, redactor: Redactor) -> str:
    """The step's message for receipts: redacted first, then one line (a cut never halves a secret).

    A failed assertion is described by the first one that failed, with its redacted operands.
    """
    broken = next((a for a in step.assertions if not a.passed), None)
    if broken is None:
        return _one_line(redactor.text(step.message))
    shown = assertion_view(broken, redactor)
    return _one_line(f"expected {shown['path']} {shown['op']} {shown['expected']!r}, got {shown['actual']!r}")
