"""How the reference server writes JSON answers and errors.

Answers are ASCII JSON (non-ASCII escaped): any string a client sent, even a lone surrogate
in a JSON escape, can be echoed without a 500, and the bytes do not depend on an encoder's
Unicode handling. Every error has the same small shape, ``{"error": code, "detail": ...}``,
so clients map it without guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ._models import ErrorResponse
from ._state import ApiError

__all__ = ["AsciiJSONResponse", "error_responses", "install_error_handlers"]

# Each documented error status with its description pinned: FastAPI fills in Python's own reason
# phrase otherwise, and Python 3.13 renamed 422 to "Unprocessable Content", so the OpenAPI document
# drifted with the interpreter. These are the phrases of 3.10-3.12 (RFC 7231/4918 wording).
_DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
                 422: "Unprocessable Entity"}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route for its error statuses: the error shape, and a fixed description."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}


class AsciiJSONResponse(JSONResponse):
    """Compact, ASCII-only JSON."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _error(status: int, code: str, detail: Any = None, headers: Mapping[str, str] | None = None) -> AsciiJSONResponse:
    body: dict[str, Any] = {"error": code}
    if detail is not None:
        body["detail"] = detail
    return AsciiJSONResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> AsciiJSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return _error(exc.status, exc.code, exc.detail, headers)


async def _validation_error(request: Request, exc: Exception) -> AsciiJSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Location, message and type only: echoing the rejected input back helps nobody.
    problems = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return _error(422, "validation_error", problems)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


async def _http_error(request: Request, exc: Exception) -> AsciiJSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    # Routing errors say all in their code; others (e.g. a body that cannot be parsed) explain.
    detail = None if exc.status_code in (404, 405) else exc.detail
    return _error(exc.status_code, code, detail, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
