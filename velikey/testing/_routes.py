"""The Axis routes of the reference server: thin HTTP wrappers around the tenant.

Each handler validates (through its pydantic model), calls one ``Tenant`` method and
returns its answer; the rules live in ``_state``. Handlers are ``async`` on purpose: the
tenant is touched only from the event loop, and no request needs a worker thread.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from starlette.requests import ClientDisconnect

from velikey import __version__

from ._auth import require_auth
from ._inject import CORRUPT_ECHO
from ._models import (
    AlertsResponse,
    ApplyRequest,
    ApplyResponse,
    HealthResponse,
    IngestEcho,
    PlanRequest,
    PlanResponse,
    PoliciesResponse,
    RollbackRequest,
    RollbackResponse,
    TelemetryResponse,
    UsageResponse,
)
from ._responses import error_responses as _errors
from ._state import REPLAYED, Tenant

__all__ = ["PAYLOAD_PATH", "STATE_PATH", "router"]

PAYLOAD_PATH = "/ingest"
STATE_PATH = "/__ref/state"


async def _tenant(request: Request) -> Tenant:
    tenant: Tenant = request.app.tenant
    return tenant


TenantDep = Annotated[Tenant, Depends(_tenant)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=256,
        description="Same key, same answer, one effect. Without one an effect is done once per request "
        "(and counted as unkeyed in /__ref/state).",
    ),
]


_AUTHED: dict[str, Any] = {"dependencies": [Depends(require_auth)]}
# 400: a body FastAPI cannot even parse (not UTF-8, say) is refused before validation; a
# JSON body that parses but does not fit is 422 (schemathesis found the 400 undocumented).
_EFFECT_ERRORS = _errors(400, 401, 404, 409, 422)
HEALTH = {"status": "ok", "service": "axis-reference", "version": __version__}

# The workflow as OpenAPI links, so a stateful tester (schemathesis) plans, applies with the
# plan id and rolls back with the token it got, instead of guessing ids that are never found.
_APPLY_LINK = {
    "operationId": "apply_rollout_api_rollouts_apply_post",
    "description": "Apply the plan for real; its id doubles as the idempotency key.",
    "parameters": {"header.Idempotency-Key": "$response.body#/data/plan_id"},
    "requestBody": {"planId": "$response.body#/data/plan_id", "dryRun": False},
}
_ROLLBACK_LINK = {
    "operationId": "rollback_rollout_api_rollouts_rollback_post",
    "description": "Undo the apply with the rollback token it returned.",
    "parameters": {"header.Idempotency-Key": "$response.body#/data/rollbackToken"},
    "requestBody": {"rollbackToken": "$response.body#/data/rollbackToken", "confirm": True, "confirmation": "ROLLBACK"},
}
_EVENTS_OPERATION = "rollout_events_api_rollouts__planId__events_get"


def _events_link(plan_id: str) -> dict[str, Any]:
    return {
        "operationId": _EVENTS_OPERATION,
        "description": "Follow the rollout of this plan as server-sent events.",
        "parameters": {"path.planId": plan_id},
    }


router = APIRouter()


@router.get("/api/healthz", response_model=HealthResponse, tags=["health"])
async def healthz() -> dict[str, Any]:
    return HEALTH


@router.get("/health", response_model=HealthResponse, tags=["health"])
async def health() -> dict[str, Any]:
    """The older health path, kept because clients fall back to it."""
    return HEALTH


_ACTIVE = "Only active policies when true; false or absent lists them all."
# A Query per route, never one shared by two: FastAPI (0.165) sets the parameter's alias on the Query object when
# it builds a route, lazily at its first request, and pydantic then warns at the next route that uses the same
# object (an error under pytest: one 500 for whichever request built it, seen in the slow suite's fault matrix).
_OFFSET = "Skip this many matching items (paging)."


@router.get("/api/policies", response_model=PoliciesResponse, responses=_errors(401, 422), tags=["policies"], **_AUTHED)
async def list_policies(
    tenant: TenantDep,
    isActive: Annotated[bool, Query(description=_ACTIVE + " The public SDK's form.")] = False,
    active_only: Annotated[bool, Query(description=_ACTIVE + " The older form.")] = False,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="At most this many (default: all).")] = None,
    offset: Annotated[int, Query(ge=0, description=_OFFSET)] = 0,
) -> dict[str, Any]:
    """Policies ordered by id; either filter form selects the active ones, ``total`` counts before paging."""
    return tenant.list_policies(isActive or active_only, limit, offset)


@router.get(
    "/api/usage/summary", response_model=UsageResponse, responses=_errors(401, 422), tags=["billing"], **_AUTHED
)
async def usage_summary(tenant: TenantDep, period: Literal["current"] = "current") -> dict[str, Any]:
    """Usage of the current (fixed) billing period; ingested payload bytes count after the metering lag."""
    return tenant.usage()


@router.get("/api/alerts", response_model=AlertsResponse, responses=_errors(401, 422), tags=["monitoring"], **_AUTHED)
async def list_alerts(
    tenant: TenantDep,
    resolved: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    offset: Annotated[int, Query(ge=0, description=_OFFSET)] = 0,
) -> dict[str, Any]:
    """Alerts newest first; ``total`` counts the matching ones before paging."""
    return tenant.list_alerts(resolved, limit, offset)


@router.post(
    "/api/rollouts/plan",
    response_model=PlanResponse,
    response_model_exclude_none=True,
    responses={
        **_errors(400, 401, 404, 422),
        200: {"links": {"Apply": _APPLY_LINK, "Events": _events_link("$response.body#/data/plan_id")}},
    },
    tags=["rollouts"],
    **_AUTHED,
)
async def plan_rollout(tenant: TenantDep, body: PlanRequest) -> dict[str, Any]:
    return tenant.plan(body)


@router.post(
    "/api/rollouts/apply",
    response_model=ApplyResponse,
    response_model_exclude_none=True,
    responses={
        **_EFFECT_ERRORS,
        200: {"links": {"Rollback": _ROLLBACK_LINK, "Events": _events_link("$response.body#/data/planId")}},
    },
    tags=["rollouts"],
    **_AUTHED,
)
async def apply_rollout(
    tenant: TenantDep, body: ApplyRequest, response: Response, key: IdempotencyKey = None
) -> dict[str, Any]:
    """Dry runs preview; a real apply (``dryRun`` false or absent) returns a rollback token, once per key."""
    return _marked(response, tenant.apply(body, key))


@router.post(
    "/api/rollouts/rollback",
    response_model=RollbackResponse,
    response_model_exclude_none=True,
    responses=_EFFECT_ERRORS,
    tags=["rollouts"],
    **_AUTHED,
)
async def rollback_rollout(
    tenant: TenantDep, body: RollbackRequest, response: Response, key: IdempotencyKey = None
) -> dict[str, Any]:
    """``confirm`` false or absent previews; ``confirm=true`` undoes the apply once per token."""
    return _marked(response, tenant.rollback(body, key))


@router.post(
    "/api/telemetry/ingest",
    response_model=TelemetryResponse,
    responses=_errors(400, 401, 409, 422),
    tags=["telemetry"],
    **_AUTHED,
)
async def ingest_telemetry(
    tenant: TenantDep,
    batch: Annotated[dict[str, Any] | list[Any], Body()],
    response: Response,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A JSON batch: a list of events, an object with ``events``, or one event."""
    return _marked(response, tenant.telemetry(batch, key))


