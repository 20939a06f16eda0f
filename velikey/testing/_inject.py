"""How each fault action reaches the client, at the ASGI level, below FastAPI's routing.

Faults have to be real to be worth testing against: a dropped answer must reach the client
as a closed connection (a transport error), not as an HTTP status, and a hang must hold the
connection open until the client gives up. Only ASGI gives that control, so the actions live
here, around the app, and the routes never know about them (except the hash echo, which
reads ``CORRUPT_ECHO`` to report altered bytes).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._faults import Fault

__all__ = ["CORRUPT_ECHO", "inject", "released_within"]

# Scope key the hash echo reads: report the digest of altered bytes instead of the real ones.
CORRUPT_ECHO = "velikey.testing.corrupt_echo"
_MALFORMED_CONTENT_TYPE = (b"content-type", b"application/json")


async def inject(
    fault: Fault, app: ASGIApp, scope: Scope, receive: Receive, send: Send, released: asyncio.Event, echoes: bool
) -> None:
    """Serve one request under ``fault``; ``released`` is set when the server is stopping.

    ``echoes`` says the route is the hash echo, where ``corrupt`` alters the echoed digest.
    """
    if fault.delay_s > 0 and await released_within(released, fault.delay_s):
        await _drop(receive, send)
        return
    if fault.action == "respond":
        await _drain(receive)
        headers = [(b"retry-after", fault.retry_after.encode("latin-1"))] if fault.retry_after else []
        await _send(send, fault.status, _json({"error": "injected_fault", "status": fault.status}), headers)
        return
    if fault.action == "corrupt" and echoes:
        await app({**scope, CORRUPT_ECHO: True}, receive, send)
        return
    # The other actions let the request take effect and then spoil the answer.
    answer = _Captured()
    await app(scope, receive, answer.send)
    if fault.action == "drop":
        await _drop(receive, send)
    elif fault.action == "malformed":
        # Half of a JSON document is not JSON; it still claims to be.
        await _send(send, 200, answer.body[: len(answer.body) // 2] or b"{", [_MALFORMED_CONTENT_TYPE])
    elif fault.action == "corrupt":
        await _send(send, 200, _json(_altered(_loads(answer.body))), [])
    else:  # hang
        if await _held_until_released(receive, released):
            await _drop(receive, send)


class _Captured:
    """A ``send`` that keeps the app's answer instead of sending it."""

    def __init__(self) -> None:
        self.body = b""

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.body":
            self.body += message.get("body", b"")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return {"body": body.decode("latin-1")}


def _altered(value: Any) -> Any:
    """Same shape, wrong content: numbers +1, strings marked; booleans and nulls kept."""
    if isinstance(value, dict):
        return {k: _altered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_altered(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return value + 1
    return f"{value}~corrupted"


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    names = {name for name, _ in headers}
    start_headers = [h for h in base if h[0] not in names] + headers
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _drain(receive: Receive) -> None:
    """Read the request body to its end, so the client is never stuck writing into a refusal."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def released_within(released: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if the server starts stopping (then True)."""
    try:
        await asyncio.wait_for(released.wait(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


async def _held_until_released(receive: Receive, released: asyncio.Event) -> bool:
    """Wait until the client hangs up (False) or the server stops (True)."""
    gone = asyncio.ensure_future(_disconnected(receive))
    stopping = asyncio.ensure_future(released.wait())
    done, pending = await asyncio.wait({gone, stopping}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return stopping in done and gone not in done


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _drop(receive: Receive, send: Send) -> None:
    """Close the connection without a complete answer, so the client sees a transport error.

    Under uvicorn ``send`` is a method of the request cycle, which holds the connection's
    transport: aborting it closes the socket before any byte of the answer, and uvicorn then
    notices the disconnect and writes nothing. That is the one place this module relies on
    uvicorn's internals; any other server gets an answer that promises more body than it
    sends, which the server must end by closing the connection.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]})
        return
    transport.abort()
    await _disconnected(receive)
