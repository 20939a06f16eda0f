"""Reading an answer's body within a byte budget, compressed or not.

httpx would inflate a gzip body in 64 KiB-in, megabytes-out steps before any size check, so a
small gzip bomb could cost hundreds of MiB. The SDK asks for ``identity`` and, when a server
compresses anyway, inflates it here with a bounded output per step.
"""

from __future__ import annotations

import zlib

import httpx

__all__ = ["BodyTooLarge", "UnsupportedEncoding", "read_bounded"]


class BodyTooLarge(Exception):
    """The body exceeds the budget."""


class UnsupportedEncoding(Exception):
    """A ``Content-Encoding`` the SDK does not inflate (it only asks for ``identity``)."""


def _inflater(encoding: str) -> zlib._Decompress | None:
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip", "deflate"):
        return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, detected from the header
    raise UnsupportedEncoding(encoding)


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, or ``BodyTooLarge`` as soon as it would pass ``limit`` bytes."""
    inflater = _inflater(response.headers.get("content-encoding", "").strip().lower())
    body = bytearray()
    try:
        chunks = response.aiter_raw()
        async for chunk in chunks:
            body += inflater.decompress(chunk, limit - len(body) + 1) if inflater else chunk
            if len(body) > limit:
                raise BodyTooLarge
    except httpx.StreamConsumed:
        # A response built in memory (httpx.MockTransport in tests) has no raw stream left to read.
        body = bytearray(response.content)
    if inflater is not None:
        body += inflater.flush(max(0, limit - len(body) + 1))
    if len(body) > limit:
        raise BodyTooLarge
    return bytes(body)
