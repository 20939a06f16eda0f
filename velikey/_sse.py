"""Server-sent events of a rollout: a bounded ``text/event-stream`` parser and a reconnecting reader.

The parser follows the WHATWG event-stream rules (``\\n``, ``\\r\\n`` or ``\\r`` line ends,
``:`` comments, ``data`` lines joined by newlines, a last-event-id that persists) and
refuses a line over ``max_line_bytes`` or an event over ``max_event_bytes`` as
``InvalidResponseError``, so a hostile stream cannot grow memory without bound. The reader
resumes with ``Last-Event-ID`` after a dropped connection, at most ``max_reconnects`` times
in a row without a new event; the request timeout bounds the silence between lines (events
or keep-alive comments), raised as the SDK's ``TimeoutError``. It is part of the core: it
sends through the client's HTTP pool and maps errors at the core's one boundary.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from ._client import Core
from ._exchange import Exchange
from .exceptions import InvalidResponseError, TimeoutError, TLSError
from .operations import PreparedRequest, RequestSpec

__all__ = [
    "MAX_EVENT_BYTES",
    "MAX_LINE_BYTES",
    "MAX_RECONNECTS",
    "EventParser",
    "RolloutEvent",
    "events_of",
    "rollout_events",
]

MAX_LINE_BYTES = 64 * 1024
MAX_EVENT_BYTES = 1024 * 1024
MAX_RECONNECTS = 3
_LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class RolloutEvent:
    """One event of a rollout's stream: its id (the last one the stream set), its type and its JSON data."""

    id: str | None
    event: str
    data: Any


class EventParser:
    """Turns the bytes of an event stream into events, chunk by chunk, within size bounds."""

    def __init__(
        self,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
        max_event_bytes: int = MAX_EVENT_BYTES,
        parse_float: Callable[[str], Any] | None = None,
    ) -> None:
        self._parse_float = parse_float
        self._max_line = max_line_bytes
        self._max_event = max_event_bytes
        self._buffer = bytearray()
        self._skip_lf = False  # a chunk ended in \r: a \n opening the next one belongs to that line end
        self._data: list[str] = []
        self._size = 0
        self._event = ""
        self._last_id: str | None = None
        self.lines = 0  # complete lines seen: a keep-alive comment is a sign of life too

    def feed(self, chunk: bytes) -> list[RolloutEvent]:
        """The events completed by ``chunk``."""
        return [event for line in self._lines(chunk) if (event := self._line(line)) is not None]

    def _lines(self, chunk: bytes) -> Iterator[bytes]:
        buffer = self._buffer
        buffer += chunk
        start = 0
        if self._skip_lf and buffer:
            start, self._skip_lf = (1 if buffer[0] == 0x0A else 0), False
        while (end := _LINE_END.search(buffer, start)) is not None:
            line = bytes(buffer[start:end.start()])
            if len(line) > self._max_line:
                raise InvalidResponseError(f"event stream line exceeds {self._max_line} bytes")
            self._skip_lf = end.group() == b"\r" and end.end() == len(buffer)
            start = end.end()
            self.lines += 1
            yield line
        del buffer[:start]
        if len(buffer) > self._max_line:
            raise InvalidResponseError(f"event stream line exceeds {self._max_line} bytes")

    def _line(self, raw: bytes) -> RolloutEvent | None:
        if not raw:
            return self._dispatch()
        if raw.startswith(b":"):
            return None
        name, _, value = raw.partition(b":")
        try:
            field, text = name.decode("utf-8"), value.removeprefix(b" ").decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidResponseError("event stream is not UTF-8") from exc
        if field == "data":
            self._size += len(value) + 1
            if self._size > self._max_event:
                raise InvalidResponseError(f"event stream event exceeds {self._max_event} bytes")
            self._data.append(text)
        elif field == "event":
            self._event = text
        elif field == "id" and "\0" not in text:
            self._last_id = text
        return None  # "retry" and unknown fields are ignored, as the standard says

    def _dispatch(self) -> RolloutEvent | None:
        data, event = "\n".join(self._data), self._event or "message"
        had_data = bool(self._data)
        self._data, self._size, self._event = [], 0, ""
        if not had_data:
            return None
        try:
            parsed = json.loads(data, parse_float=self._parse_float)
        except (ValueError, RecursionError) as exc:
            raise InvalidResponseError(f"event {event!r} has data that is not JSON") from exc
        return RolloutEvent(id=self._last_id, event=event, data=parsed)


