"""The wire shapes of the Axis contract, as pydantic models.

They validate what the reference server accepts and describe what it answers, and they are
what ``schemas/axis-openapi.json`` is generated from. Requests are strict (no "5" for 5, no
unknown fields) so that a request the OpenAPI document calls invalid is refused with a 4xx,
and a client bug such as a misspelt field fails here instead of passing silently.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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
    "PhaseEvent",
    "PoliciesResponse",
    "Policy",
    "RollbackData",
    "RollbackRequest",
    "RollbackResponse",
    "TelemetryResponse",
    "TokenResponse",
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
    """``POST /api/rollouts/plan``: stage a policy to a canary share, wait, then promote.

    The defaults are what the public SDK means when it leaves a field out (README "The reference server"; wire
    tolerance): a 5% canary, a 300 s window, and absent booleans are false.
    """

    policyId: str = _Id
    canaryPercent: JsonInt = Field(default=5, ge=1, le=100)
    stabilizationWindowS: JsonInt = Field(default=300, ge=0)
    dryRun: bool = False
    explain: bool = False


class ApplyRequest(_Request):
    """``POST /api/rollouts/apply``; the ``Idempotency-Key`` header wins over ``idempotencyKey``.

    An absent ``dryRun`` is false: a client that leaves it out asked for the real apply, and
    turning that into a dry run reporting success would hide that nothing happened.
    """

    planId: str = _Id
    idempotencyKey: str | None = Field(default=None, min_length=1, max_length=256)
    dryRun: bool = False
    explain: bool = False


class RollbackRequest(_Request):
    """``POST /api/rollouts/rollback``: ``confirm`` makes it real, and then ``confirmation`` must spell ROLLBACK.

    An absent ``confirm`` is false, so a body that does not ask for the rollback previews it
    instead of undoing an apply; a preview needs no confirmation word.
    """

    rollbackToken: str = _Id
    confirm: bool = False
    confirmation: Literal["ROLLBACK"] | None = None
    explain: bool = False

    @model_validator(mode="after")
    def _confirmed_in_words(self) -> RollbackRequest:
        if self.confirm and self.confirmation is None:
            raise ValueError("a confirmed rollback needs confirmation: 'ROLLBACK'")
        return self


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer: a stable snake_case ``error`` code and, when useful, a ``detail``."""

    error: str
    detail: Any = None


class HealthResponse(BaseModel):
    status: Literal["ok"]
    service: str
    version: str


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Policy(_Record):
    """A policy of the tenant; also the record the reference server keeps (one definition)."""

    id: str
    name: str
    isActive: bool
    mode: str
    version: int


class PoliciesResponse(BaseModel):
    """One page of policies; ``total`` counts every matching policy before paging."""

    policies: list[Policy]
    total: int


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


class Alert(_Record):
    """An alert of the tenant; also the record the reference server keeps (one definition)."""

    id: str
    severity: Literal["info", "warning", "critical", "emergency"]
    title: str
    resolved: bool


class AlertsResponse(BaseModel):
    """One page of alerts; ``total`` counts every matching alert before paging."""

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


class TokenResponse(BaseModel):
    """An OAuth2 access token (client credentials grant), valid for ``expires_in`` seconds."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class PhaseEvent(BaseModel):
    """The ``data`` of one ``phase`` event of a rollout's event stream."""

    planId: str
    seq: int
    phase: Literal["planned", "applying", "canary", "stable", "rolled_back"]
