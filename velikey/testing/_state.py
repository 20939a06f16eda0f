"""The tenant one reference server serves: seeded catalog, rollouts, metering and idempotency.

Everything is derived from the seed, so two servers with the same seed answer the same
requests with the same bytes, and receipts recorded against them can be compared byte for
byte. Effects go through one idempotency ledger, so "same key, same answer, one effect" is
enforced in one place and reported by ``/__ref/state``; effects sent without a key (as the
public SDK sends them) are done once per request and counted apart, as ``unkeyed``. The state is touched only from the
server's event loop, one handler step at a time, so it needs no locks.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

from ._config import ServerConfig
from ._models import Alert, ApplyRequest, PlanRequest, Policy, RollbackRequest
from ._tokens import TokenStore

__all__ = ["GIB", "LEDGER_KINDS", "ApiError", "Tenant", "digest", "seeded_policies"]

GIB = 1024**3
LEDGER_KINDS = ("apply", "rollback", "ingest", "telemetry")
# The effects a client may send without an Idempotency-Key (the public SDK does); counted apart.
UNKEYED_KINDS = ("apply", "rollback")
# The billing period is fixed, not the clock's, so answers do not change with the date.
PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}


class ApiError(Exception):
    """A refusal the client should see as ``status`` with ``{"error": code, "detail": ...}``."""

    def __init__(self, status: int, code: str, detail: str | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


def digest(value: Any) -> str:
    """SHA-256 hex of a JSON value in one canonical form (ASCII, sorted keys, compact).

    Only ever hashed, never sent: ``1e400`` is valid JSON that parses to infinity, so
    non-finite floats are allowed here rather than turned into a 500.
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _derived_id(seed: int, kind: str, name: str, prefix: str) -> str:
    return f"{prefix}-{digest(['axis-reference', seed, kind, name])[:12]}"


def seeded_policies(seed: int) -> tuple[Policy, ...]:
    catalog = (
        ("tls-baseline", True, "enforce", 3),
        ("pq-hybrid-canary", True, "observe", 1),
        ("legacy-rsa-2048", False, "enforce", 7),
    )
    # Sorted by id, the order the list route pages in, so "the first active policy" is the listed first.
    policies = (
        Policy(id=_derived_id(seed, "policy", n, "pol"), name=n, isActive=a, mode=m, version=v)
        for n, a, m, v in catalog
    )
    return tuple(sorted(policies, key=lambda p: p.id))


def _seeded_alerts(seed: int, critical: int = 0) -> tuple[Alert, ...]:
    # No open critical alert by default: the client-derived health score of a fresh tenant is 100.
    # ``critical`` extra open ones (ServerConfig.critical_alerts) come first, as the newest.
    extra = tuple(("critical", f"Injected critical alert {n} of {critical}", False) for n in range(1, critical + 1))
    catalog = extra + (
        ("warning", "Certificate for api.internal expires in 21 days", False),
        ("info", "Agent 2.4.1 is available for 1 environment", False),
        ("critical", "Handshake failure spike on edge-eu-1", True),
    )
    return tuple(
        Alert.model_validate({"id": _derived_id(seed, "alert", t, "alt"), "severity": s, "title": t, "resolved": r})
        for s, t, r in catalog
    )


# Where a plan's rollout stands, and the phases its event stream reports for each state.
PlanStatus = Literal["planned", "applied", "rolled_back"]
PHASES: dict[PlanStatus, tuple[str, ...]] = {
    "planned": ("planned",),
    "applied": ("planned", "applying", "canary", "stable"),
    "rolled_back": ("planned", "applying", "canary", "rolled_back"),
}


@dataclass
class _Plan:
    body: dict[str, Any]
    steps: list[dict[str, Any]]
    status: PlanStatus = "planned"


@dataclass
class _Grant:
    """A rollback token handed out by an apply, and whether it has been used."""

    plan_id: str
    rolled_back: bool = False


# Set while handling a request that replayed a recorded answer; the route turns it into the
# ``Idempotent-Replayed: true`` header, so a client can tell "already done" from "done now".
REPLAYED: ContextVar[bool] = ContextVar("replayed", default=False)


@dataclass
class _Entry:
    fingerprint: str
    answer: dict[str, Any]
    replays: int = 0


