"""Server-sent events: `rollouts.events()` parses, reconnects with Last-Event-ID, bounds sizes and silence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from velikey import AegisClient, AegisClientSync
from velikey import exceptions as exc
from velikey._sse import MAX_EVENT_BYTES, MAX_LINE_BYTES, EventParser, RolloutEvent
from velikey.testing import ReferenceServer

SSE = {"content-type": "text/event-stream"}


def frame(n: int, phase: str, plan: str = "plan-1") -> bytes:
    data = json.dumps({"planId": plan, "seq": n, "phase": phase}, separators=(",", ":"))
    return f"id: {n}\nevent: phase\ndata: {data}\n\n".encode()


class Chunks(httpx.AsyncByteStream):
    """A response body delivered chunk by chunk; then it ends, breaks (``drop``) or goes silent (``hang``)."""

    def __init__(self, chunks: list[bytes], end: str = "close") -> None:
        self.chunks, self.end = chunks, end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.end == "drop":
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        if self.end == "hang":
            await asyncio.Event().wait()


class Streams:
    """Answers each events request with the next scripted response; records the requests."""

    def __init__(self, *answers: Callable[[], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)()


def stream(*chunks: bytes, end: str = "close", status: int = 200, headers: dict[str, str] | None = None
           ) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(status, headers=SSE if headers is None else headers, stream=Chunks(list(chunks), end))


def client_for(streams: Streams, slept: list[float] | None = None, **kwargs: Any) -> AegisClient:
    async def sleep(seconds: float) -> None:
        (slept if slept is not None else []).append(seconds)

    return AegisClient(api_key="k-123456", base_url="http://axis.test", transport=httpx.MockTransport(streams),
                       sleep=sleep, **kwargs)


async def collect(client: AegisClient, plan: str = "plan-1", **kwargs: Any) -> list[RolloutEvent]:
    return [event async for event in client.rollouts.events(plan, **kwargs)]


def phases(events: list[RolloutEvent]) -> list[str]:
    return [event.data["phase"] for event in events]


def test_events_are_typed_and_the_request_asks_for_a_stream() -> None:
    streams = Streams(stream(frame(1, "planned"), b": keep-alive\n\n", frame(2, "applying")))
    events = asyncio.run(collect(client_for(streams), "plan/1"))
    assert events[0] == RolloutEvent(id="1", event="phase", data={"planId": "plan-1", "seq": 1, "phase": "planned"})
    assert phases(events) == ["planned", "applying"]
    sent = streams.requests[0]
    assert sent.url.raw_path == b"/api/rollouts/plan%2F1/events"
    assert sent.headers["accept"] == "text/event-stream" and sent.headers["authorization"] == "Bearer k-123456"
    assert "last-event-id" not in sent.headers


def test_the_parser_takes_any_line_end_and_any_chunking() -> None:
    text = b"id: 7\r\nevent: phase\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: c\rdata: [2]\r\r" + b"data: 3\n\n"
    for size in (1, 2, 3, len(text)):
        parser = EventParser()
        events = [e for i in range(0, len(text), size) for e in parser.feed(text[i:i + size])]
        assert events == [RolloutEvent("7", "phase", {"a": 1}), RolloutEvent("7", "message", [2]),
                          RolloutEvent("7", "message", 3)], size


def test_a_dropped_connection_resumes_after_the_last_event() -> None:
    slept: list[float] = []
    streams = Streams(stream(frame(1, "planned"), frame(2, "applying"), end="drop"),
                      stream(frame(3, "canary"), frame(4, "stable")))
    events = asyncio.run(collect(client_for(streams, slept)))
    assert phases(events) == ["planned", "applying", "canary", "stable"]
    assert streams.requests[1].headers["last-event-id"] == "2" and len(slept) == 1


def test_a_caller_can_resume_from_an_event_id() -> None:
    streams = Streams(stream(frame(3, "canary")))
    asyncio.run(collect(client_for(streams), last_event_id="2"))
    assert streams.requests[0].headers["last-event-id"] == "2"


def test_reconnects_are_bounded() -> None:
    slept: list[float] = []
    streams = Streams(*(stream(b": hello\n", end="drop") for _ in range(4)))
    with pytest.raises(exc.TransportError) as caught:
        asyncio.run(collect(client_for(streams, slept), max_reconnects=3))
    assert len(streams.requests) == 4 and len(slept) == 3 and caught.value.attempts == 4


def test_progress_renews_the_reconnect_budget() -> None:
    streams = Streams(*(stream(frame(n, "p"), end="drop") for n in range(1, 4)), stream(frame(4, "stable")))
    assert len(asyncio.run(collect(client_for(streams), max_reconnects=1))) == 4


def test_silence_longer_than_the_request_timeout_is_a_timeout() -> None:
    streams = Streams(stream(frame(1, "planned"), end="hang"))
    seen: list[RolloutEvent] = []

    async def read() -> None:
        async for event in client_for(streams, timeout=0.2).rollouts.events("plan-1"):
            seen.append(event)

    with pytest.raises(exc.TimeoutError):
        asyncio.run(read())
    assert phases(seen) == ["planned"] and len(streams.requests) == 1, "a silent stream is not reconnected"


def test_an_overlong_line_is_an_invalid_response() -> None:
    streams = Streams(stream(b"data: " + b"x" * MAX_LINE_BYTES, b"x" * 64))
    with pytest.raises(exc.InvalidResponseError, match="line exceeds"):
        asyncio.run(collect(client_for(streams)))


def test_an_overlarge_event_is_an_invalid_response() -> None:
    line = b"data: " + b"1" * (MAX_LINE_BYTES - 16) + b"\n"
    streams = Streams(stream(*([line] * (MAX_EVENT_BYTES // len(line) + 2))))
    with pytest.raises(exc.InvalidResponseError, match="event exceeds"):
        asyncio.run(collect(client_for(streams)))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (stream(b"data: nope\n\n"), exc.InvalidResponseError),
        (stream(frame(1, "p"), headers={"content-type": "application/json"}), exc.InvalidResponseError),
        (lambda: httpx.Response(404, json={"error": "not_found"}), exc.NotFoundError),
        (lambda: httpx.Response(401, json={"error": "unauthorized"}), exc.AuthenticationError),
    ],
)
def test_refusals_and_bad_streams_are_typed(answer: Callable[[], httpx.Response], error: type[Exception]) -> None:
    with pytest.raises(error):
        asyncio.run(collect(client_for(Streams(answer))))


def test_a_retryable_status_is_retried_within_the_budget() -> None:
    streams = Streams(lambda: httpx.Response(503), stream(frame(1, "planned")))
    assert phases(asyncio.run(collect(client_for(streams)))) == ["planned"]


def test_the_sync_client_gives_a_blocking_iterator() -> None:
    streams = Streams(stream(frame(1, "planned"), frame(2, "applying")), stream(frame(1, "planned"), end="hang"))
    with AegisClientSync(api_key="k-123456", base_url="http://axis.test",
                         transport=httpx.MockTransport(streams)) as client:
        assert phases(list(client.rollouts.events("plan-1"))) == ["planned", "applying"]
        with client.rollouts.events("plan-1") as events:
            assert next(events).data["phase"] == "planned"  # leaving the block closes the hanging stream


def _live_plan(client: AegisClientSync, server: ReferenceServer, *, apply: bool) -> str:
    # A distinct canary share per plan: the same request would name the same plan.
    plan = client.rollouts.plan(server.first_active_policy_id, canary_percent=10 if apply else 20,
                                dry_run=False)["data"]["plan_id"]
    if apply:
        client.rollouts.apply(plan, dry_run=False)
    return str(plan)


def test_live_events_of_an_applied_plan_and_resume(start_server) -> None:  # noqa: ANN001
    server = start_server()
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url) as client:
        plan = _live_plan(client, server, apply=True)
        events = list(client.rollouts.events(plan))
        assert phases(events) == ["planned", "applying", "canary", "stable"]
        assert [e.id for e in events] == ["1", "2", "3", "4"] and {e.event for e in events} == {"phase"}
        assert phases(list(client.rollouts.events(plan, last_event_id="2"))) == ["canary", "stable"]
        planned_only = _live_plan(client, server, apply=False)
        assert phases(list(client.rollouts.events(planned_only))) == ["planned"]
        with pytest.raises(exc.NotFoundError):
            list(client.rollouts.events("plan-that-does-not-exist"))


def test_get_events_reads_the_finished_stream_as_one_answer() -> None:
    body = (b"id: 1\nevent: phase\ndata: {\"phase\": \"planned\", \"seq\": 1}\n\n"
            b"id: 2\r\nevent: phase\r\ndata: {\"phase\": \"canary\", \"pct\": 0.5}\r\n\r\n")
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body, headers={"Content-Type": "text/event-stream"})

    async def run() -> Any:
        async with AegisClient(api_key="k-123456", base_url="http://axis.test",
                               transport=httpx.MockTransport(answer)) as client:
            return await client.call("rollouts.get_events", plan_id="plan/1", parse_float=Decimal)

    result = asyncio.run(run()).result
    assert result["phase"] == "canary" and [e["id"] for e in result["events"]] == ["1", "2"]
    assert result["events"][1]["data"]["pct"] == Decimal("0.5")
    assert seen[0].url.raw_path == b"/api/rollouts/plan%2F1/events"
    assert seen[0].headers["accept"] == "text/event-stream"


def test_get_events_refuses_an_answer_that_is_not_a_stream() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"phase": "stable"}))
    with AegisClientSync(api_key="k-123456", base_url="http://axis.test", transport=transport) as client:
        with pytest.raises(exc.InvalidResponseError):
            client.rollouts.get_events("p")


def test_live_get_events_reports_where_the_rollout_stands(start_server) -> None:  # noqa: ANN001
    server = start_server()
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url) as client:
        planned = _live_plan(client, server, apply=False)
        assert client.rollouts.get_events(planned)["phase"] == "planned"
        applied = _live_plan(client, server, apply=True)
        answer = client.rollouts.get_events(applied)
        assert answer["phase"] == "stable" and len(answer["events"]) == 4
        with pytest.raises(exc.NotFoundError):
            client.rollouts.get_events("plan-that-does-not-exist")
