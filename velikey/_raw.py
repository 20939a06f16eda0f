"""The escape hatch's request: any route of the tenant, described as data like every operation.

``client.request`` sends it through the same ``Core.send`` as a typed call, so it is
authenticated, retried and error-mapped the same way. Only paths are accepted, never an
absolute URL: the credentials must not travel to another host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .operations import RequestSpec

__all__ = ["Params", "raw_spec"]

Scalar = str | int | float | bool
Params = Mapping[str, Scalar] | Sequence[tuple[str, Scalar]]
# Methods that change nothing: sent without an Idempotency-Key and retried freely.
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _text(value: Scalar) -> str:
    # Booleans as the API spells them; str(True) would send "True".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def raw_spec(
    method: str,
    path: str,
    *,
    params: Params | None = None,
    json: Any = None,
    idempotency_key: str | None = None,
) -> RequestSpec:
    """A request to ``path`` of the base URL; mutating methods carry an Idempotency-Key (given or generated)."""
    verb = method.strip().upper()
    if not verb.isalpha():
        raise ValueError(f"not an HTTP method: {method!r}")
    if "://" in path or path.startswith("//"):
        raise ValueError("request() takes a path of the base URL, not an absolute URL")
    if "?" in path or "#" in path:
        raise ValueError("request() takes the query in params=, not in the path")
    pairs = params.items() if isinstance(params, Mapping) else (params or ())
    return RequestSpec(
        verb,
        path if path.startswith("/") else "/" + path,
        params=tuple((str(name), _text(value)) for name, value in pairs),
        json=json,
        mutating=verb not in _SAFE,
        idempotency_key=idempotency_key,
    )
