"""OAuth2 client credentials: where the client id and secret come from, the token request, and its cache.

The secret travels only in an ``Authorization: Basic`` header (a secret header, redacted in
every repr), never in a body an ``Exchange`` could show; the token is kept in an
``AuthResolution`` whose repr names only its source. The cache refreshes a little before
``expires_in`` runs out, by an injectable clock, so a request never starts with a token
about to lapse.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from ._auth import AuthResolution
from .exceptions import AuthSourceError, InvalidResponseError
from .operations import CLIENT_CREDENTIALS_SOURCE, PreparedRequest

__all__ = [
    "CLIENT_CREDENTIALS_SOURCE",
    "EXPLICIT_SOURCE",
    "ClientCredentials",
    "TokenCache",
    "client_credentials",
    "token_request",
]

EXPLICIT_SOURCE = "client_credentials"
TOKEN_PATH = "/api/oauth/token"
# Refresh this long before expiry (or at half the lifetime, for very short-lived tokens).
REFRESH_MARGIN_S = 30.0
# Tokens replaced by a refresh are still scrubbed from error text for a while; bounded so it cannot grow.
_REMEMBERED_TOKENS = 8


@dataclass(frozen=True, repr=False)
class ClientCredentials:
    """A client id, secret and token URL, and the source they came from; the repr never shows the secret."""

    client_id: str
    client_secret: str
    token_url: str
    source: str

    def __repr__(self) -> str:
        return f"ClientCredentials(source={self.source!r}, token_url={self.token_url!r})"

    def basic_auth(self) -> str:
        """The ``Authorization`` header value of the token request (RFC 6749 section 2.3.1).

        Both halves are form-encoded first, as the RFC says, so a ``:`` or ``+`` in them survives.
        """
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self.client_secret)}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def _given(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def client_credentials(
    base_url: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    token_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientCredentials | None:
    """The explicit id and secret, else ``AXIS_CLIENT_ID`` + ``AXIS_CLIENT_SECRET`` from ``env``, else None.

    Only one of the pair given is a configuration mistake, reported by name, so the user
    fixes the value they forgot instead of running as some other identity. ``token_url``
    (or ``AXIS_TOKEN_URL``) defaults to the tenant's ``/api/oauth/token``.
    """
    if env is None:
        names, source = ("client_id", "client_secret"), EXPLICIT_SOURCE
        cid, secret, url = _given(client_id), client_secret or None, _given(token_url)
    else:
        names, source = ("AXIS_CLIENT_ID", "AXIS_CLIENT_SECRET"), CLIENT_CREDENTIALS_SOURCE
        cid, secret, url = _given(env.get(names[0])), env.get(names[1]) or None, _given(env.get("AXIS_TOKEN_URL"))
    if cid is None and secret is None:
        return None
    if cid is None or secret is None:
        missing = names[0] if cid is None else names[1]
        raise AuthSourceError(f"{source}: {missing} is not set", source=source)
    return ClientCredentials(cid, secret, url or base_url.rstrip("/") + TOKEN_PATH, source)


def token_request(credentials: ClientCredentials, *, request_id: str) -> PreparedRequest:
    """The client credentials grant, as exactly what goes on the wire."""
    headers = (
        ("Accept", "application/json"),
        ("Accept-Encoding", "identity"),
        ("X-Request-Id", request_id),
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Authorization", credentials.basic_auth()),
    )
    return PreparedRequest("POST", credentials.token_url, headers, b"grant_type=client_credentials")


class TokenCache:
    """The current bearer token of one set of client credentials, and when to fetch the next."""

    def __init__(self, credentials: ClientCredentials, clock: Callable[[], float]) -> None:
        self.credentials = credentials
        self._clock = clock
        self._resolution: AuthResolution | None = None
        self._refresh_at = 0.0
        self._tokens: list[str] = []

    def current(self) -> AuthResolution | None:
        """The cached token's resolution while it is fresh, else None (fetch one)."""
        if self._resolution is not None and self._clock() < self._refresh_at:
            return self._resolution
        return None

    def owns(self, resolution: AuthResolution | None) -> bool:
        return resolution is not None and resolution is self._resolution

    def invalidate(self) -> None:
        """Treat the token as expired (the server refused it), so the next resolution fetches a new one."""
        self._refresh_at = float("-inf")

    def store(self, body: Any, *, status: int) -> AuthResolution:
        """Keep the token of a token endpoint's JSON answer; a shape without one is ``InvalidResponseError``."""
        token = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in", 3600) if isinstance(body, dict) else None
        kind = body.get("token_type", "Bearer") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token.strip() or not isinstance(kind, str) or kind.lower() != "bearer":
            # Never quote the body: it may hold the token.
            raise InvalidResponseError("token endpoint did not answer a Bearer 'access_token'", status=status)
        if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
            raise InvalidResponseError("token endpoint answered no positive 'expires_in'", status=status)
        self._tokens = [*self._tokens, token][-_REMEMBERED_TOKENS:]
        self._refresh_at = self._clock() + max(float(expires_in) - REFRESH_MARGIN_S, expires_in / 2)
        self._resolution = AuthResolution(self.credentials.source, api_key=token)
        return self._resolution

    def secrets(self) -> tuple[str, ...]:
        """The secret, the Basic header value and every recent token, for scrubbing error text."""
        basic = self.credentials.basic_auth()
        return (self.credentials.client_secret, basic, basic.split(" ", 1)[1], *self._tokens)
