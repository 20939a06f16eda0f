"""Every attempt of a retried request is kept on the final ``Exchange`` (issue 7: results keep raw calls)."""

from __future__ import annotations

import asyncio

import httpx

from velikey import AegisClient, RetryPolicy
from velikey.exceptions import TransportError


async def _no_sleep(seconds: float) -> None:
    return None


def _health_exchange(*answers: httpx.Response | Exception):  # noqa: ANN202 - test helper
    script = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def go():  # noqa: ANN202
        async with AegisClient(api_key="vk_test_key", base_url="http://axis.test", env={}, sleep=_no_sleep,
                               transport=httpx.MockTransport(handler),
                               retry_policy=RetryPolicy(max_retries=3)) as client:
            return (await client.call("get_health")).exchanges[-1]

    return asyncio.run(go())


def test_answered_retries_are_kept_oldest_first() -> None:
    final = _health_exchange(httpx.Response(503, text="busy"), httpx.Response(429, headers={"Retry-After": "0"}),
                             httpx.Response(200, json={"status": "ok"}))
    assert final.attempts == 3 and final.status == 200
    assert [(e.status, e.attempts) for e in final.earlier] == [(503, 1), (429, 2)]
    assert final.earlier[0].body == b"busy"


def test_an_attempt_without_an_answer_is_kept_as_its_typed_error() -> None:
    final = _health_exchange(httpx.ConnectError("refused"), httpx.Response(200, json={"status": "ok"}))
    assert final.attempts == 2
    (lost,) = final.earlier
    assert isinstance(lost, TransportError) and lost.attempts == 1


def test_a_first_try_answer_has_no_earlier_attempts() -> None:
    assert _health_exchange(httpx.Response(200, json={"status": "ok"})).earlier == ()
