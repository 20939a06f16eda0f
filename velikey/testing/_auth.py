"""Who may call the reference server, and the NextAuth-style credentials bootstrap.

Axis accepts an API key as a bearer token or the ``next-auth.session-token`` cookie; the
bootstrap (csrf token, then a form post with email and password) mints that cookie. The
server can also answer the bootstrap in an older ("stale") shape, because a client must
notice a changed auth schema instead of carrying on without a session.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from ._config import ServerConfig
from ._models import CsrfResponse, ErrorResponse, LoginResponse
from ._responses import AsciiJSONResponse
from ._state import ApiError

__all__ = ["CSRF_COOKIE", "SESSION_COOKIE", "csrf_token", "require_auth", "router"]

SESSION_COOKIE = "next-auth.session-token"
CSRF_COOKIE = "next-auth.csrf-token"

_bearer = HTTPBearer(auto_error=False, description="The tenant's API key: `Authorization: Bearer <key>`.")
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
    """Let the request through with the right API key or session cookie; otherwise 401."""
    config: ServerConfig = request.app.server_config
    if bearer is not None and _same(bearer.credentials, config.api_key):
        return
    if session is not None and _same(session, config.session_token):
        return
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
    responses={status: {"model": ErrorResponse} for status in (400, 401, 403, 422)},
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
