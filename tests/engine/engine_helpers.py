"""Scenarios, contexts and a scripted Axis (httpx.MockTransport) for engine unit tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from runner.engine.steps import Context
from runner.ids import RunIds
from runner.scenario.load import Planned, ScenarioFile, load_source
from runner.scenario.model import Scenario
from velikey import AegisClient, RetryPolicy

BASE_URL = "http://axis.test"
SECRET = "sk-live-0123456789abcdef"
IDS = RunIds.for_plan({"test": "engine"}, "live")


def scenario(text: str) -> Scenario:
    loaded, errors = load_source(text.encode(), "t.yaml")
    assert loaded is not None, errors
    return loaded


def planned(text: str, folder: Path = Path("/nonexistent")) -> Planned:
    return Planned(scenario(text), ScenarioFile("t.yaml", "0" * 64, folder / "t.yaml", "tests/t.yaml"))


Handler = Callable[[httpx.Request], httpx.Response]


def answers(routes: Mapping[str, Any]) -> Handler:
    """A handler answering each path with its JSON body (a callable body is called with the request)."""

    def handle(request: httpx.Request) -> httpx.Response:
        body = routes.get(request.url.path)
        if body is None:
            return httpx.Response(404, json={"detail": "no route"})
        if callable(body):
            return body(request)  # type: ignore[no-any-return]
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"content-type": "application/json"})

    return handle


def client(handler: Handler) -> AegisClient:
    return AegisClient(api_key=SECRET, base_url=BASE_URL, transport=httpx.MockTransport(handler),
                       retry_policy=RetryPolicy(max_retries=0), env={})


def context(*, live: bool, handler: Handler | None = None, inputs: Mapping[str, str | None] | None = None,
            confirm: bool = False) -> Context:
    return Context(
        live=live, confirm=confirm, ids=IDS, inputs={"base_url": BASE_URL, **(inputs or {})},
        base_url=BASE_URL, auth_header="Authorization", client=client(handler) if handler else None,
    )
