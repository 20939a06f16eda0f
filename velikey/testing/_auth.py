"""Who may call the reference server: API key, session cookie, or OAuth2 access token.

Axis accepts an API key as a bearer token or the ``next-auth.session-token`` cookie; the
bootstrap (csrf token, then a form post with email and password) mints that cookie. The
server can also answer the bootstrap in an older ("stale") shape, because a client must
notice a changed auth schema instead of carrying on without a session. The OAuth2 client
credentials grant (``POST /api/oauth/token``) issues bearer tokens that expire, so a client's
token caching and refresh meet a real expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Annotated, Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from ._config import ServerConfig
from ._models import CsrfResponse, LoginResponse, TokenResponse
from ._responses import AsciiJSONResponse, error_responses
from ._state import ApiError, Tenant

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "TOKEN_PATH", "csrf_token", "require_auth", "router"]

SESSION_COOKIE = "next-auth.session-token"
CSRF_COOKIE = "next-auth.csrf-token"
TOKEN_PATH = "/api/oauth/token"

_bearer = HTTPBearer(
    auto_error=False,
    description=f"The tenant's API key, or an access token from `POST {TOKEN_PATH}`: `Authorization: Bearer <token>`.",
)
_session = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session cookie minted by the credentials bootstrap."
)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


async def require_auth(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    session: Annotated[str | None, Security(_session)],
) -> None:
    """Let the request through with the right API key, session cookie or a live access token; otherwise 401."""
    config: ServerConfig = request.app.server_config
    if bearer is not None and _same(bearer.credentials, config.api_key):
        return
    if session is not None and _same(session, config.session_token):
        return
    if bearer is not None:
        tenant: Tenant = request.app.tenant
        status = tenant.tokens.status(bearer.credentials)
        if status == "valid":
            return
        if status == "expired":
            raise ApiError(401, "token_expired", "the access token has expired; request a new one")
    raise ApiError(401, "unauthorized")


def csrf_token(config: ServerConfig) -> str:
    """The server's csrf token: fixed per configuration, so reruns send identical requests."""
    return hashlib.sha256(f"axis-reference:csrf:{config.seed}:{config.session_token}".encode()).hexdigest()


router = APIRouter(tags=["auth"])


@router.get("/api/auth/csrf", response_model=CsrfResponse)
async def get_csrf(request: Request) -> AsciiJSONResponse:
    """The csrf token the credentials callback requires (also set as the csrf cookie)."""
    config: ServerConfig = request.app.server_config
    token = csrf_token(config)
    body = {"csrfToken": token} if config.auth_schema == "current" else {"token": token}
    response = AsciiJSONResponse(body)
    response.set_cookie(CSRF_COOKIE, token, path="/", httponly=True, samesite="lax")
    return response


_FORM_FIELD = Form(min_length=1, max_length=1024)


@router.post(
    "/api/auth/callback/credentials",
    response_model=LoginResponse,
    responses=error_responses(400, 401, 403, 422),
)
async def post_credentials(
    request: Request,
    csrfToken: Annotated[str, _FORM_FIELD],
    email: Annotated[str, _FORM_FIELD],
    password: Annotated[str, _FORM_FIELD],
) -> AsciiJSONResponse:
    """Exchange email + password (and the csrf token) for the session cookie.

    The answer is JSON whether or not the form carries NextAuth's ``json=true``. A wrong csrf
    token is 403, wrong credentials 401.
    """
    config: ServerConfig = request.app.server_config
    if not _same(csrfToken, csrf_token(config)):
        raise ApiError(403, "csrf_token_mismatch", "get a token from /api/auth/csrf first")
    if not (_same(email, config.email) & _same(password, config.password)):
        raise ApiError(401, "invalid_credentials")
    body: dict[str, Any] = {"url": "/"} if config.auth_schema == "current" else {"ok": True}
    response = AsciiJSONResponse(body)
    if config.auth_schema == "current":
        # Written by hand so the header is exactly the documented `name=value; Path=/; HttpOnly`.
        response.headers.append("set-cookie", f"{SESSION_COOKIE}={config.session_token}; Path=/; HttpOnly")
    return response


_CLIENT_FIELD = Form(min_length=1, max_length=1024)


@router.post(
    TOKEN_PATH,
    response_model=TokenResponse,
    responses=error_responses(400, 401, 422),
)
async def post_token(
    request: Request,
    # A string, not a Literal: another grant type is OAuth2's 400 unsupported_grant_type, not a 422;
    # the document still names the one grant type that works.
    grant_type: Annotated[str, Form(max_length=1024, json_schema_extra={"enum": ["client_credentials"]})],
    client_id: Annotated[str | None, _CLIENT_FIELD] = None,
    client_secret: Annotated[str | None, _CLIENT_FIELD] = None,
) -> AsciiJSONResponse:
    """Issue an access token for the client credentials grant (RFC 6749 4.4).

    The client authenticates with HTTP Basic (``client_id:client_secret``) or with both in the
    form; Basic wins when both are given. Only ``client_credentials`` is supported (else 400
    ``unsupported_grant_type``); a wrong client is 401 ``invalid_client``. Each token is new.
    """
    if grant_type != "client_credentials":
        raise ApiError(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    client, secret = _basic_client(request.headers.get("authorization")) or (client_id, client_secret)
    config: ServerConfig = request.app.server_config
    if client is None or secret is None or not (_same(client, config.client_id) & _same(secret, config.client_secret)):
        raise ApiError(401, "invalid_client")
    tenant: Tenant = request.app.tenant
    body = {"access_token": tenant.tokens.issue(), "token_type": "Bearer", "expires_in": tenant.tokens.expires_in}
    # RFC 6749 5.1: token answers must not be cached.
    return AsciiJSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _basic_client(header: str | None) -> tuple[str | None, str | None] | None:
    """The client id and secret of an ``Authorization: Basic`` header (form-encoded, RFC 6749 2.3.1)."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return (None, None)  # Basic was meant, and is wrong: never fall back to the form
    client, sep, secret = decoded.partition(":")
    return (unquote_plus(client), unquote_plus(secret)) if sep else (None, None)
