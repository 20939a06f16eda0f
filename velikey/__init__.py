"""VeliKey SDK core: async and sync clients for the Axis + Aegis API.

``from velikey import AegisClient`` and ``from velikey.exceptions import VeliKeyError`` are
the seed's entry points; the runner also uses the request builders and ``AegisClient.call``.
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
