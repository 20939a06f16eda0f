"""Resource namespaces of the client (``client.policies.list()`` …): thin, typed names over ``result``.

Each method is one line: the operation's builder and parser do the work, so the async and
sync clients, and the runner, share one implementation. The signatures are for users and type
checkers; their parameters, order and defaults are the ``velikey.operations`` data, which a test
holds them to. A resource knows its client only as a ``Caller``, so this module imports no client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, cast

from ._client import Core
from ._pagination import DEFAULT_PAGE_SIZE, Page, fetch_page, walk
from ._sse import MAX_RECONNECTS, RolloutEvent, rollout_events
from .models import HealthScore

__all__ = ["Billing", "Caller", "Monitoring", "Policies", "Resource", "Rollouts", "Telemetry"]


class Caller(Protocol):
    """What a resource needs of its client: run an operation by name and return its result."""

    _core: Core

    async def result(self, operation: str, /, **kwargs: Any) -> Any: ...

    async def call(self, operation: str, /, **kwargs: Any) -> Any: ...


class Resource:
    """A namespace of operations sharing a dotted prefix (``rollouts.``), bound to one client."""

    def __init__(self, client: Caller) -> None:
        self._client = client


class Policies(Resource):
    async def list(
        self, active_only: bool = True, limit: int | None = None, offset: int | None = None
    ) -> list[dict[str, Any]]:
        """Policies of the tenant (``isActive`` ones only by default); all of them unless ``limit`` is given."""
        return cast(list[dict[str, Any]], await self._client.result(
            "policies.list", active_only=active_only, limit=limit, offset=offset
        ))

    async def page(self, limit: int | None = None, offset: int = 0, active_only: bool = True) -> Page:
        """One page of policies with the server's ``total``."""
        return await fetch_page(self._client, "policies.list", "policies", limit=limit, offset=offset,
                                active_only=active_only)

    async def iter(self, active_only: bool = True, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every policy, ``page_size`` per request; breaking out early requests no further page."""
        async for policy in walk(self._client, "policies.list", "policies", page_size=page_size,
                                 active_only=active_only):
            yield policy


class Billing(Resource):
    async def get_usage(self, period: str = "current") -> dict[str, Any]:
        """Metered usage of the period: ``usage.telemetryDataGB``, ``telemetryDays``, ``agents``…"""
        return cast(dict[str, Any], await self._client.result("billing.get_usage", period=period))


class Monitoring(Resource):
    async def get_active_alerts(self, limit: int = 100, offset: int | None = None) -> dict[str, Any]:
        """Unresolved alerts, newest first, at most ``limit`` from ``offset`` (``total`` counts them all)."""
        return cast(dict[str, Any], await self._client.result(
            "monitoring.get_active_alerts", limit=limit, offset=offset
        ))

    async def alerts_page(self, limit: int = DEFAULT_PAGE_SIZE, offset: int = 0) -> Page:
        """One page of unresolved alerts with the server's ``total``."""
        return await fetch_page(self._client, "monitoring.get_active_alerts", "alerts", limit=limit, offset=offset)

    async def iter_alerts(self, page_size: int = DEFAULT_PAGE_SIZE) -> AsyncIterator[dict[str, Any]]:
        """Every unresolved alert, ``page_size`` per request; breaking out early requests no further page."""
        async for alert in walk(self._client, "monitoring.get_active_alerts", "alerts", page_size=page_size):
            yield alert

    async def get_health_score(self) -> HealthScore:
        """The 0–100 score gates compare with their threshold, derived from usage and open alerts."""
        return cast(HealthScore, await self._client.result("monitoring.get_health_score"))


class Rollouts(Resource):
    async def plan(
        self,
        policy_id: str,
        canary_percent: int = 5,
        stabilization_window_s: int = 300,
        dry_run: bool = True,
        explain: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Plan a canary rollout of a policy; ``data.plan_id`` (or ``planId``) names the plan."""
        return cast(dict[str, Any], await self._client.result(
            "rollouts.plan",
            policy_id=policy_id,
            canary_percent=canary_percent,
            stabilization_window_s=stabilization_window_s,
            dry_run=dry_run,
            explain=explain,
            idempotency_key=idempotency_key,
        ))

    async def apply(
        self, plan_id: str, idempotency_key: str | None = None, dry_run: bool = True, explain: bool = False
    ) -> dict[str, Any]:
        """Apply a plan; a real apply returns a rollback token, and a reused key replays, never re-applies."""
        return cast(dict[str, Any], await self._client.result(
            "rollouts.apply", plan_id=plan_id, idempotency_key=idempotency_key, dry_run=dry_run, explain=explain
        ))

    async def rollback(
        self, rollback_token: str, confirm: bool = True, explain: bool = False, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Roll back an applied rollout (``confirm=False`` previews it)."""
        return cast(dict[str, Any], await self._client.result(
            "rollouts.rollback",
            rollback_token=rollback_token,
            confirm=confirm,
            explain=explain,
            idempotency_key=idempotency_key,
        ))


    async def get_events(self, plan_id: str) -> dict[str, Any]:
        """The plan's phase events read to the end in one answer: ``{"events": [...], "phase": <the last one>}``.

        For polling where a rollout stands (``wait_for``, a scenario's ``until:``); ``events()`` streams them.
        """
        return cast(dict[str, Any], await self._client.result("rollouts.get_events", plan_id=plan_id))

    async def events(
        self, plan_id: str, last_event_id: str | None = None, max_reconnects: int = MAX_RECONNECTS
    ) -> AsyncIterator[RolloutEvent]:
        """The plan's phase events (``planned``, ``applying`` …) as the server sends them, until it ends the stream.

        A dropped connection resumes after the last event seen (``Last-Event-ID``), at most
        ``max_reconnects`` times in a row; silence longer than the request timeout is ``TimeoutError``.
        """
        async for event in rollout_events(
            self._client._core, plan_id, last_event_id=last_event_id, max_reconnects=max_reconnects
        ):
            yield event


class Telemetry(Resource):
    async def ingest(self, data: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """Send telemetry events; retried safely under one idempotency key."""
        return cast(
            dict[str, Any], await self._client.result("telemetry.ingest", data=data, idempotency_key=idempotency_key)
        )
