"""Fixtures every test folder shares: one reference server for the session, fresh ones on demand.

A server stops in about 0.2 s (uvicorn's shutdown), so a fresh server per test adds up; tests
whose point is not a fresh tenant share ``shared_server``. What runs on it must leave the tenant
as every other reader expects seed 0 to look: reads, logins, plans, dry runs, refused requests
and key-less telemetry only. A test that ingests, applies or rolls back for real, or asserts on
absolute ``/__ref/state`` counts, starts its own with ``start_server``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from velikey.testing import ReferenceServer, ServerConfig


@pytest.fixture(scope="session")
def shared_server() -> Iterator[ReferenceServer]:
    """The session's default reference server (seed 0), for tests that leave its tenant as they found it."""
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def start_server() -> Iterator[Callable[..., ReferenceServer]]:
    """Start a fresh reference server (``start_server(**ServerConfig fields)``); every one is stopped after the test."""
    started: list[ReferenceServer] = []

    def start(**fields: Any) -> ReferenceServer:
        server = ReferenceServer(ServerConfig(**fields)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
