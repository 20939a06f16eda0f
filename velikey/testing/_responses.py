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

from ._state import ApiError

__all__ = ["AsciiJSONResponse", "install_error_handlers"]


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
