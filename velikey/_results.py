"""One result parser per SDK operation: parsed JSON bodies in, what the caller gets out.

Parsers are pure so the runner can apply them to bodies it parsed itself (with exact
decimals) and see the same shapes a user of the SDK sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from .exceptions import InvalidResponseError
from .models import health_score_from

__all__ = ["RESULT_PARSERS", "parse_result"]


def _object(name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidResponseError(f"{name}: expected a JSON object, got {type(body).__name__}")
    return body


def _policies(body: Any) -> list[Any]:
    # The contract allows a bare list or {"policies": [...]}.
    if isinstance(body, list):
        return body
    if isinstance(body, dict) and isinstance(body.get("policies"), list):
        return list(body["policies"])
    raise InvalidResponseError("policies.list: expected a list or an object with a 'policies' list")


def _usage(body: Any) -> dict[str, Any]:
    body = _object("billing.get_usage", body)
    if not isinstance(body.get("usage"), dict):
        raise InvalidResponseError("billing.get_usage: expected an object with a 'usage' object")
    return cast(dict[str, Any], body)


def _alerts(body: Any) -> dict[str, Any]:
    if isinstance(body, list):
        return {"alerts": body}
    body = _object("monitoring.get_active_alerts", body)
    if not isinstance(body.get("alerts"), list):
        raise InvalidResponseError("monitoring.get_active_alerts: expected an object with an 'alerts' list")
    return cast(dict[str, Any], body)


def _events(body: Any) -> dict[str, Any]:
    # The events as sent, and the phase the last one reports: where the rollout stands.
    events = body if isinstance(body, list) else []
    last = events[-1]["data"] if events and isinstance(events[-1].get("data"), dict) else {}
    return {"events": events, "phase": last.get("phase")}


def _single(parse: Callable[[Any], Any]) -> Callable[[Sequence[Any]], Any]:
    return lambda bodies: parse(bodies[0])


def _plain(name: str) -> Callable[[Sequence[Any]], Any]:
    return lambda bodies: _object(name, bodies[0])


RESULT_PARSERS: Mapping[str, Callable[[Sequence[Any]], Any]] = {
    "get_health": _plain("get_health"),
    "policies.list": _single(_policies),
    "billing.get_usage": _single(_usage),
    "monitoring.get_active_alerts": _single(_alerts),
    "monitoring.get_health_score": lambda bodies: health_score_from(_usage(bodies[0]), _alerts(bodies[1])),
    "rollouts.plan": _plain("rollouts.plan"),
    "rollouts.apply": _plain("rollouts.apply"),
    "rollouts.rollback": _plain("rollouts.rollback"),
    "rollouts.get_events": _single(_events),
    "telemetry.ingest": _plain("telemetry.ingest"),
}


def parse_result(name: str, bodies: Sequence[Any]) -> Any:
    """The caller-facing result of operation ``name`` from its responses' parsed bodies, in order."""
    return RESULT_PARSERS[name](bodies)
