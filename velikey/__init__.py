"""VeliKey SDK core: async and sync clients for the Axis + Aegis API.

``from velikey import AegisClient`` and ``from velikey.exceptions import VeliKeyError`` are
the seed's entry points. Tools built on the SDK (the runner) use ``AegisClient.call`` and the
public ``velikey.operations`` module: the operations as data, their request builders and the
names of secrets; no ``velikey._*`` module is part of the public surface. Importing the SDK
never imports the reference server's FastAPI/uvicorn (that lives in ``velikey.testing``).
"""

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
