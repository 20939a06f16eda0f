"""The Axis contract as data: one request builder per SDK operation, and the names of secrets.

Public so that tools built on the SDK (the runner's dry-run, its scenario checker, its
redactor) use the very descriptions live sends use: each operation is described as data
(``RequestSpec``) before anything is sent, so a dry-run renders exactly the request that live
mode sends: the same method, path, query, headers and body bytes.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

__all__ = [
    "EFFECTFUL",
    "OPERATIONS",
    "PreparedRequest",
    "RequestSpec",
    "AUTH_SOURCES",
    "CLIENT_CREDENTIALS_SOURCE",
    "SECRET_ENV",
    "SECRET_HEADERS",
    "build",
    "prepare",
    "prepare_stream",
    "sub_request_id",
    "encode_json",
    "operation_names",
    "operation_parameters",
]


def _wire_number(value: Any) -> Any:
    # Scenario values arrive as exact decimals; on the wire a JSON number is what the API takes.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(body: Any) -> bytes:
    """The exact bytes of a JSON body: compact, sorted keys, UTF-8, so digests are stable."""
    return json.dumps(
        body, separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False, default=_wire_number
    ).encode()


def sub_request_id(request_id: str, index: int, count: int) -> str:
    """The X-Request-Id of request ``index`` (1-based) of an operation that makes ``count`` of them."""
    return request_id if count == 1 else f"{request_id}.{index}"


@dataclass(frozen=True)
class RequestSpec:
    """A request as data: what to send, independent of credentials and ids.

    ``path`` is relative to the client's base URL; ``fallback_path`` is tried when the
    server answers 404 for ``path`` (health). ``mutating`` requests get an
    ``Idempotency-Key`` and are only retried because they carry one.
    """

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None
    form: tuple[tuple[str, str], ...] | None = None
    mutating: bool = False
    fallback_path: str | None = None
    idempotency_key: str | None = None
    auth_required: bool = True

    def with_idempotency_key(self, key: str) -> RequestSpec:
        """The same request carrying ``key``, in the body too where the body has a slot for it."""
        body = self.json
        if isinstance(body, dict) and "idempotencyKey" in body:
            body = {**body, "idempotencyKey": key}
        return dataclasses.replace(self, idempotency_key=key, json=body)

    def body_bytes(self) -> bytes:
        """The body exactly as it goes on the wire (empty for none)."""
        if self.form is not None:
            return urlencode(list(self.form)).encode()
        if self.json is None:
            return b""
        return encode_json(self.json)

    def content_type(self) -> str | None:
        if self.form is not None:
            return "application/x-www-form-urlencoded"
        if self.json is not None:
            return "application/json"
        return None


# Headers whose values are credentials; their values never appear in a repr.
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "set-cookie"})
# Environment variables whose values are credentials: redacted wherever they could surface.
SECRET_ENV = (
    "AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN", "AXIS_AUTH_PASSWORD", "VELIKEY_API_KEY", "AXIS_CLIENT_SECRET"
)
CREDENTIALS_SOURCE = "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"
CLIENT_CREDENTIALS_SOURCE = "AXIS_CLIENT_ID+AXIS_CLIENT_SECRET"
# Every auth source the SDK looks at, in the order it looks; AuthMissingError lists these.
AUTH_SOURCES: tuple[str, ...] = (
    "AXIS_SESSION_COOKIE",
    "AXIS_SESSION_TOKEN",
    "AXIS_SESSION_COOKIE_FILE",
    "AXIS_SESSION_COOKIE_COMMAND",
    "VELIKEY_API_KEY",
    CLIENT_CREDENTIALS_SOURCE,
    CREDENTIALS_SOURCE,
)


@dataclass(frozen=True)
class PreparedRequest:
    """Exactly what goes on the wire, secrets included: render it only through a redactor.

    The repr hides credential headers anyway: errors carry their exchange, and tracebacks
    with locals, test failures or error trackers print reprs without asking.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __repr__(self) -> str:
        headers = tuple((k, "[REDACTED]" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers)
        return f"PreparedRequest(method={self.method!r}, url={self.url!r}, headers={headers!r}, body={self.body!r})"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def prepare(
    spec: RequestSpec,
    *,
    base_url: str,
    request_id: str,
    auth_headers: Mapping[str, str] | None = None,
    path: str | None = None,
) -> PreparedRequest:
    """The one place a request description becomes wire bytes, for live sends and dry-run renders alike."""
    url = base_url.rstrip("/") + (path or spec.path)
    if spec.params:
        url += "?" + urlencode(list(spec.params))
    # identity: the SDK reads bodies within a byte budget, which a compressed body could dodge.
    headers: list[tuple[str, str]] = [
        ("Accept", "application/json"),
        ("Accept-Encoding", "identity"),
        ("X-Request-Id", request_id),
    ]
    content_type = spec.content_type()
    if content_type:
        headers.append(("Content-Type", content_type))
    if spec.mutating and spec.idempotency_key:
        headers.append(("Idempotency-Key", spec.idempotency_key))
    headers.extend((auth_headers or {}).items())
    return PreparedRequest(spec.method, url, tuple(headers), spec.body_bytes())


def prepare_stream(url: str, *, request_id: str, idempotency_key: str, length: int) -> PreparedRequest:
    """The payload probe's request: a streamed octet body, no credentials (the URL may be another host)."""
    headers = (
        ("Accept", "application/json"),
        ("Accept-Encoding", "identity"),
        ("X-Request-Id", request_id),
        ("Content-Type", "application/octet-stream"),
        ("Content-Length", str(length)),
        ("Idempotency-Key", idempotency_key),
    )
    return PreparedRequest("POST", url, headers, b"")


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _get_health() -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/healthz", fallback_path="/health", auth_required=False),)


def _page(limit: int | None, offset: int | None) -> tuple[tuple[str, str], ...]:
    # Sent only when given, so a plain list call is the same request it always was.
    return tuple((name, str(int(value))) for name, value in (("limit", limit), ("offset", offset)) if value is not None)


def _policies_list(
    active_only: bool = True, limit: int | None = None, offset: int | None = None
) -> tuple[RequestSpec, ...]:
    # isActive is the public API's name for the filter (active_only is the reference server's legacy alias).
    return (RequestSpec("GET", "/api/policies", params=(("isActive", _bool(active_only)), *_page(limit, offset))),)


def _billing_get_usage(period: str = "current") -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/usage/summary", params=(("period", str(period)),)),)


def _monitoring_get_active_alerts(limit: int = 100, offset: int | None = None) -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/alerts", params=(("resolved", "false"), *_page(limit, offset))),)


def _monitoring_get_health_score() -> tuple[RequestSpec, ...]:
    # Derived client-side from usage and open alerts: two reads, one score.
    return _billing_get_usage("current") + _monitoring_get_active_alerts(100)


def _rollouts_plan(
    policy_id: str,
    canary_percent: int = 5,
    stabilization_window_s: int = 300,
    dry_run: bool = True,
    explain: bool = False,
    idempotency_key: str | None = None,
) -> tuple[RequestSpec, ...]:
    body = {
        "policyId": policy_id,
        "canaryPercent": canary_percent,
        "stabilizationWindowS": stabilization_window_s,
        "dryRun": dry_run,
        "explain": explain,
    }
    return (RequestSpec("POST", "/api/rollouts/plan", json=body, mutating=True, idempotency_key=idempotency_key),)


def _rollouts_apply(
    plan_id: str,
    idempotency_key: str | None = None,
    dry_run: bool = True,
    explain: bool = False,
) -> tuple[RequestSpec, ...]:
    # The body repeats the key so servers that read either place see the same one; the
    # placeholder is filled by the client when the caller gives none.
    body = {"planId": plan_id, "idempotencyKey": idempotency_key, "dryRun": dry_run, "explain": explain}
    return (RequestSpec("POST", "/api/rollouts/apply", json=body, mutating=True, idempotency_key=idempotency_key),)


def _rollouts_rollback(
    rollback_token: str,
    confirm: bool = True,
    explain: bool = False,
    idempotency_key: str | None = None,
) -> tuple[RequestSpec, ...]:
    body = {"rollbackToken": rollback_token, "confirm": confirm, "confirmation": "ROLLBACK", "explain": explain}
    return (
        RequestSpec("POST", "/api/rollouts/rollback", json=body, mutating=True, idempotency_key=idempotency_key),
    )


def _telemetry_ingest(data: Any, idempotency_key: str | None = None) -> tuple[RequestSpec, ...]:
    return (
        RequestSpec("POST", "/api/telemetry/ingest", json=data, mutating=True, idempotency_key=idempotency_key),
    )


OPERATIONS: Mapping[str, Callable[..., tuple[RequestSpec, ...]]] = {
    "get_health": _get_health,
    "policies.list": _policies_list,
    "billing.get_usage": _billing_get_usage,
    "monitoring.get_active_alerts": _monitoring_get_active_alerts,
    "monitoring.get_health_score": _monitoring_get_health_score,
    "rollouts.plan": _rollouts_plan,
    "rollouts.apply": _rollouts_apply,
    "rollouts.rollback": _rollouts_rollback,
    "telemetry.ingest": _telemetry_ingest,
}

# Operations whose effect is real unless they say otherwise: the runner gates them behind --confirm.
EFFECTFUL: Mapping[str, Callable[[Mapping[str, Any]], bool]] = {
    "rollouts.apply": lambda kw: not kw.get("dry_run", True),
    "rollouts.rollback": lambda kw: bool(kw.get("confirm", True)),
}


def operation_names() -> frozenset[str]:
    """Every dotted operation name a scenario may ``call``."""
    return frozenset(OPERATIONS)


def operation_parameters(name: str) -> Mapping[str, inspect.Parameter]:
    """The keyword arguments an operation accepts, for validating scenarios before a run."""
    return inspect.signature(OPERATIONS[name]).parameters


def build(name: str, /, **kwargs: Any) -> tuple[RequestSpec, ...]:
    """The requests an operation makes, in order; raises ``KeyError``/``TypeError`` on misuse."""
    return OPERATIONS[name](**kwargs)
