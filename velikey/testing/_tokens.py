"""The OAuth2 access tokens one reference server has issued, and when each expires.

Tokens are opaque to clients but derived from the server's client secret, seed and issue
count, so every token is distinct and a rerun of the same requests gets the same tokens.
Expiry uses the monotonic clock (injectable), so a client's refresh-on-expiry can be tested
with a short ``token_ttl_s``, or ``0`` for a token that is already expired when it arrives.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Literal

from ._config import ServerConfig

__all__ = ["TokenStatus", "TokenStore"]

TokenStatus = Literal["valid", "expired", "unknown"]


class TokenStore:
    """Issues access tokens and tells whether one presented later is still valid."""

    def __init__(self, config: ServerConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._material = f"axis-reference:oauth:{config.seed}:{config.client_id}:{config.client_secret}"
        self._ttl_s = config.token_ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}

    @property
    def issued(self) -> int:
        return len(self._expiry)

    @property
    def expires_in(self) -> int:
        """The lifetime announced to clients: whole seconds, rounded down, so none relies on a dead token."""
        return math.floor(self._ttl_s)

    def issue(self) -> str:
        token = "vkat-" + hashlib.sha256(f"{self._material}:{self.issued + 1}".encode()).hexdigest()[:40]
        self._expiry[token] = self._clock() + self._ttl_s
        return token

    def status(self, token: str) -> TokenStatus:
        expiry = self._expiry.get(token)
        if expiry is None:
            return "unknown"
        return "valid" if self._clock() < expiry else "expired"
