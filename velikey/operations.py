"""The Axis contract as data: the SDK's public surface for tools built on it, such as the runner.

Every operation a client can ``call`` is described here before anything is sent, so a
dry-run, a scenario checker and a redactor read the very descriptions live sends use:

- ``Operation`` / ``Param`` / ``REQUIRED`` / ``OPERATIONS`` / ``operation(name)`` /
  ``operation_names()``: each operation's keyword parameters (type, default), its request
  builder, the routes it can touch and when its effect is real. This is the one definition:
  the builders apply its defaults, the resource methods are tested against it, and the
  runner's scenario checker type-checks ``with:`` arguments from it.
- ``build(name, **kwargs)`` → ``RequestSpec`` tuple: the requests an operation makes, in order.
- ``prepare`` / ``prepare_stream`` → ``PreparedRequest``: the one place a description becomes
  wire bytes (method, URL, headers, body), for live sends and dry-run renders alike.
- ``sub_request_id``: the ``X-Request-Id`` of each request of a multi-request operation.
- ``EFFECTFUL``: operations whose effect is real unless their arguments say otherwise.
- ``SECRET_HEADERS``, ``SECRET_ENV``, ``AUTH_SOURCES``, ``CREDENTIALS_SOURCE``: the names of
  credentials, so a redactor and an error message name the same secrets the client uses.

Nothing here sends, holds credentials or imports an HTTP library: it is pure data and functions.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, get_args
from urllib.parse import quote, urlencode

__all__ = [
    "AUTH_SOURCES",
    "CREDENTIALS_SOURCE",
    "EFFECTFUL",
    "EVENT_STREAM",
    "OPERATIONS",
    "CLIENT_CREDENTIALS_SOURCE",
    "REQUIRED",
    "SECRET_ENV",
    "SECRET_HEADERS",
    "Operation",
    "Param",
    "PreparedRequest",
    "RequestSpec",
    "Route",
    "build",
    "encode_json",
    "operation",
    "operation_names",
    "prepare",
    "prepare_stream",
    "sub_request_id",
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


# The media type of a response read as server-sent events rather than JSON.
EVENT_STREAM: Final = "text/event-stream"


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
    accept: str = "application/json"

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


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """Exactly what goes on the wire, secrets included: render it only through a redactor.

    The repr hides credential headers and form bodies anyway (the one form is the credentials
    sign-in, with the password): errors carry their exchange, and tracebacks with locals,
    test failures or error trackers print reprs without asking.
    """

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def __repr__(self) -> str:
        headers = tuple((k, "[REDACTED]" if k.lower() in SECRET_HEADERS else v) for k, v in self.headers)
        form = (self.header("Content-Type") or "").startswith("application/x-www-form-urlencoded")
        body = f"<{len(self.body)} bytes of form, not shown>" if form else repr(self.body)
        return f"PreparedRequest(method={self.method!r}, url={self.url!r}, headers={headers!r}, body={body})"

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
        ("Accept", spec.accept),
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


# -- operations as data ------------------------------------------------------------------------

# A route an operation may send: ("GET", "/api/usage/summary").
Route = tuple[str, str]


class _Required:
    """The type of ``REQUIRED``: a default distinct from every value, ``None`` included."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True)
class Param:
    """One keyword argument of an operation: its name, its type, and its default or ``REQUIRED``.

    ``type`` is a type expression (``bool``, ``str | None``, ``Any``), the same one the typed
    resource method annotates, so tools can check a value without parsing annotation strings.
    """

    name: str
    type: Any
    default: Any = REQUIRED

    def __post_init__(self) -> None:
        self.classes  # noqa: B018 - an unusable type fails when the table is built, not at first use

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def classes(self) -> tuple[type, ...] | None:
        """The classes a value may be an instance of; ``None`` when any JSON value goes (``Any``)."""
        if self.type is Any:
            return None
        members = get_args(self.type) if isinstance(self.type, types.UnionType) else (self.type,)
        # Python 3.10 counts ``list[int]`` as an instance of ``type``; it is a generic alias, not a class.
        if not all(isinstance(member, type) and not isinstance(member, types.GenericAlias) for member in members):
            raise TypeError(f"parameter {self.name!r}: unsupported type {self.type!r}")
        return tuple(members)


