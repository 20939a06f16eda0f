"""VeliKey SDK core: async and sync clients for the Axis + Aegis API.

``from velikey import AegisClient`` and ``from velikey.exceptions import VeliKeyError`` are
the seed's entry points. Tools built on the SDK (the runner) use ``AegisClient.call`` and the
public ``velikey.operations`` module: the operations as data, their request builders and the
names of secrets; no ``velikey._*`` module is part of the public surface. Importing the SDK
never imports the reference server's FastAPI/uvicorn (that lives in ``velikey.testing``).

The names below are loaded on first use (PEP 562 ``__getattr__``): ``import velikey.operations``
or ``velikey.exceptions`` alone, as the runner's lint and validate commands do, then loads
neither httpx nor pydantic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._aegis import AegisClient, AegisClientSync, CallResult, ProbeResult
    from ._exchange import Exchange
    from ._retry import RetryPolicy
    from .exceptions import VeliKeyError
    from .models import HashEcho, HealthScore

__version__ = "0.1.0"

__all__ = [
    "AegisClient",
    "AegisClientSync",
    "CallResult",
    "Exchange",
    "HashEcho",
    "HealthScore",
    "ProbeResult",
    "RetryPolicy",
    "VeliKeyError",
    "__version__",
]

# Public name → the module that defines it (relative to this package).
_HOMES = {
    "AegisClient": "._aegis",
    "AegisClientSync": "._aegis",
    "CallResult": "._aegis",
    "ProbeResult": "._aegis",
    "Exchange": "._exchange",
    "RetryPolicy": "._retry",
    "VeliKeyError": ".exceptions",
    "HashEcho": ".models",
    "HealthScore": ".models",
}


if not TYPE_CHECKING:  # hidden from mypy, which would otherwise take any name as velikey.<name>: Any

    def __getattr__(name: str) -> Any:
        """Import a public name's module on first access and keep the name here (later accesses are plain)."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(home, __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
