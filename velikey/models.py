"""Typed results, tolerant of fields the server adds later.

Most operations return the server's JSON as plain dicts (the seed's code calls ``.get`` on
them); the results the SDK computes or that callers branch on get pydantic models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["HashEcho", "HealthScore", "health_score_from"]

CRITICAL_SEVERITIES = frozenset({"critical", "emergency"})


class _Model(BaseModel):
    # defer_build: the validator is built on first use (a probe's echo, a health score), not when the SDK is imported.
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class HealthScore(_Model):
    """The tenant's health score, 0–100, derived from usage and open alerts."""

    overall_score: int
    categories: dict[str, int]
    critical_alerts: int
    recommendations: list[str]


class HashEcho(_Model):
    """What a payload endpoint says it received: the SHA-256 hex and length of the bytes."""

    sha256: str
    bytes: int


def health_score_from(usage: Any, alerts: Any) -> HealthScore:
    """Score = 100, −30 with no agents, −25 with no telemetry days, −15 per critical alert (≤ −45)."""
    numbers = usage.get("usage", {}) if isinstance(usage, dict) else {}
    items = alerts.get("alerts", []) if isinstance(alerts, dict) else alerts if isinstance(alerts, list) else []
    critical = sum(
        1 for a in items if isinstance(a, dict) and str(a.get("severity", "")).lower() in CRITICAL_SEVERITIES
    )
    agents_ok = bool(numbers.get("agents"))
    telemetry_ok = bool(numbers.get("telemetryDays"))
    alert_penalty = min(45, 15 * critical)
    categories = {
        "agents": 100 if agents_ok else 0,
        "telemetry": 100 if telemetry_ok else 0,
        "alerts": 100 - round(alert_penalty * 100 / 45),
    }
    recommendations = []
    if not agents_ok:
        recommendations.append("Deploy at least one agent to the tenant.")
    if not telemetry_ok:
        recommendations.append("Send telemetry: no telemetry days recorded this period.")
    if critical:
        recommendations.append(f"Resolve {critical} critical alert(s) before rolling out.")
    overall = 100 - (0 if agents_ok else 30) - (0 if telemetry_ok else 25) - alert_penalty
    return HealthScore(
        overall_score=max(0, overall),
        categories=categories,
        critical_alerts=critical,
        recommendations=recommendations,
    )
