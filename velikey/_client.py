"""The sender: auth, ids, retries and the one boundary where foreign errors become SDK errors.

Every request reaches the network through one loop, ``Core._send_prepared``: operations via
``Core.send``, the payload probe via ``Core.send_stream``, the credentials bootstrap via
``Core.send_unauthenticated``; so each gets identity encoding, the byte budget, the retry
policy and the error boundary. Requests are prepared by ``velikey.operations.prepare`` — the
same function the runner's dry-run uses — so what is rendered is what is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import ssl
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import httpx

from . import _auth, _oauth
from ._body import BodyTooLarge, UnsupportedEncoding, read_bounded
from ._exchange import REDACTED, Exchange, path_of, status_error
from ._retry import DEFAULT_TIMEOUT_S, RetryPolicy
from .exceptions import AuthMissingError, InvalidResponseError, TimeoutError, TLSError, TransportError, VeliKeyError
from .operations import SECRET_ENV, SECRET_HEADERS, PreparedRequest, RequestSpec, prepare, prepare_stream

__all__ = ["Core"]

log = logging.getLogger("velikey")

MAX_RESPONSE_BYTES = 16 * 1024 * 1024

IdSource = Callable[[str], str]
Sleep = Callable[[float], Awaitable[None]]


T = TypeVar("T")


async def _within(seconds: float | None, attempt: Awaitable[T]) -> T:
    """``attempt`` bounded by ``seconds``; ``TimeoutError`` only for this bound, an outer cancel stays a cancel.

    ``asyncio.timeout`` (3.11) runs the attempt in the caller's task; ``wait_for`` makes a task per request.
    """
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await attempt
    return await asyncio.wait_for(attempt, seconds)


def _uuid_ids(purpose: str) -> str:
    return str(uuid.uuid4())


# httpcore's DEBUG trace prints raw header tuples, e.g. a bootstrap answer's
# `(b'set-cookie', b'next-auth.session-token=...')`: a filter replaces such values before any
# handler sees the record. It is added to httpcore's loggers because that is where the record is
# made (a parent logger's filters do not apply to its children's records).
_SECRET_HEADER_NAMES = "|".join(re.escape(name) for name in sorted(SECRET_HEADERS))
# `(b'<name>', b` then a bytes literal in either quote style, with escapes.
_HEADER_IN_TRACE = re.compile(
    rf"""(\(b['"](?:{_SECRET_HEADER_NAMES})['"], b)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""",
    re.IGNORECASE,
)
_HTTPCORE_LOGGERS = ("httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks")


class _RedactHeaderTrace(logging.Filter):
    """Hides credential header values in httpcore's trace records."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record is the handler's to report, not ours
            return True
        redacted = _HEADER_IN_TRACE.sub(rf"\1'{REDACTED}'", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACT_HEADER_TRACE = _RedactHeaderTrace()
for _name in _HTTPCORE_LOGGERS:
    logging.getLogger(_name).addFilter(_REDACT_HEADER_TRACE)  # adding the same filter twice is a no-op


class Core:
    """Shared by the async and sync clients: holds the HTTP pool, the auth and the retry policy."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        session_cookie: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry_policy: RetryPolicy,
        verify_ssl: bool | ssl.SSLContext = True,
        transport: httpx.AsyncBaseTransport | None = None,
        id_source: IdSource | None = None,
        sleep: Sleep | None = None,
        env: Mapping[str, str] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
    ) -> None:
        if http_client is not None and transport is not None:
            raise ValueError("pass either transport or http_client, not both")
        self.base_url = base_url.rstrip("/")
        self.retry = retry_policy
        self._ids = id_source or _uuid_ids
        self._sleep = sleep or asyncio.sleep
        self._env = os.environ if env is None else env
        self._max_response_bytes = max_response_bytes
        self._timeout = timeout
        # Concurrent first requests wait for one resolution: one bootstrap, one cookie jar in use.
        self._auth_lock = asyncio.Lock()
        # Prepared requests carry absolute URLs (the bootstrap's too), so the pool needs no base URL.
        self._http = http_client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            verify=verify_ssl,
            transport=transport,
            follow_redirects=False,
        )
        self._owns_http = http_client is None  # an injected client is its owner's to close
        self.clock = clock or time.monotonic
        explicit = _oauth.client_credentials(
            self.base_url, client_id=client_id, client_secret=client_secret, token_url=token_url
        )
        self._tokens = _oauth.TokenCache(explicit, self.clock) if explicit else None
        self._explicit_key = api_key
        self._explicit_cookie = session_cookie
        self._auth: _auth.AuthResolution | None = None
        if api_key or session_cookie:
            self._auth = _auth.resolve_static_auth({}, api_key=api_key, session_cookie=session_cookie)

    # -- auth ------------------------------------------------------------------------------

    @property
    def auth_source(self) -> str | None:
        """The name of the auth source in use (never its value); None until resolved."""
        return self._auth.source if self._auth else None

    async def resolve_auth(self) -> _auth.AuthResolution:
        """Find a session: explicit values, then the environment in the seed's order, then bootstrap."""
        if self._auth is not None and not self._token_stale():
            return self._auth
        async with self._auth_lock:
            if self._auth is None or self._token_stale():
                self._auth = await self._resolve_auth()
            return self._auth

    def _token_stale(self) -> bool:
        # An OAuth token is re-fetched when it nears expiry or the server refused it.
        return self._tokens is not None and self._tokens.owns(self._auth) and self._tokens.current() is None

    async def _fetch_token(self, tokens: _oauth.TokenCache) -> _auth.AuthResolution:
        """A new bearer token from the token endpoint: retried, error-mapped, never quoted."""
        request = _oauth.token_request(tokens.credentials, request_id=self._ids("request-id"))
        exchange = await self._send_prepared(request, retry_ok=True)
        self.raise_for_status(exchange)
        return tokens.store(exchange.json(), status=exchange.status)

    async def refresh_token(self, refused: _auth.AuthResolution | None) -> bool:
        """After a 401 to ``refused``: a new OAuth token (one fetch for concurrent 401s); False if auth is not OAuth."""
        if self._tokens is None or refused is None or refused.source != self._tokens.credentials.source:
            return False
        if self._tokens.owns(refused):  # else a concurrent request has already replaced it
            self._tokens.invalidate()
        await self.resolve_auth()
        return True

    async def _resolve_auth(self) -> _auth.AuthResolution:
        if self._tokens is not None and (self._auth is None or self._tokens.owns(self._auth)):
            return self._tokens.current() or await self._fetch_token(self._tokens)
        # A cookie command is part of the first request, so the request timeout bounds it too.
        command_timeout_s = min(self._timeout or _auth.COMMAND_TIMEOUT_S, _auth.COMMAND_TIMEOUT_S)
        # In a worker thread: a cookie file read or a cookie command must not stall the event loop.
        resolution = await asyncio.to_thread(
            _auth.resolve_static_auth, self._env, command_timeout_s=command_timeout_s
        )
        if resolution is None and (client := _oauth.client_credentials(self.base_url, env=self._env)):
            self._tokens = _oauth.TokenCache(client, self.clock)
            return await self._fetch_token(self._tokens)
        if resolution is None:
            credentials = _auth.credentials_from_env(self._env)
            if credentials is None:
                raise AuthMissingError(
                    "no Axis auth source is configured; set one of " + ", ".join(_auth.AUTH_SOURCES),
                    tried=_auth.AUTH_SOURCES,
                )
            cookie = await _auth.bootstrap_session(
                self.send_unauthenticated, email=credentials.email, password=credentials.password
            )
            resolution = _auth.AuthResolution(source=_auth.CREDENTIALS_SOURCE, cookie=cookie)
        return resolution

    def secrets(self) -> tuple[str, ...]:
        """Every secret value this client holds, for scrubbing text before it reaches an error."""
        values = [self._explicit_key, self._explicit_cookie]
        if self._auth:
            values += [self._auth.api_key, self._auth.cookie]
            if self._auth.cookie and "=" in self._auth.cookie:
                values += [part.split("=", 1)[1] for part in self._auth.cookie.split(";") if "=" in part]
        values += [self._env.get(name) for name in SECRET_ENV]
        values += list(self._tokens.secrets()) if self._tokens else []
        return tuple(sorted({v.strip() for v in values if v and len(v.strip()) >= 4}, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self.secrets():
            text = text.replace(secret, REDACTED)
        return text

    # -- sending -----------------------------------------------------------------------------

    def prepare(self, spec: RequestSpec, *, request_id: str, path: str | None = None) -> PreparedRequest:
        """Prepare with the live auth headers (resolve first); used for sends only."""
        headers = self._auth.headers() if self._auth else {}
        return prepare(spec, base_url=self.base_url, request_id=request_id, auth_headers=headers, path=path)

    async def send(
        self,
        spec: RequestSpec,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Exchange:
        """Send one request with retries; an error status raises its typed error (``.exchange`` attached)."""
        try:
            await self.resolve_auth()
        except AuthMissingError:
            if spec.auth_required:
                raise
        if spec.mutating:
            spec = spec.with_idempotency_key(idempotency_key or spec.idempotency_key or self._ids("idempotency-key"))
        request_id = request_id or self._ids("request-id")
        used = self._auth
        exchange = await self._send_prepared(self.prepare(spec, request_id=request_id), retry_ok=self._may_retry(spec))
        if exchange.status == 401 and await self.refresh_token(used):  # once: a second 401 is the answer
            retry_ok = self._may_retry(spec)
            exchange = await self._send_prepared(self.prepare(spec, request_id=request_id), retry_ok=retry_ok)
        if exchange.status == 404 and spec.fallback_path:
            fallback = self.prepare(spec, request_id=request_id, path=spec.fallback_path)
            exchange = await self._send_prepared(fallback, retry_ok=True)
        self.raise_for_status(exchange)
        return exchange

    async def send_unauthenticated(self, spec: RequestSpec, cookie: str | None) -> Exchange:
        """Send without the client's identity (the bootstrap's requests, ``cookie`` its csrf cookie).

        Same path as every request: identity encoding, the byte budget, the retry policy and the
        transport error boundary; the answer's status is the caller's to judge.
        """
        headers = {"Cookie": cookie} if cookie else None
        request = prepare(spec, base_url=self.base_url, request_id=self._ids("request-id"), auth_headers=headers)
        return await self._send_prepared(request, retry_ok=self._may_retry(spec))

    async def send_stream(
        self,
        url: str,
        chunks: Callable[[], AsyncIterator[bytes]],
        *,
        length: int,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[Exchange, str]:
        """POST a streamed body to ``url`` (no credentials: it may be another host); returns the local digest.

        ``chunks`` is a factory so a retry streams the same bytes again; the digest is taken
        from the bytes actually sent on the final attempt.
        """
        request = prepare_stream(
            url,
            request_id=request_id or self._ids("request-id"),
            idempotency_key=idempotency_key or self._ids("idempotency-key"),
            length=length,
        )
        digest = hashlib.sha256()

        async def body() -> AsyncIterator[bytes]:
            nonlocal digest
            digest = hashlib.sha256()
            async for chunk in chunks():
                digest.update(chunk)
                yield chunk

        exchange = await self._send_prepared(request, retry_ok=True, content=body)
        self.raise_for_status(exchange)
        return exchange, digest.hexdigest()

    @contextlib.asynccontextmanager
    async def streaming(self, request: PreparedRequest) -> AsyncIterator[httpx.Response]:
        """An answer left unread for the caller to consume (server-sent events), closed on exit.

        httpx errors propagate unchanged: the caller maps them with ``_map_transport_error``.
        """
        http_request = self._http.build_request(request.method, request.url, headers=list(request.headers))
        response = await self._http.send(http_request, stream=True)
        try:
            yield response
        finally:
            await response.aclose()
            self._http.cookies.clear()

    def _may_retry(self, spec: RequestSpec) -> bool:
        # POSTs are retried only because the Idempotency-Key makes a replay harmless.
        return spec.method in ("GET", "HEAD") or bool(spec.mutating and spec.idempotency_key)

    async def _send_prepared(
        self,
        request: PreparedRequest,
        *,
        retry_ok: bool,
        content: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> Exchange:
        attempt = 0
        earlier: list[Exchange | VeliKeyError] = []
        while True:
            attempt += 1
            try:
                status, headers, body = await self._once(request, content)
            except (httpx.HTTPError, ssl.SSLError, InvalidResponseError) as exc:
                error = exc if isinstance(exc, InvalidResponseError) else self._map_transport_error(exc, request)
                if retry_ok and attempt <= self.retry.max_retries and not isinstance(error, InvalidResponseError):
                    if not isinstance(error, TLSError):
                        error.attempts = attempt
                        earlier.append(error)
                        await self._wait(attempt, None, request)
                        continue
                error.attempts = attempt
                raise error from exc
            if retry_ok and self.retry.retryable_status(status) and attempt <= self.retry.max_retries:
                earlier.append(Exchange(request, status, headers, body, attempt))
                await self._wait(attempt, headers.get("retry-after"), request)
                continue
            if log.isEnabledFor(logging.DEBUG):  # path_of parses the URL: not for every request of a quiet run
                log.debug("%s %s -> %s after %d attempt(s)", request.method, path_of(request.url), status, attempt)
            return Exchange(request, status, headers, body, attempt, tuple(earlier))

    async def _wait(self, attempt: int, retry_after: str | None, request: PreparedRequest) -> None:
        delay = self.retry.delay(attempt, retry_after)
        log.info("retrying %s %s in %.2fs (attempt %d)", request.method, path_of(request.url), delay, attempt + 1)
        await self._sleep(delay)

    async def _once(
        self, request: PreparedRequest, content: Callable[[], AsyncIterator[bytes]] | None
    ) -> tuple[int, httpx.Headers, bytes]:
        # httpx's timeouts bound each read and write; this bounds the attempt as a whole (connect,
        # upload, response head and body), so a peer that trickles, or reads an upload slowly, ends too.
        try:
            return await _within(self._timeout or None, self._attempt(request, content))
        except asyncio.TimeoutError as exc:  # this attempt's own bound; an outer cancel stays a cancel
            raise httpx.TimeoutException("the attempt took longer than the request timeout") from exc

    async def _attempt(
        self, request: PreparedRequest, content: Callable[[], AsyncIterator[bytes]] | None
    ) -> tuple[int, httpx.Headers, bytes]:
        http_request = self._http.build_request(
            request.method,
            request.url,
            headers=list(request.headers),
            content=content() if content is not None else (request.body or None),
        )
        response = await self._deliver(http_request)
        try:
            received = await read_bounded(response, self._max_response_bytes)
        except (BodyTooLarge, UnsupportedEncoding) as exc:
            problem = (f"response body exceeds {self._max_response_bytes} bytes" if isinstance(exc, BodyTooLarge)
                       else f"response uses an unsupported Content-Encoding {exc}")
            raise InvalidResponseError(
                problem, status=response.status_code, request_id=request.header("X-Request-Id")
            ) from exc
        finally:
            await response.aclose()
            # Auth travels in explicit headers only; a cookie jar would send session cookies unasked.
            self._http.cookies.clear()
        return response.status_code, response.headers, received

    async def _deliver(self, http_request: httpx.Request) -> httpx.Response:
        """The response head, body left unread.

        The SDK's own client follows no redirects, runs no auth flow or event hooks and keeps no
        cookies, so its request goes straight to the transport httpx would choose for the URL (a
        proxy's too): the layers ``send`` adds cost a tenth of a request's CPU and do nothing here.
        An injected client is sent through whole, because its owner may have hooks or auth on it.
        """
        if not self._owns_http:
            return await self._http.send(http_request, stream=True)
        transport = self._http._transport_for_url(http_request.url)
        response = await transport.handle_async_request(http_request)
        response.request = http_request
        return response

    def _map_transport_error(self, exc: BaseException, request: PreparedRequest) -> TransportError:
        """The one boundary where httpx/ssl errors become SDK errors, most specific class first."""
        request_id = request.header("X-Request-Id")
        where = f" ({request.method} {path_of(request.url)})"
        if isinstance(exc, httpx.TimeoutException):
            return TimeoutError(f"request timed out{where}", request_id=request_id)
        if isinstance(exc, ssl.SSLError) or isinstance(exc.__context__, ssl.SSLError):
            return TLSError(f"TLS verification or handshake failed{where}", request_id=request_id)
        if isinstance(exc, httpx.ConnectError) and "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return TLSError(f"TLS certificate verification failed{where}", request_id=request_id)
        return TransportError(
            f"no usable answer{where}: {type(exc).__name__}", request_id=request_id, detail=self.scrub(str(exc))[:200]
        )

    def raise_for_status(self, exchange: Exchange) -> None:
        """Raise the typed error for an error status, with the server's detail scrubbed of secrets."""
        if exchange.status < 400:
            return
        request = exchange.request
        error = status_error(
            exchange,
            f"{request.method} {path_of(request.url)} failed",
            detail=self.scrub(exchange.body[:300].decode("utf-8", "replace")) or None,
            now=self.retry.now,
        )
        error.exchange = exchange
        raise error

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
