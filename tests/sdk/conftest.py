"""Fixtures for the SDK's live tests: reference servers on real loopback sockets (uvicorn).

Tests that only read, or authenticate in different ways against the default tenant, share
one server for the session; tests that need faults, other credentials or a clean effect
ledger start their own with ``start_server`` (stopped after the test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from velikey import RetryPolicy
from velikey.testing import ReferenceServer


@pytest.fixture(scope="session")
def live_server() -> Iterator[ReferenceServer]:
    """One default reference server (seed 0) shared by tests that do not need a fresh state."""
    with ReferenceServer() as server:
        yield server


@pytest.fixture
def fast_retry() -> Callable[..., RetryPolicy]:
    """A retry policy with millisecond backoffs, for tests where waiting is not the point."""

    def policy(max_retries: int = 3) -> RetryPolicy:
        return RetryPolicy(max_retries=max_retries, initial_backoff_s=0.01, max_backoff_s=0.05)

    return policy
