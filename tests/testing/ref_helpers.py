"""Helpers shared by the reference server tests (imported by module name, like other test helpers)."""

from __future__ import annotations

from typing import Any

import httpx

from velikey.testing import ReferenceServer

API_KEY = "vk_test_reference_0"
BEARER = {"Authorization": f"Bearer {API_KEY}"}


def client_for(server: ReferenceServer, **kwargs: Any) -> httpx.Client:
    """A plain httpx client for ``server`` that ignores proxy settings from the environment."""
    kwargs.setdefault("timeout", 5.0)
    return httpx.Client(base_url=server.base_url, trust_env=False, **kwargs)
