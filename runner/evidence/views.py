"""Receipt views of requests and answers: redacted, digested, and reproducible as a curl command.

The views are built from ``PreparedRequest`` — the very object live mode sends — so a
dry-run's rendered request and a live run's recorded one cannot drift apart.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from runner.receipts.canonical import sha256_tag
from velikey import Exchange
from velikey.operations import PreparedRequest

from .redact import REDACTED, SECRET_HEADERS, Redactor

__all__ = ["exchange_body", "request_view", "response_view"]

MAX_EVIDENCE_BODY_BYTES = 64 * 1024
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


def request_view(
    request: PreparedRequest,
    redactor: Redactor,
    *,
    streamed_sha256: str | None = None,
    streamed_bytes: int = 0,
) -> dict[str, Any]:
    """``{method, url, headers, body_sha256, body_bytes, curl}`` with secrets gone.

    A streamed payload has no ``body`` in memory; its digest and length are passed in.
    """
    headers = redactor.headers(request.headers)
    url = redactor.url(request.url)
    digest: str | None
    if request.body:
        digest, size = sha256_tag(request.body), len(request.body)
        try:
            shown: str | None = redactor.text(json.dumps(redactor.value(json.loads(request.body)), sort_keys=True,
                                                         separators=(",", ":"), ensure_ascii=False))
        except ValueError:
            shown = None
    else:
        digest = f"sha256:{streamed_sha256}" if streamed_sha256 else None
        size, shown = streamed_bytes, None
    return {
        "method": request.method,
        "url": url,
        "headers": headers,
        "body_sha256": digest,
        "body_bytes": size,
        "curl": _curl(request.method, url, headers, shown, size),
    }


def response_view(exchange: Exchange) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "body_sha256": sha256_tag(exchange.body),
        "body_bytes": len(exchange.body),
        "content_type": exchange.headers.get("content-type"),
    }


def exchange_body(exchange: Exchange, redactor: Redactor) -> Any:
    """The parsed, redacted answer for evidence (None when it is not small JSON)."""
    if len(exchange.body) > MAX_EVIDENCE_BODY_BYTES:
        return None
    try:
        return redactor.value(json.loads(exchange.body.decode("utf-8"), parse_float=Decimal))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
