"""Pagination: ``limit``/``offset`` on the list calls, ``total`` from the server, ``iter_*`` walking the pages."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from velikey import AegisClient, AegisClientSync
from velikey import exceptions as exc
from velikey.testing import ReferenceServer


class Pager:
    """A list route over ``count`` items that pages as the wire format says; records each query."""

    def __init__(self, key: str, count: int, *, total: bool = True, honour_offset: bool = True) -> None:
        self.key, self.items = key, [{"id": f"{key}-{n}"} for n in range(count)]
        self.total, self.honour_offset = total, honour_offset
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        self.queries.append(query)
        offset = int(query.get("offset", 0)) if self.honour_offset else 0
        limit = int(query["limit"]) if "limit" in query else len(self.items)
        body: dict[str, Any] = {self.key: self.items[offset:offset + limit]}
        if self.total:
            body["total"] = len(self.items)
        return httpx.Response(200, json=body)


def client_for(pager: Pager) -> AegisClient:
    return AegisClient(api_key="k-123456", base_url="http://axis.test", transport=httpx.MockTransport(pager))


async def collect(items: Any) -> list[str]:
    return [item["id"] async for item in items]


def test_iter_walks_every_page() -> None:
    pager = Pager("policies", 5)
    ids = asyncio.run(collect(client_for(pager).policies.iter(page_size=2)))
    assert ids == [f"policies-{n}" for n in range(5)]
    assert [(q.get("limit"), q.get("offset")) for q in pager.queries] == [("2", None), ("2", "2"), ("2", "4")]
    assert all(q["isActive"] == "true" for q in pager.queries)


def test_iter_stops_at_total_without_an_empty_extra_request() -> None:
    pager = Pager("alerts", 4)
    ids = asyncio.run(collect(client_for(pager).monitoring.iter_alerts(page_size=2)))
    assert len(ids) == 4 and len(pager.queries) == 2
    assert pager.queries[1] == {"resolved": "false", "limit": "2", "offset": "2"}


def test_stopping_early_requests_no_further_page() -> None:
    pager = Pager("alerts", 10)

    async def first_three() -> list[str]:
        seen = []
        async for alert in client_for(pager).monitoring.iter_alerts(page_size=2):
            seen.append(alert["id"])
            if len(seen) == 3:
                break
        return seen

    assert asyncio.run(first_three()) == ["alerts-0", "alerts-1", "alerts-2"]
    assert len(pager.queries) == 2


def test_a_full_page_without_total_is_refused_rather_than_walked_forever() -> None:
    pager = Pager("policies", 5, total=False, honour_offset=False)
    with pytest.raises(exc.InvalidResponseError, match="total"):
        asyncio.run(collect(client_for(pager).policies.iter(page_size=2)))
    assert len(pager.queries) == 1


def test_a_short_page_without_total_is_the_last() -> None:
    pager = Pager("policies", 3, total=False)
    assert len(asyncio.run(collect(client_for(pager).policies.iter(page_size=10)))) == 3
    assert len(pager.queries) == 1


def test_an_empty_page_ends_the_walk_even_if_total_says_more() -> None:
    pager = Pager("alerts", 3)
    pager.items = pager.items[:2]  # shrank between the pages: total still says 3

    def shrinking(request: httpx.Request) -> httpx.Response:
        answer = pager(request)
        body = answer.json()
        return httpx.Response(200, json={**body, "total": 3})

    client = AegisClient(api_key="k-123456", base_url="http://axis.test", transport=httpx.MockTransport(shrinking))
    assert len(asyncio.run(collect(client.monitoring.iter_alerts(page_size=2)))) == 2
    assert len(pager.queries) == 2


def test_list_calls_take_limit_and_offset_and_pages_say_total() -> None:
    pager = Pager("policies", 5)
    client = client_for(pager)
    assert [p["id"] for p in asyncio.run(client.policies.list(limit=2, offset=3))] == ["policies-3", "policies-4"]
    assert asyncio.run(client.policies.list()) == pager.items
    assert pager.queries[1] == {"isActive": "true"}, "a plain list call is the request it always was"
    page = asyncio.run(client.policies.page(limit=2, offset=2))
    assert (page.total, page.offset, page.next_offset, len(page.items)) == (5, 2, 4, 2)
    alerts = asyncio.run(client_for(Pager("alerts", 3)).monitoring.get_active_alerts(limit=2, offset=2))
    assert alerts["total"] == 3 and len(alerts["alerts"]) == 1


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (2, -1)])
def test_bad_page_arguments_are_refused_before_sending(limit: int, offset: int) -> None:
    pager = Pager("policies", 5)
    with pytest.raises(ValueError):
        asyncio.run(client_for(pager).policies.page(limit=limit, offset=offset))
    assert pager.queries == []


def test_a_total_that_is_not_a_count_is_an_invalid_response() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={"alerts": [], "total": "many"}))
    client = AegisClient(api_key="k-123456", base_url="http://axis.test", transport=transport)
    with pytest.raises(exc.InvalidResponseError):
        asyncio.run(client.monitoring.alerts_page())


def test_the_sync_client_iterates_and_stops_early() -> None:
    policies, alerts = Pager("policies", 5), Pager("alerts", 5)
    transport = httpx.MockTransport(lambda r: (policies if r.url.path == "/api/policies" else alerts)(r))
    with AegisClientSync(api_key="k-123456", base_url="http://axis.test", transport=transport) as client:
        assert [p["id"] for p in client.policies.iter(page_size=2)][-1] == "policies-4"
        with client.monitoring.iter_alerts(page_size=2) as walk:
            assert next(walk)["id"] == "alerts-0"
        assert client.policies.page(limit=1).total == 5
    assert (len(policies.queries), len(alerts.queries)) == (3 + 1, 1)


def _paging(server: ReferenceServer) -> None:
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url) as client:
        first, second = client.monitoring.alerts_page(limit=1), client.monitoring.alerts_page(limit=1, offset=1)
        assert first.items != second.items and client.policies.page(limit=1).total is not None


def test_live_iterators_walk_several_pages_and_stop_early(start_server) -> None:  # noqa: ANN001
    server = start_server(critical_alerts=5)
    _paging(server)
    with AegisClientSync(session_cookie=server.session_cookie, base_url=server.base_url) as client:
        everything = client.monitoring.get_active_alerts(limit=1000)
        walked = list(client.monitoring.iter_alerts(page_size=2))
        assert walked == everything["alerts"] and len(walked) == everything["total"] > 2
        policies = list(client.policies.iter(active_only=False, page_size=2))
        assert policies == client.policies.list(active_only=False) and len(policies) == 3
        before = server.state()["requests"]["GET /api/alerts"]
        with client.monitoring.iter_alerts(page_size=2) as alerts:
            next(alerts)
        assert server.state()["requests"]["GET /api/alerts"] == before + 1