_RAW_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    PAYLOAD_PATH, response_model=IngestEcho, responses=_errors(409, 422), tags=["payload"], openapi_extra=_RAW_BODY
)
async def hash_echo(request: Request, response: Response, tenant: TenantDep, key: IdempotencyKey = None) -> Any:
    """Echo the SHA-256 and length of exactly the bytes received, and meter them once per key.

    The body is hashed as it streams in, so a 1 GiB payload never sits in memory.
    """
    echo = _HashEcho(corrupt=bool(request.scope.get(CORRUPT_ECHO)))
    try:
        async for chunk in request.stream():
            echo.update(chunk)
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to read it, and nothing is metered
    return _marked(response, tenant.ingest_payload(key, echo.received.hexdigest(), echo.size, echo.answer()))


def _marked(response: Response, answer: dict[str, Any]) -> dict[str, Any]:
    """Say ``Idempotent-Replayed: true`` when the answer is a replay (the effect happened earlier)."""
    if REPLAYED.get():
        response.headers["Idempotent-Replayed"] = "true"
    return answer


class _HashEcho:
    """SHA-256 and length of a streamed body.

    With ``corrupt`` (the fault action) the answer describes the body with its first byte
    inverted (a single NUL byte for an empty body): what a client sees when bytes were
    altered on the way, while metering still counts what really arrived.
    """

    def __init__(self, corrupt: bool) -> None:
        self.received = hashlib.sha256()
        self.size = 0
        self._altered = hashlib.sha256() if corrupt else None

    def update(self, chunk: bytes) -> None:
        if self._altered is not None:
            self._altered.update(bytes([chunk[0] ^ 0xFF]) + chunk[1:] if self.size == 0 and chunk else chunk)
        self.received.update(chunk)
        self.size += len(chunk)

    def answer(self) -> dict[str, Any]:
        if self._altered is None:
            return {"sha256": self.received.hexdigest(), "bytes": self.size}
        if self.size == 0:
            return {"sha256": hashlib.sha256(b"\x00").hexdigest(), "bytes": 1}
        return {"sha256": self._altered.hexdigest(), "bytes": self.size}


@router.get(STATE_PATH, include_in_schema=False)
async def reference_state(tenant: TenantDep) -> dict[str, Any]:
    """What the server has seen: requests per route, effects per idempotency key and unkeyed, bytes, faults,
    tokens issued."""
    return tenant.snapshot()
