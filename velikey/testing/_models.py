"""The wire shapes of the Axis contract, as pydantic models.

They validate what the reference server accepts and describe what it answers, and they are
what ``schemas/axis-openapi.json`` is generated from. Requests are strict (no "5" for 5, no
unknown fields) so that a request the OpenAPI document calls invalid is refused with a 4xx,
and a client bug such as a misspelt field fails here instead of passing silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "Alert",
    "AlertsResponse",
    "ApplyData",
    "ApplyRequest",
    "ApplyResponse",
    "CsrfResponse",
    "ErrorResponse",
    "HealthResponse",
    "IngestEcho",
    "LoginResponse",
    "PlanData",
    "PlanRequest",
    "PlanResponse",
    "PlanStep",
    "PoliciesResponse",
    "Policy",
    "RollbackData",
    "RollbackRequest",
    "RollbackResponse",
    "TelemetryResponse",
    "UsagePeriod",
    "UsageResponse",
    "UsageSummary",
]

_Id = Field(min_length=1, max_length=256)


def _integral(value: Any) -> Any:
    # JSON has one number type: to JSON Schema, and so to the OpenAPI document, 5.0 is the
    # integer 5 (schemathesis sent one and got a 422). 5.5, "5" and true are still refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


JsonInt = Annotated[int, BeforeValidator(_integral)]


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class PlanRequest(_Request):
    """``POST /api/rollouts/plan``: stage a policy to a canary share, wait, then promote."""

    policyId: str = _Id
    canaryPercent: JsonInt = Field(ge=1, le=100)
    stabilizationWindowS: JsonInt = Field(ge=0)
    dryRun: bool = True
    explain: bool = False


class ApplyRequest(_Request):
    """``POST /api/rollouts/apply``; the ``Idempotency-Key`` header wins over ``idempotencyKey``."""

    planId: str = _Id
    idempotencyKey: str | None = Field(default=None, min_length=1, max_length=256)
    dryRun: bool = True
    explain: bool = False


class RollbackRequest(_Request):
    """``POST /api/rollouts/rollback``; ``confirmation`` must spell ROLLBACK, ``confirm`` makes it real."""

    rollbackToken: str = _Id
    confirm: bool = True
    confirmation: Literal["ROLLBACK"]
    explain: bool = False


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: a stable snake_case ``error`` code and, when useful, a ``detail``."""

    error: str
    detail: Any = None


class HealthResponse(BaseModel):
    status: Literal["ok"]
    service: str
    version: str


class Policy(BaseModel):
    id: str
    name: str
    isActive: bool
    mode: str
    version: int


class PoliciesResponse(BaseModel):
    policies: list[Policy]


class UsageSummary(BaseModel):
    telemetryDataGB: float
    telemetryDays: int
    agents: int
    environments: int


class UsagePeriod(BaseModel):
    start: str
    end: str


class UsageResponse(BaseModel):
    usage: UsageSummary
    period: UsagePeriod


class Alert(BaseModel):
    id: str
    severity: Literal["info", "warning", "critical", "emergency"]
    title: str
    resolved: bool


class AlertsResponse(BaseModel):
    alerts: list[Alert]
    total: int


class PlanStep(BaseModel):
    index: int
    action: Literal["canary", "stabilize", "promote"]
    percent: int | None = None
    seconds: int | None = None


class PlanData(BaseModel):
    plan_id: str
    policyId: str
    canaryPercent: int
    stabilizationWindowS: int
    dryRun: bool
    steps: list[PlanStep]
    explanation: list[str] | None = None


class PlanResponse(BaseModel):
    success: Literal[True]
    data: PlanData


class ApplyData(BaseModel):
    planId: str
    dryRun: bool
    applied: bool
    rollbackToken: str | None = None
    steps: list[PlanStep] | None = None
    explanation: list[str] | None = None


class ApplyResponse(BaseModel):
    success: Literal[True]
    data: ApplyData


class RollbackData(BaseModel):
    rollbackToken: str
    planId: str
    confirmed: bool
    rolledBack: bool
    explanation: list[str] | None = None


class RollbackResponse(BaseModel):
    success: Literal[True]
    data: RollbackData


class TelemetryResponse(BaseModel):
    success: Literal[True]
    accepted: int


class IngestEcho(BaseModel):
    """The hash echo: SHA-256 and length of exactly the bytes the server received."""

    sha256: str
    bytes: int


class CsrfResponse(BaseModel):
    csrfToken: str


class LoginResponse(BaseModel):
    url: str
