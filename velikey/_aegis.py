"""``AegisClient`` (async) and ``AegisClientSync``: the seed's constructor over one shared core.

The sync client is a thin wrapper that drives the async one on a private event loop, so
there is one implementation of every operation, not two.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import httpx

from . import _wait
from ._client import Core, IdSource, Sleep
from ._exchange import Exchange
from ._raw import Params, raw_spec
from ._results import parse_result
from ._retry import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_S, RetryPolicy
from .exceptions import InvalidResponseError
from .models import HashEcho
from .operations import build, sub_request_id
from .resources import Billing, Monitoring, Policies, Resource, Rollouts, Telemetry

__all__ = ["AegisClient", "AegisClientSync", "CallResult", "ProbeResult"]

DEFAULT_BASE_URL = "https://axis.velikey.com"
T = TypeVar("T")


@dataclass(frozen=True)
class CallResult:
    """An operation's caller-facing result and every exchange it took to get it."""

    result: Any
    exchanges: tuple[Exchange, ...]


@dataclass(frozen=True)
class ProbeResult:
    """A payload probe: what was sent (length, local SHA-256) and what the endpoint echoed."""

    bytes_sent: int
    sha256: str
    echo: HashEcho
    exchange: Exchange

    @property
    def replayed(self) -> bool:
        """The endpoint answered a replay (``Idempotent-Replayed: true``): these bytes were counted before."""
        return str(self.exchange.headers.get("idempotent-replayed", "")).lower() == "true"

    @property
    def matched(self) -> bool:
        return self.echo.sha256.lower() == self.sha256 and self.echo.bytes == self.bytes_sent


