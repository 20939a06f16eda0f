"""The request timeout bounds an attempt as a whole: response head and upload too, not only the body (issue 8).

httpx's timeouts bound each read or write; a peer that keeps every single read or write just
under that bound (a head trickling a byte at a time, an endpoint reading an upload slowly)
held a request for as long as it liked. The servers here are raw sockets written for the test,
so nothing between them and the SDK smooths the trickle out.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator

import pytest

from tests.sdk.raw_server import raw_server, read_head
from velikey import AegisClient
from velikey.exceptions import TimeoutError as RequestTimeout

# The outer bound is a hang guard only: a request still running at this point fails the test.
HANG_GUARD_S = 15


def _client(base_url: str) -> AegisClient:
    async def no_sleep(_: float) -> None:
        return None

    return AegisClient(api_key="vk_test", base_url=base_url, timeout=0.5, max_retries=1, sleep=no_sleep, env={})


def test_a_response_head_trickling_in_is_bounded_by_the_request_timeout() -> None:
    def trickle_head(conn: socket.socket, stopped: threading.Event) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not stopped.wait(0.05):  # a byte well inside every per-read timeout, the head never ends
            conn.sendall(b"a")

    async def call() -> None:
        async with _client(base_url) as client:
            await asyncio.wait_for(client.get_health(), HANG_GUARD_S)

    with raw_server(trickle_head) as base_url, pytest.raises(RequestTimeout) as caught:
        asyncio.run(call())
    assert caught.value.attempts == 2  # each attempt ended on its own bound, then the retry did too


def test_an_upload_to_a_slow_reading_endpoint_is_bounded_by_the_request_timeout() -> None:
    def read_slowly(conn: socket.socket, stopped: threading.Event) -> None:
        read_head(conn)
        while not stopped.wait(0.01) and conn.recv(65536):  # every write drains in time, the upload lasts minutes
            pass

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(256 * 1024):
            yield b"x" * 4096

    async def call() -> None:
        async with _client(base_url) as client:
            await asyncio.wait_for(client.probe_payload(f"{base_url}/ingest", chunks, length=1024 * 1024 * 1024),
                                   HANG_GUARD_S)

    with raw_server(read_slowly) as base_url, pytest.raises(RequestTimeout) as caught:
        asyncio.run(call())
    assert caught.value.attempts == 2