def events_of(exchange: Exchange, *, parse_float: Callable[[str], Any] | None = None) -> list[dict[str, Any]]:
    """The events of a whole event-stream answer, as ``{id, event, data}`` objects, within the parser's bounds.

    For an operation that reads a finished stream as one answer (``rollouts.get_events``); an
    event the stream left unfinished is dropped, as the standard says.
    """
    kind = exchange.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "text/event-stream":
        raise InvalidResponseError(f"expected text/event-stream, got {kind or 'no Content-Type'}",
                                   status=exchange.status)
    parser = EventParser(parse_float=parse_float)
    return [{"id": e.id, "event": e.event, "data": e.data} for e in parser.feed(exchange.body)]


def _request(core: Core, plan_id: str, last_event_id: str | None) -> PreparedRequest:
    spec = RequestSpec("GET", f"/api/rollouts/{quote(plan_id, safe='')}/events")
    prepared = core.prepare(spec, request_id=core._ids("request-id"))
    headers = [(k, "text/event-stream") if k == "Accept" else (k, v) for k, v in prepared.headers]
    if last_event_id is not None:
        headers.append(("Last-Event-ID", last_event_id))
    return PreparedRequest(prepared.method, prepared.url, tuple(headers), b"")


_REFUSAL_BYTES = 64 * 1024  # an error answer's body is kept for its detail and code only


async def _refusal(request: PreparedRequest, response: httpx.Response) -> Exchange:
    body = bytearray()
    try:
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) >= _REFUSAL_BYTES:
                break
    except httpx.StreamConsumed:  # an answer built in memory (httpx.MockTransport)
        body = bytearray(response.content)
    return Exchange(request, response.status_code, response.headers, bytes(body[:_REFUSAL_BYTES]), 1)


async def _chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_raw():
            yield chunk
    except httpx.StreamConsumed:
        yield response.content


async def _read(core: Core, response: httpx.Response, parser: EventParser) -> AsyncIterator[RolloutEvent]:
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "text/event-stream":
        raise InvalidResponseError(f"expected text/event-stream, got {kind or 'no Content-Type'}",
                                   status=response.status_code)
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise InvalidResponseError("event stream uses a Content-Encoding the SDK did not ask for",
                                   status=response.status_code)
    chunks = _chunks(response)
    loop = asyncio.get_running_loop()
    # httpx bounds each socket read; this bounds the silence between lines (events or keep-alives),
    # so a trickle of bytes that never ends a line times out too.
    deadline, seen = loop.time() + core._timeout, parser.lines
    while True:
        try:
            chunk = await asyncio.wait_for(anext(chunks), max(0.0, deadline - loop.time()))
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError as exc:
            raise httpx.ReadTimeout("no event or keep-alive line within the request timeout") from exc
        for event in parser.feed(chunk):
            yield event
        if parser.lines != seen:
            deadline, seen = loop.time() + core._timeout, parser.lines


async def rollout_events(
    core: Core,
    plan_id: str,
    *,
    last_event_id: str | None = None,
    max_reconnects: int = MAX_RECONNECTS,
    max_line_bytes: int = MAX_LINE_BYTES,
    max_event_bytes: int = MAX_EVENT_BYTES,
) -> AsyncIterator[RolloutEvent]:
    """The events of ``GET /api/rollouts/{plan_id}/events`` until the server ends the stream."""
    failures, refreshed = 0, False
    while True:
        used = await core.resolve_auth()
        request = _request(core, plan_id, last_event_id)
        parser = EventParser(max_line_bytes=max_line_bytes, max_event_bytes=max_event_bytes)
        try:
            async with core.streaming(request) as response:
                if response.status_code != 200:
                    exchange = await _refusal(request, response)
                    if exchange.status == 401 and not refreshed and await core.refresh_token(used):
                        refreshed = True
                        continue
                    if core.retry.retryable_status(exchange.status) and failures < max_reconnects:
                        failures += 1
                        await core._sleep(core.retry.delay(failures, exchange.headers.get("retry-after")))
                        continue
                    core.raise_for_status(exchange)
                    return  # 204 and other 2xx: nothing to stream, and the standard says not to reconnect
                async for event in _read(core, response, parser):
                    failures = 0
                    last_event_id = event.id if event.id is not None else last_event_id
                    yield event
            return
        except (httpx.HTTPError, ssl.SSLError) as exc:
            error = core._map_transport_error(exc, request)
            if isinstance(error, (TimeoutError, TLSError)) or failures >= max_reconnects:
                error.attempts = failures + 1
                raise error from exc
            failures += 1
            await core._sleep(core.retry.delay(failures, None))
