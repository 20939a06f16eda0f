"""The SDK core against httpx.MockTransport: ids, retries, error mapping, secrets."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from velikey import AegisClient, AegisClientSync, RetryPolicy
from velikey import exceptions as exc
from velikey._retry import parse_retry_after

SECRET = "canary-cookie-9f2c1d"


class Recorder:
    """A MockTransport handler that answers from a script and records what it saw."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(handler: Recorder, **kwargs: object) -> tuple[AegisClient, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    ids = iter(f"id-{n}" for n in range(1000))
    client = AegisClient(
        session_cookie=SECRET,
        base_url="http://axis.test",
        transport=httpx.MockTransport(handler),
        sleep=sleep,
        id_source=lambda purpose: next(ids),
        **kwargs,  # type: ignore[arg-type]
    )
    return client, slept


def run(coro):  # noqa: ANN001, ANN201 - test helper
    return asyncio.run(coro)


def test_request_carries_auth_request_id_and_query() -> None:
    rec = Recorder(httpx.Response(200, json={"policies": [{"id": "p1"}]}))
    client, _ = make_client(rec)
    result = run(client.policies.list(active_only=True))
    assert result == [{"id": "p1"}]
    sent = rec.requests[0]
    assert sent.url == "http://axis.test/api/policies?isActive=true"
    assert sent.headers["cookie"] == f"next-auth.session-token={SECRET}"
    assert sent.headers["x-request-id"] == "id-0"
    assert "idempotency-key" not in sent.headers


def test_mutating_request_has_one_idempotency_key_in_header_and_body() -> None:
    rec = Recorder(httpx.Response(200, json={"success": True}))
    client, _ = make_client(rec)
    run(client.rollouts.apply("plan-1", dry_run=False))
    sent = rec.requests[0]
    assert sent.headers["idempotency-key"] == json.loads(sent.content)["idempotencyKey"]


def test_call_with_explicit_ids_is_deterministic_and_composite_ids_are_numbered() -> None:
    rec = Recorder(
        httpx.Response(200, json={"usage": {"agents": 0, "telemetryDays": 0}}),
        httpx.Response(200, json={"alerts": [{"severity": "critical"}] * 5}),
    )
    client, _ = make_client(rec)
    out = run(client.call("monitoring.get_health_score", request_id="rid"))
    assert [r.headers["x-request-id"] for r in rec.requests] == ["rid.1", "rid.2"]
    assert out.result.overall_score == 0  # 100 - 30 - 25 - min(45, 75)


def test_health_falls_back_to_health_route() -> None:
    rec = Recorder(httpx.Response(404), httpx.Response(200, json={"status": "ok"}))
    client, _ = make_client(rec)
    assert run(client.get_health()) == {"status": "ok"}
    assert [r.url.path for r in rec.requests] == ["/api/healthz", "/health"]


def test_503_twice_then_success_backs_off_with_capped_jitter() -> None:
    rec = Recorder(httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"status": "ok"}))
    client, slept = make_client(rec, retry_policy=RetryPolicy(max_retries=3))
    assert run(client.get_health()) == {"status": "ok"}
    assert len(slept) == 2
    assert 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0


def test_retry_after_seconds_and_http_date_are_honoured() -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json={"status": "ok"}))
    client, slept = make_client(rec)
    run(client.get_health())
    assert slept == [2.0]
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert parse_retry_after(header, now=lambda: now) == 7.0
    assert parse_retry_after("garbage") is None
    assert RetryPolicy(max_retry_after_s=5).delay(1, "3600") == 5


def test_rate_limit_error_carries_the_servers_retry_after_or_none() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    date = format_datetime(now + timedelta(seconds=9), usegmt=True)
    for header, expected in [("2", 2.0), ("3600", 3600.0), (date, 9.0), ("soon", None), (None, None)]:
        policy = RetryPolicy(max_retries=0, now=lambda: now)
        before = policy.rng.getstate()
        rec = Recorder(httpx.Response(429, headers={"Retry-After": header} if header else {}))
        client, _ = make_client(rec, retry_policy=policy)
        with pytest.raises(exc.RateLimitError) as info:
            run(client.billing.get_usage())
        assert info.value.retry_after == expected, header
        assert policy.rng.getstate() == before, "reporting the wait draws no jitter"


