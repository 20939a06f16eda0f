"""Fixtures for the SDK's live tests (the servers, ``shared_server`` and ``start_server``, are in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from velikey import RetryPolicy


@pytest.fixture
def fast_retry() -> Callable[..., RetryPolicy]:
    """A retry policy with millisecond backoffs, for tests where waiting is not the point."""

    def policy(max_retries: int = 3) -> RetryPolicy:
        return RetryPolicy(max_retries=max_retries, initial_backoff_s=0.01, max_backoff_s=0.05)

    return policy
