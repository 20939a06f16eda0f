"""The rollout event stream: ``GET /api/rollouts/{planId}/events`` as server-sent events.

The stream reports where the plan's rollout stands when the client connects, as a fixed
sequence of ``phase`` events numbered from 1, then ends: the same state always gives the same
bytes. ``Last-Event-ID: n`` resumes after event n, which is how a client that lost the
connection carries on without repeats. Events are ``sse_interval_s`` apart, so a client's
read timeout and reconnect can be tested; a stopping server ends its streams at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import StreamingResponse

from ._auth import require_auth
from ._inject import released_within
from ._models import PhaseEvent
from ._state import Tenant

__all__ = ["EVENTS_PATH", "EventStreamResponse", "render_event", "router"]

EVENTS_PATH = "/api/rollouts/{planId}/events"


class EventStreamResponse(StreamingResponse):
    """``text/event-stream``, exactly: no charset parameter (SSE is UTF-8 by definition)."""

    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes]) -> None:
        # Content-Type given explicitly, or Starlette would append "; charset=utf-8" to a text/ type.
        headers = {"Content-Type": self.media_type, "Cache-Control": "no-cache"}
        super().__init__(content, headers=headers)


def render_event(plan_id: str, seq: int, phase: str) -> bytes:
    """One ``phase`` event in wire form; ``seq`` is both the ``id:`` and the data's ``seq``."""
    data = json.dumps({"planId": plan_id, "seq": seq, "phase": phase}, ensure_ascii=True, separators=(",", ":"))
    return f"id: {seq}\nevent: phase\ndata: {data}\n\n".encode("ascii")


router = APIRouter(tags=["rollouts"])

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}  # in the document through the other routes
# Before OpenAPI 3.2 (``itemSchema``), an event stream's ``schema`` describes one event, as
# schemathesis reads it: its fields as strings, ``data`` as JSON of a PhaseEvent.
_EVENT_SCHEMA = {
    "type": "object",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[1-9][0-9]*$"},
        "event": {"type": "string", "enum": ["phase"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": PhaseEvent.model_json_schema(),
        },
    },
}
_STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "One `phase` event per block (`id: n`, `event: phase`, `data: <PhaseEvent JSON>`), "
        "then the server closes the stream.",
        "content": {"text/event-stream": {"schema": _EVENT_SCHEMA}},
    },
    # Errors are JSON like everywhere else; "model" alone would document them as the stream's type.
    **{
        status: {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
        for status, description in ((401, "Unauthorized"), (404, "Not Found"), (422, "Validation Error"))
    },
}


@router.get(
    EVENTS_PATH,
    response_class=EventStreamResponse,
    status_code=200,
    responses=_STREAM,
    dependencies=[Depends(require_auth)],
)
async def rollout_events(
    request: Request,
    planId: Annotated[str, Path(min_length=1, max_length=256)],
    # A string of digits rather than an int: SSE headers are text, and 0 (the default) means "from the start".
    last_event_id: Annotated[
        str,
        Header(
            alias="Last-Event-ID",
            pattern="^[0-9]{1,18}$",
            description="Resume after this event (the `id:` last received).",
        ),
    ] = "0",
) -> EventStreamResponse:
    """The phases of a plan's rollout: ``planned``; if applied, then ``applying``, ``canary`` and
    ``stable``, or ``rolled_back`` in place of ``stable`` once rolled back."""
    tenant: Tenant = request.app.tenant
    phases = tenant.rollout_phases(planId)
    events = [render_event(planId, seq, phase) for seq, phase in enumerate(phases, 1) if seq > int(last_event_id)]
    interval = request.app.server_config.sse_interval_s
    return EventStreamResponse(_paced(events, interval, request.app.released))


async def _paced(events: list[bytes], interval_s: float, released: asyncio.Event) -> AsyncIterator[bytes]:
    """Yield the events ``interval_s`` apart; stop early when the server is stopping."""
    for index, event in enumerate(events):
        if index and interval_s > 0 and await released_within(released, interval_s):
            return
        yield event
