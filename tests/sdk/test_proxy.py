"""The SDK's own client still honours HTTP_PROXY and NO_PROXY after it skipped httpx's ``send`` layers (issue 11).

The fast path hands each request to the transport httpx picks for the URL; a proxy configured
in the environment must still be that transport. The proxy here is a raw loopback socket that
answers for the origin itself, so the test proves the request went through it, in the proxy's
absolute form, and that a host under NO_PROXY is connected to directly.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.sdk.raw_server import raw_server, read_head
from velikey import AegisClient
from velikey.exceptions import TransportError

# Nothing listens here (a port from the reserved block of an address that is ours): direct would fail.
ORIGIN = "http://127.0.0.2:9"
HANG_GUARD_S = 15


@contextmanager
def answering_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback 'proxy' that records each request line and answers a health document itself."""
    seen: list[bytes] = []

    def answer(conn: socket.socket, stopped: threading.Event) -> None:
        head = read_head(conn)
        if head:
            seen.append(head.split(b"\r\n", 1)[0])
        body = json.dumps({"status": "ok", "via": "proxy"}).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    with raw_server(answer) as proxy:
        yield proxy, seen


def _health() -> dict[str, object]:
    async def call() -> dict[str, object]:
        async with AegisClient(api_key="vk_test", base_url=ORIGIN, timeout=2, max_retries=0, env={}) as client:
            return await asyncio.wait_for(client.get_health(), HANG_GUARD_S)

    return asyncio.run(call())


def test_a_request_goes_through_the_proxy_named_by_http_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with answering_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert _health() == {"status": "ok", "via": "proxy"}
    assert seen and all(line.startswith(b"GET " + ORIGIN.encode() + b"/") for line in seen)


def test_a_host_under_no_proxy_is_connected_to_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    with answering_proxy() as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "127.0.0.2")
        with pytest.raises(TransportError):
            _health()
    assert seen == []