class AegisClient:
    """Async client for Axis + Aegis.

    Auth: ``api_key`` or ``session_cookie`` when given; otherwise the environment, in the
    seed's order (``AXIS_SESSION_COOKIE`` … credentials bootstrap). ``transport``,
    ``id_source``, ``retry_policy`` and ``sleep`` are injectable for tests and for the
    runner's deterministic ids.

    ``base_url`` defaults to ``AXIS_BASE_URL``, then https://axis.velikey.com. ``client_id``
    + ``client_secret`` (``token_url`` defaults to ``<base_url>/api/oauth/token``) use OAuth2
    client credentials. ``http_client`` is an ``httpx.AsyncClient`` to send with (the SDK
    then leaves closing it to its owner); ``clock`` (monotonic seconds) drives ``wait_for``
    and token expiry.
    """

    def __init__(
        self,
        api_key: str | None = None,
        session_cookie: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        verify_ssl: bool | ssl.SSLContext = True,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_policy: RetryPolicy | None = None,
        id_source: IdSource | None = None,
        sleep: Sleep | None = None,
        env: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
    ) -> None:
        self._core = Core(
            base_url=_base_url(base_url, os.environ if env is None else env),
            api_key=api_key,
            session_cookie=session_cookie,
            timeout=timeout,
            retry_policy=retry_policy or RetryPolicy(max_retries=max_retries),
            verify_ssl=verify_ssl,
            transport=transport,
            id_source=id_source,
            sleep=sleep,
            env=env,
            http_client=http_client,
            clock=clock,
            client_id=client_id,
            client_secret=client_secret,
            token_url=token_url,
        )
        self.policies = Policies(self)
        self.billing = Billing(self)
        self.monitoring = Monitoring(self)
        self.rollouts = Rollouts(self)
        self.telemetry = Telemetry(self)

    def __repr__(self) -> str:
        return f"AegisClient(base_url={self._core.base_url!r}, auth_source={self._core.auth_source!r})"

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def auth_source(self) -> str | None:
        """Which auth source is in use, by name; None until the first request resolves it."""
        return self._core.auth_source

    @property
    def uses_api_key(self) -> bool:
        """True when requests authenticate with ``Authorization: Bearer`` rather than the session cookie."""
        return bool(self._core._auth and self._core._auth.api_key)

    def redaction_values(self) -> tuple[str, ...]:
        """The secret values this client holds, so a caller can scrub its own output; never print them."""
        return self._core.secrets()

    async def resolve_auth(self) -> str:
        """Resolve (and bootstrap, if that is the source) the session now; returns the source name."""
        return (await self._core.resolve_auth()).source

    async def get_health(self) -> dict[str, Any]:
        """Service health: ``{"status": "ok", ...}`` (``/api/healthz``, falling back to ``/health``)."""
        return cast(dict[str, Any], await self.result("get_health"))

    async def call(
        self,
        operation: str,
        /,
        *,
        request_id: str | None = None,
        idempotency_key: str | None = None,
        parse_float: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> CallResult:
        """Run operation ``operation`` (a dotted name) with explicit ids; the runner's entry point.

        An operation of several requests gets ``<request_id>.1``, ``.2`` …; mutating ones
        share ``idempotency_key`` (retries reuse it, so an effect happens once).
        """
        specs = build(operation, **kwargs)
        exchanges = []
        for index, spec in enumerate(specs, start=1):
            rid = None if request_id is None else sub_request_id(request_id, index, len(specs))
            exchanges.append(await self._core.send(spec, request_id=rid, idempotency_key=idempotency_key))
        bodies = [exchange.json(parse_float=parse_float) for exchange in exchanges]
        return CallResult(parse_result(operation, bodies), tuple(exchanges))

    async def result(self, operation: str, /, **kwargs: Any) -> Any:
        """Run ``operation`` and return only its result (what the resource methods return)."""
        return (await self.call(operation, **kwargs)).result

    async def probe_payload(
        self,
        url: str,
        payload: bytes | Callable[[], AsyncIterator[bytes]],
        *,
        length: int | None = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> ProbeResult:
        """Stream ``payload`` to a hash-echo endpoint and compare its echo with the local digest.

        A factory of chunks keeps a large payload out of memory; no credentials are sent,
        because the payload URL may be another host.
        """
        if isinstance(payload, bytes):
            data = payload

            async def chunks() -> AsyncIterator[bytes]:
                yield data

            factory, length = chunks, len(data)
        else:
            factory = payload
            if length is None:
                raise ValueError("length is required when payload is a chunk factory")
        exchange, local = await self._core.send_stream(
            url, factory, length=length, request_id=request_id, idempotency_key=idempotency_key
        )
        try:
            echo = HashEcho.model_validate(exchange.json())
        except (ValueError, TypeError) as exc:
            if isinstance(exc, InvalidResponseError):
                raise
            raise InvalidResponseError(
                "payload endpoint did not answer {sha256, bytes}", status=exchange.status
            ) from exc
        return ProbeResult(bytes_sent=length, sha256=local, echo=echo, exchange=exchange)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> Exchange:
        """Any route of the tenant (a path, not a URL): authenticated, retried and error-mapped like a typed call.

        A mutating method carries ``idempotency_key`` (or a generated one) on every attempt.
        """
        spec = raw_spec(method, path, params=params, json=json, idempotency_key=idempotency_key)
        return await self._core.send(spec, request_id=request_id)

    async def get(self, path: str, *, params: Params | None = None, request_id: str | None = None) -> Exchange:
        return await self.request("GET", path, params=params, request_id=request_id)

    async def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> Exchange:
        return await self.request(
            "POST", path, params=params, json=json, idempotency_key=idempotency_key, request_id=request_id
        )

    async def wait_for(
        self,
        call: Callable[[], Awaitable[T]],
        until: Callable[[T], bool],
        *,
        interval_s: float = 1.0,
        timeout_s: float = 30.0,
    ) -> T:
        """Poll ``call()`` until ``until(result)`` holds and return that result, else ``WaitTimeoutError``.

        The first poll is immediate; the waits use the client's ``sleep`` and ``clock``.
        """
        schedule = _wait.Schedule(interval_s=interval_s, timeout_s=timeout_s, clock=self._core.clock)
        return await _wait.wait_for(call, until, schedule=schedule, sleep=self._core._sleep)

    async def close(self) -> None:
        await self._core.aclose()

    async def aclose(self) -> None:
        """Alias of ``close()``, the name httpx uses."""
        await self.close()

    async def __aenter__(self) -> AegisClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _base_url(given: str | None, env: Mapping[str, str]) -> str:
    # The explicit argument wins, then AXIS_BASE_URL (as the runner reads it), then the public tenant.
    for value in (given, env.get("AXIS_BASE_URL")):
        if value and value.strip():
            return value.strip()
    return DEFAULT_BASE_URL


class _BlockingIterator(Iterator[T]):
    """An async iterator driven one item at a time on the sync client's loop; ``close()`` ends it early."""

    def __init__(self, items: AsyncIterator[T], run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self._items = items
        self._run = run

    def __next__(self) -> T:
        async def step() -> T:
            return await anext(self._items)

        try:
            return cast(T, self._run(step()))
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        """Stop early: closes the stream or page walk (and its connection) now, not at garbage collection."""
        aclose = getattr(self._items, "aclose", None)
        if aclose is not None:
            self._run(aclose())

    def __enter__(self) -> _BlockingIterator[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _SyncProxy:
    """Turns every coroutine method of the wrapped object into a blocking call; nests for resources."""

    def __init__(self, target: Any, run: Callable[[Coroutine[Any, Any, Any]], Any]) -> None:
        self._target = target
        self._run = run

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if asyncio.iscoroutinefunction(attr):
            return lambda *args, **kwargs: self._run(attr(*args, **kwargs))
        if inspect.isasyncgenfunction(attr):
            return lambda *args, **kwargs: _BlockingIterator(attr(*args, **kwargs), self._run)
        if isinstance(attr, Resource):
            return _SyncProxy(attr, self._run)
        return attr

    def __repr__(self) -> str:
        return repr(self._target).replace("AegisClient(", "AegisClientSync(", 1)


class AegisClientSync(_SyncProxy):
    """Blocking client with the same constructor, resources and methods as ``AegisClient``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        client = AegisClient(*args, **kwargs)  # first, so a bad argument leaves no loop unclosed
        self._loop = asyncio.new_event_loop()
        super().__init__(client, self._run_coro)

    def _check_usable(self) -> None:
        if self._loop.is_closed():
            raise RuntimeError("this AegisClientSync is closed")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError("AegisClientSync cannot be used inside a running event loop; await AegisClient instead")

    def _run_coro(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            self._check_usable()
        except RuntimeError:
            coro.close()  # it never ran: no "coroutine was never awaited" warning on top of the error
            raise
        return self._loop.run_until_complete(coro)

    def close(self) -> None:
        """Close the connections and the private loop, as ``asyncio.run`` would; safe to call twice."""
        if self._loop.is_closed():
            return
        self._check_usable()
        try:
            self._loop.run_until_complete(self._target.close())
        finally:
            # Host name lookups run on the loop's default executor: join its threads, leave none behind.
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def wait_for(
        self, call: Callable[[], T], until: Callable[[T], bool], *, interval_s: float = 1.0, timeout_s: float = 30.0
    ) -> T:
        """``AegisClient.wait_for`` with a blocking ``call`` (e.g. ``lambda: client.monitoring.get_health_score()``)."""
        core = self._target._core

        def pause(seconds: float) -> None:
            async def sleep() -> None:
                await core._sleep(seconds)

            self._run_coro(sleep())

        schedule = _wait.Schedule(interval_s=interval_s, timeout_s=timeout_s, clock=core.clock)
        return _wait.wait_for_blocking(call, until, schedule=schedule, sleep=pause)

    def aclose(self) -> None:
        """Alias of ``close()``, so code written for either client closes both completely."""
        self.close()

    def __enter__(self) -> AegisClientSync:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
