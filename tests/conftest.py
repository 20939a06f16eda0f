"""Fixtures every test folder shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from velikey.testing import ReferenceServer, ServerConfig


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
