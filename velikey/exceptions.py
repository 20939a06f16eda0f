"""Typed errors raised by the VeliKey SDK.

Every failure the SDK reports is a ``VeliKeyError``; foreign exceptions (httpx, json)
are translated at one boundary (the client core's sender) to the most specific class::

    VeliKeyError
    ├── APIStatusError                 an HTTP answer with an error status
    │   ├── ValidationError            400, 422
    │   ├── AuthenticationError        401
    │   ├── ForbiddenError             403
    │   ├── NotFoundError              404
    │   ├── ConflictError              409
    │   ├── RateLimitError             429 (.retry_after)
    │   └── ServerError                5xx
    ├── TransportError                 no usable HTTP answer
    │   ├── TimeoutError               connect/read/write/pool timeout, or the deadline
    │   │   └── WaitTimeoutError       ``wait_for``'s condition did not hold in time (.last)
    │   └── TLSError                   certificate or handshake failure
    ├── InvalidResponseError           an answer that is not the JSON the contract promises
    └── AuthError                      no session could be established
        ├── AuthMissingError           no auth source is configured
        ├── AuthSourceError            a configured source could not produce a session
        │   └── AuthSourceRefusedError a cookie file refused unread (not a regular file, too large)
        └── AuthSchemaMismatchError    the credentials endpoints answered in another shape

Messages carry the status, the request id and the server's detail, never a cookie, token,
password or API key: those are scrubbed before an error is built. ``status_code`` is an
alias of ``status``; ``code`` is the server's error code string (JSON ``error``/``code``), if any.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "APIStatusError",
    "AuthError",
    "AuthMissingError",
    "AuthSchemaMismatchError",
    "AuthSourceError",
    "AuthSourceRefusedError",
    "AuthenticationError",
    "ConflictError",
    "ForbiddenError",
    "InvalidResponseError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "TLSError",
    "TimeoutError",
    "TransportError",
    "ValidationError",
    "VeliKeyError",
    "WaitTimeoutError",
    "error_code",
    "error_for_status",
]


class VeliKeyError(Exception):
    """Base of every SDK error; carries what a caller needs to act on it, nothing secret.

    ``attempts`` is how many tries were made; ``exchange`` is the final request/answer
    (``velikey.Exchange``) when there was one, so evidence can record it.
    """

    attempts: int = 1
    exchange: Any = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.request_id = request_id
        self.detail = detail
        self.code = code

    @property
    def status_code(self) -> int | None:
        """The HTTP status, under the name httpx and most SDKs use."""
        return self.status

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.detail:
            parts.append(f"detail={self.detail}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class APIStatusError(VeliKeyError):
    """The server answered with an error status."""


class ValidationError(APIStatusError):
    """400/422: the server rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: the session or API key is missing, expired or invalid."""


class ForbiddenError(APIStatusError):
    """403: authenticated, but not allowed for this tenant or resource."""


class NotFoundError(APIStatusError):
    """404: the resource (policy, plan, token) does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state (e.g. an idempotency key reused)."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds, when given."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(APIStatusError):
    """5xx: the server failed; retried before it is raised."""


class TransportError(VeliKeyError):
    """No usable HTTP answer: connection refused or dropped, protocol error."""


class TimeoutError(TransportError):  # noqa: A001 - the SDK's own name, shadowing on purpose
    """The request or the run's deadline timed out."""


class WaitTimeoutError(TimeoutError):
    """``wait_for`` gave up: the condition did not hold within ``timeout_s``; ``last`` is the final value seen."""

    def __init__(
        self, message: str, *, last: Any = None, attempts: int = 0, timeout_s: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.last = last
        self.attempts = attempts
        self.timeout_s = timeout_s


class TLSError(TransportError):
    """TLS verification or handshake failed; verification is never turned off silently."""


class InvalidResponseError(VeliKeyError):
    """The answer was not the JSON shape the contract promises."""


class AuthError(VeliKeyError):
    """No session could be established."""


class AuthMissingError(AuthError):
    """No auth source is configured; ``tried`` names the sources looked at."""

    def __init__(self, message: str, *, tried: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tried = tried


class AuthSourceError(AuthError):
    """A configured source (cookie file, cookie command) could not produce a session."""

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.source = source


class AuthSourceRefusedError(AuthSourceError):
    """A cookie file refused before reading: a FIFO, device or folder, or larger than the SDK reads.

    Its own class because it is a bad input, not a missing session: the runner ends with exit 2.
    """


class AuthSchemaMismatchError(AuthError):
    """The credentials bootstrap endpoints answered in a shape this SDK does not know."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}


def error_for_status(status: int) -> type[APIStatusError]:
    """The one table from an HTTP error status to its error class."""
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500:
        return ServerError
    return APIStatusError


# A code is echoed into errors, so only a short plain token is taken (never free text that could hold a secret).
_ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]{0,63}")


def error_code(body: bytes) -> str | None:
    """The server's error code in a JSON error body (``error``, else ``code``), or None."""
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(parsed, dict):
        return None
    for key in ("error", "code"):
        value = parsed.get(key)
        if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
            return value
    return None
