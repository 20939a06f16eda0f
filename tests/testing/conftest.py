"""Fixtures for the reference server tests: a client on the session's shared server, for reads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import ReferenceServer


@pytest.fixture
def client(shared_server: ReferenceServer) -> Iterator[httpx.Client]:
    with client_for(shared_server, headers=BEARER) as http:
        yield http
