"""Pages of the list routes (``limit``/``offset`` in, ``total`` out) and generators that walk them.

A page reads ``total`` from the answer's body (the typed result of ``policies.list`` is a
bare list, without it). Walking stops at ``total``, at an empty or short page; a full page
from a server that does not say ``total`` is refused rather than re-requested, because a
server that ignores ``offset`` would answer the same page forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .exceptions import InvalidResponseError

if TYPE_CHECKING:
    from .resources import Caller

__all__ = ["DEFAULT_PAGE_SIZE", "Page", "fetch_page", "walk"]

DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    """One page of a list route: its items, where it starts, and how many items match in all (if said)."""

    items: list[dict[str, Any]]
    offset: int
    limit: int | None
    total: int | None

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None when this one is the last."""
        end = self.offset + len(self.items)
        if not self.items or (self.total is not None and end >= self.total):
            return None
        if self.total is None and (self.limit is None or len(self.items) < self.limit):
            return None
        return end


async def fetch_page(
    client: Caller, operation: str, items_key: str, *, limit: int | None, offset: int, **kwargs: Any
) -> Page:
    """Page ``offset`` of ``operation`` (``policies.list`` or ``monitoring.get_active_alerts``)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    answer = await client.call(operation, limit=limit, offset=offset or None, **kwargs)
    result = answer.result
    items = result if isinstance(result, list) else result[items_key]
    body = answer.exchanges[-1].json()
    total = body.get("total") if isinstance(body, dict) else None
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 0):
        raise InvalidResponseError(f"{operation}: 'total' is not a non-negative integer")
    return Page(items=list(items), offset=offset, limit=limit, total=total)


async def walk(
    client: Caller, operation: str, items_key: str, *, page_size: int = DEFAULT_PAGE_SIZE, **kwargs: Any
) -> AsyncIterator[dict[str, Any]]:
    """Every item of ``operation``, page by page; stopping early requests no further page."""
    offset: int | None = 0
    while offset is not None:
        page = await fetch_page(client, operation, items_key, limit=page_size, offset=offset, **kwargs)
        if page.total is None and len(page.items) >= page_size:
            raise InvalidResponseError(f"{operation}: a full page without 'total'; the server may not page")
        for item in page.items:
            yield item
        offset = page.next_offset