def test_permanent_500_raises_server_error_after_max_retries() -> None:
    rec = Recorder(httpx.Response(500, json={"error": "boom"}))
    client, slept = make_client(rec, max_retries=2)
    with pytest.raises(exc.ServerError) as info:
        run(client.get_health())
    assert len(rec.requests) == 3 and len(slept) == 2
    assert info.value.status == 500 and info.value.attempts == 3
    assert info.value.request_id == "id-0"
    assert "boom" in str(info.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, exc.ValidationError),
        (401, exc.AuthenticationError),
        (403, exc.ForbiddenError),
        (404, exc.NotFoundError),
        (409, exc.ConflictError),
        (422, exc.ValidationError),
        (429, exc.RateLimitError),
        (502, exc.ServerError),
        (418, exc.APIStatusError),
    ],
)
def test_status_maps_to_its_typed_error(status: int, error: type[exc.VeliKeyError]) -> None:
    rec = Recorder(httpx.Response(status, json={"detail": "x"}))
    client, _ = make_client(rec, max_retries=0)
    with pytest.raises(error) as info:
        run(client.billing.get_usage())
    assert type(info.value) is error
    assert info.value.exchange.status == status


def test_transport_errors_are_retried_then_typed() -> None:
    rec = Recorder(httpx.ConnectError("refused"))
    client, slept = make_client(rec, max_retries=2)
    with pytest.raises(exc.TransportError) as info:
        run(client.get_health())
    assert len(rec.requests) == 3 and info.value.attempts == 3
    rec = Recorder(httpx.ReadTimeout("slow"))
    client, _ = make_client(rec, max_retries=0)
    with pytest.raises(exc.TimeoutError):
        run(client.get_health())


def test_malformed_json_is_invalid_response_not_a_traceback() -> None:
    for body in (b"<html>", b"\xff\xfe", b"[" * 100_000):
        rec = Recorder(httpx.Response(200, content=body))
        client, _ = make_client(rec)
        with pytest.raises(exc.InvalidResponseError):
            run(client.get_health())


def test_huge_response_is_cut_off() -> None:
    rec = Recorder(httpx.Response(200, content=b"x" * (17 * 1024 * 1024)))
    client, _ = make_client(rec, max_retries=0)
    with pytest.raises(exc.InvalidResponseError, match="exceeds"):
        run(client.get_health())


def test_secrets_never_reach_errors_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    rec = Recorder(httpx.Response(401, json={"detail": f"bad cookie {SECRET}"}))
    client, _ = make_client(rec)
    with pytest.raises(exc.AuthenticationError) as info:
        run(client.billing.get_usage())
    seen = [str(info.value), repr(info.value), repr(client), caplog.text]
    assert all(SECRET not in text for text in seen)
    assert "[REDACTED]" in str(info.value)


def test_no_auth_configured_is_auth_missing_but_health_still_works() -> None:
    rec = Recorder(httpx.Response(200, json={"status": "ok"}))
    client = AegisClient(base_url="http://axis.test", transport=httpx.MockTransport(rec), env={})
    assert run(client.get_health()) == {"status": "ok"}
    assert "cookie" not in rec.requests[0].headers
    with pytest.raises(exc.AuthMissingError) as info:
        run(client.billing.get_usage())
    assert "AXIS_SESSION_COOKIE" in str(info.value)


def test_api_key_is_sent_as_bearer() -> None:
    rec = Recorder(httpx.Response(200, json={"status": "ok"}))
    client = AegisClient(api_key="vk_canary_key", base_url="http://axis.test", transport=httpx.MockTransport(rec))
    run(client.get_health())
    assert rec.requests[0].headers["authorization"] == "Bearer vk_canary_key"
    assert "vk_canary_key" not in repr(client)


def test_probe_streams_hashes_and_compares_echo() -> None:
    import hashlib

    def echo(request: httpx.Request) -> httpx.Response:
        body = request.read()
        return httpx.Response(200, json={"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)})

    client = AegisClient(base_url="http://axis.test", transport=httpx.MockTransport(echo), env={})

    async def chunks():  # noqa: ANN202
        for _ in range(4):
            yield b"a" * 1000

    result = run(client.probe_payload("http://other.test/ingest", chunks, length=4000))
    assert result.matched and result.bytes_sent == 4000
    assert result.sha256 == hashlib.sha256(b"a" * 4000).hexdigest()
    sent = {name.lower() for name, _ in result.exchange.request.headers}
    assert "x-request-id" in sent and not sent & {"cookie", "authorization"}, "no credentials to another host"


def test_sync_client_is_the_async_one_behind_a_loop() -> None:
    rec = Recorder(httpx.Response(200, json={"policies": [{"id": "p1"}]}))
    with AegisClientSync(session_cookie=SECRET, base_url="http://axis.test", transport=httpx.MockTransport(rec)) as c:
        assert c.policies.list() == [{"id": "p1"}]
        assert SECRET not in repr(c)
        assert repr(c).startswith("AegisClientSync(")
