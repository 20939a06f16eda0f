"""One request and the answer it finally got, and the typed error an error answer becomes.

Its own module so that the sender (``_client``) and the credentials bootstrap (``_auth``),
which sends through it, read answers and map statuses the same way without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ._retry import parse_retry_after
from .exceptions import (
    APIStatusError,
    InvalidResponseError,
    RateLimitError,
    VeliKeyError,
    error_code,
    error_for_status,
)
from .operations import SECRET_HEADERS, PreparedRequest

__all__ = ["REDACTED", "Exchange", "path_of", "status_error"]

REDACTED = "[REDACTED]"


def path_of(url: str) -> str:
    return httpx.URL(url).path


@dataclass(frozen=True)
class Exchange:
    """One request and the answer it finally got, after ``attempts`` tries.

    ``earlier`` keeps every attempt before it, oldest first (the answer it got, or the typed error of an
    attempt that got none), so evidence can show a retried call whole, not only its last try.
    """

    request: PreparedRequest
    status: int
    headers: httpx.Headers
    body: bytes
    attempts: int
    earlier: tuple[Exchange | VeliKeyError, ...] = field(default=(), compare=False)

    def __repr__(self) -> str:
        # Errors carry their exchange; an answer may set a session cookie, which a repr must not show.
        headers = [(k, REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in self.headers.multi_items()]
        return (
            f"Exchange(request={self.request!r}, status={self.status}, headers={headers!r}, "
            f"body={self.body!r}, attempts={self.attempts})"
        )

    @property
    def request_id(self) -> str | None:
        """The server's ``X-Request-Id`` for this answer, else the one the request carried."""
        value: str | None = self.headers.get("x-request-id") or self.request.header("X-Request-Id")
        return value

    @property
    def replayed(self) -> bool:
        """The server answered from its replay store (``Idempotent-Replayed: true``): the effect happened before."""
        return str(self.headers.get("idempotent-replayed", "")).lower() == "true"

    def json(self, *, parse_float: Callable[[str], Any] | None = None) -> Any:
        """The body as JSON; anything else is ``InvalidResponseError``, never a decoder traceback."""
        try:
            return json.loads(self.body.decode("utf-8"), parse_float=parse_float)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise InvalidResponseError(
                f"expected a JSON body from {self.request.method} {path_of(self.request.url)}",
                status=self.status,
                request_id=self.request.header("X-Request-Id"),
            ) from exc


def status_error(
    exchange: Exchange,
    message: str,
    *,
    detail: str | None = None,
    now: Callable[[], datetime] | None = None,
) -> APIStatusError:
    """The typed error of an error answer, from the one status table; a 429 carries the server's wait.

    ``RateLimitError.retry_after`` is what ``Retry-After`` says, in seconds, or ``None`` without
    a usable header: it is the server's word, never a backoff the client made up.
    """
    cls = error_for_status(exchange.status)
    fields: dict[str, Any] = {"status": exchange.status, "request_id": exchange.request_id, "detail": detail,
                              "code": error_code(exchange.body)}
    if cls is RateLimitError:
        error: APIStatusError = RateLimitError(
            message, retry_after=parse_retry_after(exchange.headers.get("retry-after"), now=now), **fields
        )
    else:
        error = cls(message, **fields)
    error.attempts = exchange.attempts
    return error
