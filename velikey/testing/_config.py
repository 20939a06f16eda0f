"""What one reference server is: its credentials, its auth shape, its timings, its faults.

Frozen, so a running server's behaviour is fixed at start and a test can read back exactly
what it started. The credentials are test values; they stay out of the repr anyway, because
configs end up in logs and assertion messages.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from ._faults import Fault

__all__ = ["MAX_CRITICAL_ALERTS", "MAX_SSE_INTERVAL_S", "AuthSchema", "ServerConfig"]

AuthSchema = Literal["current", "stale"]

# Bounded so a typo cannot build a huge tenant; any number past 3 already scores the maximum penalty.
MAX_CRITICAL_ALERTS = 1000
# Long enough to test a client's read timeout and reconnect; a stream never outlives a test by more.
MAX_SSE_INTERVAL_S = 60.0
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one reference server; the defaults are what ``velikey-e2e serve`` prints.

    ``auth_schema="stale"`` makes the credentials bootstrap answer in an older shape that a
    client must detect (``axis_auth_schema_mismatch``). ``metering_lag_s`` delays when
    ingested bytes show up in usage, as real metering pipelines do. ``critical_alerts`` adds
    that many open ``critical`` alerts to the tenant, so the client-derived health score drops
    by 15 each (at most 45). ``seed`` picks the tenant (ids, usage numbers); the same seed
    always gives the same tenant. ``client_id``/``client_secret`` are the one OAuth2 client the
    token endpoint knows; its tokens expire ``token_ttl_s`` after they are issued (0: at once,
    to test refreshing). ``sse_interval_s`` is waited between two events of a rollout stream.
    """

    session_token: str = field(default="ref-session-token-0", repr=False)
    api_key: str = field(default="vk_test_reference_0", repr=False)
    email: str = "owner@example.com"
    password: str = field(default="reference-password", repr=False)
    auth_schema: AuthSchema = "current"
    metering_lag_s: float = 0.0
    faults: tuple[Fault, ...] = ()
    seed: int = 0
    critical_alerts: int = 0
    client_id: str = "ref-client-0"
    client_secret: str = field(default="ref-client-secret-0", repr=False)
    token_ttl_s: float = 3600.0
    sse_interval_s: float = 0.05

    def __post_init__(self) -> None:
        # Tokens travel in a cookie and a header, so they keep to characters both carry verbatim.
        for name in ("session_token", "api_key", "client_id", "client_secret"):
            if not isinstance(getattr(self, name), str) or not _TOKEN.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must be non-empty and use only letters, digits and . _ ~ + / = -")
        for name in ("email", "password"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or not value.isprintable():
                raise ValueError(f"{name} must be a non-empty printable string")
        if self.auth_schema not in ("current", "stale"):
            raise ValueError(f"auth_schema must be 'current' or 'stale', got {self.auth_schema!r}")
        bounds = {"metering_lag_s": math.inf, "token_ttl_s": math.inf, "sse_interval_s": MAX_SSE_INTERVAL_S}
        for name, most in bounds.items():
            if not _seconds(getattr(self, name), most):
                bound = "" if most == math.inf else f" and <= {most:g}"
                raise ValueError(f"{name} must be a number of seconds >= 0{bound}, got {getattr(self, name)!r}")
        if not all(isinstance(fault, Fault) for fault in self.faults):
            raise ValueError("faults must be Fault rules (see load_faults for reading them from YAML)")
        object.__setattr__(self, "faults", tuple(self.faults))  # a list would make the config unhashable
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        alerts = self.critical_alerts
        if isinstance(alerts, bool) or not isinstance(alerts, int) or not 0 <= alerts <= MAX_CRITICAL_ALERTS:
            raise ValueError(f"critical_alerts must be an integer from 0 to {MAX_CRITICAL_ALERTS}, got {alerts!r}")


def _seconds(value: object, most: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and 0 <= value <= most
