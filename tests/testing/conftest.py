"""Fixtures for the reference server tests: a shared server for reads, fresh ones for effects."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import ReferenceServer


@pytest.fixture(scope="session")
def shared_server() -> Iterator[ReferenceServer]:
    """One default server for tests that only read or use keys of their own."""
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def client(shared_server: ReferenceServer) -> Iterator[httpx.Client]:
    with client_for(shared_server, headers=BEARER) as http:
        yield http