@dataclass(frozen=True)
class Operation:
    """One SDK operation: its parameters, how its requests are built, what it touches, when it takes effect.

    ``builder`` receives every parameter by keyword with defaults applied (``build`` applies
    them), so no builder restates a default. ``routes`` is every (method, path) the operation
    may send, fallbacks included; ``effectful`` says, from the bound arguments, whether a call
    has a real effect (``None``: never).
    """

    name: str
    params: tuple[Param, ...]
    builder: Callable[..., tuple[RequestSpec, ...]]
    routes: tuple[Route, ...]
    effectful: Callable[[Mapping[str, Any]], bool] | None = None

    def param(self, name: str) -> Param | None:
        return next((param for param in self.params if param.name == name), None)

    def arguments(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``kwargs`` with the defaults filled in; ``TypeError`` for an unknown or a missing argument."""
        for key in kwargs:
            if self.param(key) is None:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
        missing = [param.name for param in self.params if param.required and param.name not in kwargs]
        if missing:
            raise TypeError(f"{self.name}() missing required argument(s): {', '.join(map(repr, missing))}")
        return {param.name: kwargs.get(param.name, param.default) for param in self.params}

    def build(self, **kwargs: Any) -> tuple[RequestSpec, ...]:
        """The requests this operation makes, in order."""
        return self.builder(**self.arguments(kwargs))

    def is_effectful(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether a call with ``kwargs`` has a real effect (the runner gates those behind --confirm)."""
        return self.effectful is not None and self.effectful(self.arguments(kwargs))

    def touches(self, route: Route) -> bool:
        """Whether this operation may send ``route``, e.g. ``("GET", "/api/usage/summary")``.

        A ``{name}`` segment of one of its routes stands for any one path segment.
        """
        method, path = route
        return any(method == m and _route_pattern(p).fullmatch(path) is not None for m, p in self.routes)


def _route_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _get_health() -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/healthz", fallback_path="/health", auth_required=False),)


def _page(limit: int | None, offset: int | None) -> tuple[tuple[str, str], ...]:
    # Sent only when given, so a plain list call is the same request it always was.
    return tuple((name, str(int(value))) for name, value in (("limit", limit), ("offset", offset)) if value is not None)


def _policies_list(active_only: bool, limit: int | None, offset: int | None) -> tuple[RequestSpec, ...]:
    # isActive is the public API's name for the filter (active_only is the reference server's legacy alias).
    return (RequestSpec("GET", "/api/policies", params=(("isActive", _bool(active_only)), *_page(limit, offset))),)


def _billing_get_usage(period: str) -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/usage/summary", params=(("period", str(period)),)),)


def _monitoring_get_active_alerts(limit: int, offset: int | None) -> tuple[RequestSpec, ...]:
    return (RequestSpec("GET", "/api/alerts", params=(("resolved", "false"), *_page(limit, offset))),)


def _monitoring_get_health_score() -> tuple[RequestSpec, ...]:
    # Derived client-side from usage and open alerts, each read with its defaults: two reads, one score.
    return operation("billing.get_usage").build() + operation("monitoring.get_active_alerts").build()


def _rollouts_plan(
    policy_id: str,
    canary_percent: int,
    stabilization_window_s: int,
    dry_run: bool,
    explain: bool,
    idempotency_key: str | None,
) -> tuple[RequestSpec, ...]:
    body = {
        "policyId": policy_id,
        "canaryPercent": canary_percent,
        "stabilizationWindowS": stabilization_window_s,
        "dryRun": dry_run,
        "explain": explain,
    }
    return (RequestSpec("POST", "/api/rollouts/plan", json=body, mutating=True, idempotency_key=idempotency_key),)


def _rollouts_apply(plan_id: str, idempotency_key: str | None, dry_run: bool, explain: bool) -> tuple[RequestSpec, ...]:
    # The body repeats the key so servers that read either place see the same one; the
    # placeholder is filled by the client when the caller gives none.
    body = {"planId": plan_id, "idempotencyKey": idempotency_key, "dryRun": dry_run, "explain": explain}
    return (RequestSpec("POST", "/api/rollouts/apply", json=body, mutating=True, idempotency_key=idempotency_key),)


def _rollouts_rollback(
    rollback_token: str, confirm: bool, explain: bool, idempotency_key: str | None
) -> tuple[RequestSpec, ...]:
    body = {"rollbackToken": rollback_token, "confirm": confirm, "confirmation": "ROLLBACK", "explain": explain}
    return (
        RequestSpec("POST", "/api/rollouts/rollback", json=body, mutating=True, idempotency_key=idempotency_key),
    )


def _rollouts_get_events(plan_id: str) -> tuple[RequestSpec, ...]:
    # The server ends the stream once it has told where the rollout stands, so it reads as one answer.
    path = f"/api/rollouts/{quote(str(plan_id), safe='')}/events"
    return (RequestSpec("GET", path, accept=EVENT_STREAM),)


def _telemetry_ingest(data: Any, idempotency_key: str | None) -> tuple[RequestSpec, ...]:
    return (
        RequestSpec("POST", "/api/telemetry/ingest", json=data, mutating=True, idempotency_key=idempotency_key),
    )


_EXPLAIN = Param("explain", bool, False)
_DRY_RUN = Param("dry_run", bool, True)
# Callers of the client pass it to ``call``, which sends it as the header; the runner derives it.
_IDEMPOTENCY_KEY = Param("idempotency_key", str | None, None)
_USAGE = ("GET", "/api/usage/summary")
_ALERTS = ("GET", "/api/alerts")

OPERATIONS: Final[Mapping[str, Operation]] = {
    op.name: op
    for op in (
        Operation("get_health", (), _get_health, routes=(("GET", "/api/healthz"), ("GET", "/health"))),
        Operation(
            "policies.list",
            (Param("active_only", bool, True), Param("limit", int | None, None), Param("offset", int | None, None)),
            _policies_list,
            routes=(("GET", "/api/policies"),),
        ),
        Operation("billing.get_usage", (Param("period", str, "current"),), _billing_get_usage, routes=(_USAGE,)),
        Operation(
            "monitoring.get_active_alerts",
            (Param("limit", int, 100), Param("offset", int | None, None)),
            _monitoring_get_active_alerts,
            routes=(_ALERTS,),
        ),
        Operation("monitoring.get_health_score", (), _monitoring_get_health_score, routes=(_USAGE, _ALERTS)),
        Operation(
            "rollouts.plan",
            (
                Param("policy_id", str),
                Param("canary_percent", int, 5),
                Param("stabilization_window_s", int, 300),
                _DRY_RUN,
                _EXPLAIN,
                _IDEMPOTENCY_KEY,
            ),
            _rollouts_plan,
            routes=(("POST", "/api/rollouts/plan"),),
        ),
        Operation(
            "rollouts.apply",
            (Param("plan_id", str), _IDEMPOTENCY_KEY, _DRY_RUN, _EXPLAIN),
            _rollouts_apply,
            routes=(("POST", "/api/rollouts/apply"),),
            effectful=lambda args: not args["dry_run"],
        ),
        Operation(
            "rollouts.rollback",
            (Param("rollback_token", str), Param("confirm", bool, True), _EXPLAIN, _IDEMPOTENCY_KEY),
            _rollouts_rollback,
            routes=(("POST", "/api/rollouts/rollback"),),
            effectful=lambda args: bool(args["confirm"]),
        ),
        Operation(
            "rollouts.get_events",
            (Param("plan_id", str),),
            _rollouts_get_events,
            routes=(("GET", "/api/rollouts/{planId}/events"),),
        ),
        Operation(
            "telemetry.ingest",
            (Param("data", Any), _IDEMPOTENCY_KEY),
            _telemetry_ingest,
            routes=(("POST", "/api/telemetry/ingest"),),
        ),
    )
}

# Operations whose effect is real unless their arguments say otherwise (``dry_run``, ``confirm``).
EFFECTFUL: Final[Mapping[str, Callable[[Mapping[str, Any]], bool]]] = {
    op.name: op.is_effectful for op in OPERATIONS.values() if op.effectful is not None
}


def operation(name: str) -> Operation:
    """The operation called ``name`` (a dotted name such as ``rollouts.plan``); ``KeyError`` if none."""
    return OPERATIONS[name]


def operation_names() -> frozenset[str]:
    """Every dotted operation name a scenario may ``call``."""
    return frozenset(OPERATIONS)


def build(name: str, /, **kwargs: Any) -> tuple[RequestSpec, ...]:
    """The requests an operation makes, in order; ``KeyError`` for an unknown name, ``TypeError`` on misuse."""
    return OPERATIONS[name].build(**kwargs)