@dataclass
class Ledger:
    """First answers by (kind, idempotency key); a replay returns it, a different request is a 409."""

    entries: dict[str, dict[str, _Entry]] = field(default_factory=lambda: {k: {} for k in LEDGER_KINDS})

    def replay(self, kind: str, key: str | None, fingerprint: str) -> dict[str, Any] | None:
        entry = self.entries[kind].get(key) if key is not None else None
        if entry is None:
            return None
        if entry.fingerprint != fingerprint:
            raise ApiError(409, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
        entry.replays += 1
        REPLAYED.set(True)
        return entry.answer

    def record(self, kind: str, key: str | None, fingerprint: str, answer: dict[str, Any]) -> dict[str, Any]:
        # Requests without a key are processed each time and leave nothing to replay.
        if key is not None:
            self.entries[kind][key] = _Entry(fingerprint, answer)
        return answer

    def snapshot(self) -> dict[str, dict[str, dict[str, int]]]:
        return {
            kind: {key: {"effects": 1, "replays": e.replays} for key, e in sorted(entries.items())}
            for kind, entries in self.entries.items()
        }


class Metering:
    """Ingested bytes, each visible in usage only ``lag_s`` after it arrived (monotonic clock).

    Bytes stay integers; the GB figure is computed once per answer, so sums never drift.
    """

    def __init__(self, base_bytes: int, lag_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._base = base_bytes
        self._lag = lag_s
        self._clock = clock
        self._arrivals: list[tuple[float, int]] = []
        self.received = 0

    def add(self, count: int) -> None:
        self._arrivals.append((self._clock() + self._lag, count))
        self.received += count

    def telemetry_gb(self) -> float:
        now = self._clock()
        visible = sum(count for visible_at, count in self._arrivals if visible_at <= now)
        return (self._base + visible) / GIB


class Tenant:
    """One seeded tenant and everything that happened to it since the server started."""

    def __init__(self, config: ServerConfig) -> None:
        seed = config.seed
        self.seed = seed
        self.policies = seeded_policies(seed)
        self.alerts = _seeded_alerts(seed, config.critical_alerts)
        self.usage_counts = {"telemetryDays": 14 + seed % 7, "agents": 3 + seed % 3, "environments": 2 + seed % 2}
        # 12.5 GiB for seed 0, in exact bytes.
        self.metering = Metering(25 * GIB // 2 + (seed % 5) * 256 * 1024**2, config.metering_lag_s)
        self.ledger = Ledger()
        self.plans: dict[str, _Plan] = {}
        self.grants: dict[str, _Grant] = {}
        self.unkeyed: Counter[str] = Counter({kind: 0 for kind in UNKEYED_KINDS})
        self.tokens = TokenStore(config)
        self.requests: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()

    # Reads -------------------------------------------------------------------------------

    def list_policies(self, active_only: bool, limit: int | None, offset: int) -> dict[str, Any]:
        """Policies by id, ``limit`` from ``offset`` (all by default), with the count before paging."""
        matching = [p for p in self.policies if p.isActive or not active_only]
        end = None if limit is None else offset + limit
        return {"policies": [p.model_dump() for p in matching[offset:end]], "total": len(matching)}

    def usage(self) -> dict[str, Any]:
        return {"usage": {"telemetryDataGB": self.metering.telemetry_gb(), **self.usage_counts}, "period": PERIOD}

    def list_alerts(self, resolved: bool, limit: int, offset: int) -> dict[str, Any]:
        matching = [a.model_dump() for a in self.alerts if a.resolved == resolved]
        return {"alerts": matching[offset : offset + limit], "total": len(matching)}

    def rollout_phases(self, plan_id: str) -> tuple[str, ...]:
        """The phases the event stream of a plan reports, from where its rollout stands now."""
        plan = self.plans.get(plan_id)
        if plan is None:
            raise ApiError(404, "plan_not_found", "no plan with this id; create one with /api/rollouts/plan")
        return PHASES[plan.status]

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /__ref/state`` reports."""
        return {
            "requests": dict(sorted(self.requests.items())),
            "effects": self.ledger.snapshot(),
            "unkeyed": dict(self.unkeyed),
            "ingested_bytes": self.metering.received,
            "faults_injected": dict(sorted(self.faults_injected.items())),
            "tokens_issued": self.tokens.issued,
        }

    # Rollouts ----------------------------------------------------------------------------

    def plan(self, request: PlanRequest) -> dict[str, Any]:
        """A plan is a pure function of its body, so planning twice gives the same plan id."""
        policy = next((p for p in self.policies if p.id == request.policyId), None)
        if policy is None:
            raise ApiError(404, "policy_not_found", "no policy with this id in the tenant")
        body = request.model_dump()
        plan_id = f"plan-{digest(body)[:16]}"
        steps = [
            {"index": 1, "action": "canary", "percent": request.canaryPercent},
            {"index": 2, "action": "stabilize", "seconds": request.stabilizationWindowS},
            {"index": 3, "action": "promote", "percent": 100},
        ]
        self.plans.setdefault(plan_id, _Plan(body, steps))
        data: dict[str, Any] = {"plan_id": plan_id, **body, "steps": steps}
        del data["explain"]
        if request.explain:
            data["explanation"] = [
                f"Policy {policy.name} goes to {request.canaryPercent}% of agents first.",
                f"The canary must stay healthy for {request.stabilizationWindowS} s before promotion to 100%.",
                "Nothing changes until apply runs with dryRun=false and an Idempotency-Key.",
            ]
        return {"success": True, "data": data}

    def apply(self, request: ApplyRequest, header_key: str | None) -> dict[str, Any]:
        key = header_key if header_key is not None else request.idempotencyKey
        fingerprint = digest(request.model_dump(exclude={"idempotencyKey"}))
        replayed = self.ledger.replay("apply", key, fingerprint)
        if replayed is not None:
            return replayed
        plan = self.plans.get(request.planId)
        if plan is None:
            raise ApiError(404, "plan_not_found", "no plan with this id; create one with /api/rollouts/plan")
        data: dict[str, Any] = {"planId": request.planId, "dryRun": request.dryRun, "applied": False}
        if request.dryRun:
            data["steps"] = plan.steps
            if request.explain:
                data["explanation"] = ["Dry run: the steps above would run; nothing was changed."]
            return {"success": True, "data": data}
        if plan.status == "applied":
            raise ApiError(409, "plan_already_applied", "this plan is applied; roll it back before applying again")
        # An unkeyed apply has no key to derive its token from; its place in the unkeyed count is unique.
        token_key: str | int = key if key is not None else self._count_unkeyed("apply")
        token = f"rbk-{digest(['rollback', self.seed, request.planId, token_key])[:24]}"
        plan.status = "applied"
        self.grants[token] = _Grant(request.planId)
        data.update(applied=True, rollbackToken=token)
        if request.explain:
            data["explanation"] = ["Applied. Keep the rollbackToken: it undoes exactly this apply."]
        return self.ledger.record("apply", key, fingerprint, {"success": True, "data": data})

    def rollback(self, request: RollbackRequest, key: str | None) -> dict[str, Any]:
        fingerprint = digest(request.model_dump())
        replayed = self.ledger.replay("rollback", key, fingerprint)
        if replayed is not None:
            return replayed
        grant = self.grants.get(request.rollbackToken)
        if grant is None:
            raise ApiError(404, "rollback_token_not_found", "no apply handed out this rollback token")
        data: dict[str, Any] = {
            "rollbackToken": request.rollbackToken,
            "planId": grant.plan_id,
            "confirmed": request.confirm,
            "rolledBack": False,
        }
        if not request.confirm:
            if request.explain:
                data["explanation"] = ["Preview: confirm=true would undo the apply of this plan."]
            return {"success": True, "data": data}
        if grant.rolled_back:
            raise ApiError(409, "already_rolled_back", "this rollback token has been used")
        if key is None:
            self._count_unkeyed("rollback")
        grant.rolled_back = True
        self.plans[grant.plan_id].status = "rolled_back"
        data["rolledBack"] = True
        if request.explain:
            data["explanation"] = ["Rolled back; the plan may be applied again under a new key."]
        return self.ledger.record("rollback", key, fingerprint, {"success": True, "data": data})

    def _count_unkeyed(self, kind: str) -> int:
        """Count an effect done without an Idempotency-Key; the count so far, 1-based."""
        self.unkeyed[kind] += 1
        return self.unkeyed[kind]

    # Ingest ------------------------------------------------------------------------------

    def telemetry(self, batch: dict[str, Any] | list[Any], key: str | None) -> dict[str, Any]:
        fingerprint = digest(batch)
        replayed = self.ledger.replay("telemetry", key, fingerprint)
        if replayed is not None:
            return replayed
        events = batch.get("events") if isinstance(batch, dict) else batch
        accepted = len(events) if isinstance(events, list) else 1
        return self.ledger.record("telemetry", key, fingerprint, {"success": True, "accepted": accepted})

    def ingest_payload(self, key: str | None, sha256: str, size: int, echo: dict[str, Any]) -> dict[str, Any]:
        """Meter a received payload once per key and answer with its echo (the first one, on replay)."""
        fingerprint = f"{sha256}:{size}"
        replayed = self.ledger.replay("ingest", key, fingerprint)
        if replayed is not None:
            return replayed
        self.metering.add(size)
        return self.ledger.record("ingest", key, fingerprint, echo)
