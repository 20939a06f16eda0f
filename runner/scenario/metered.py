"""Which SDK operations read or move the tenant's metered usage, derived from the operation table.

The engine's turnstile orders them across scenarios; lint keeps them out of ``cleanup:``, which
runs after a stop and so outside that order.
"""

from __future__ import annotations

from velikey.operations import OPERATIONS, Route

__all__ = ["METERED_CALLS", "METERED_ROUTES"]

# The routes that read or move the tenant's metered usage.
METERED_ROUTES: frozenset[Route] = frozenset({("GET", "/api/usage/summary"), ("POST", "/api/telemetry/ingest")})
# Every operation that touches one of them (the health score reads usage too).
METERED_CALLS = frozenset(
    name for name, op in OPERATIONS.items() if any(op.touches(route) for route in METERED_ROUTES)
)
