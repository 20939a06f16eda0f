"""The credentials bootstrap (csrf, then a form post), in the current and the stale shape."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from ref_helpers import client_for

from velikey.testing import ReferenceServer

CALLBACK = "/api/auth/callback/credentials"
GOOD = {"email": "owner@example.com", "password": "reference-password"}


def test_current_schema_mints_the_session_cookie(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as http:
        csrf = http.get("/api/auth/csrf")
        assert csrf.status_code == 200
        token = csrf.json()["csrfToken"]
        assert list(csrf.json()) == ["csrfToken"]
        assert csrf.cookies["next-auth.csrf-token"] == token

        login = http.post(CALLBACK, data={"csrfToken": token, **GOOD, "json": "true"})
        assert login.status_code == 200
        assert login.json() == {"url": "/"}
        assert login.headers.get_list("set-cookie") == ["next-auth.session-token=ref-session-token-0; Path=/; HttpOnly"]

        # The minted cookie (kept by the client) is a session the API accepts.
        assert http.get("/api/policies").status_code == 200


def test_csrf_token_is_deterministic(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as first, client_for(shared_server) as second:
        assert first.get("/api/auth/csrf").json() == second.get("/api/auth/csrf").json()


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"email": "owner@example.com", "password": "wrong"}, 401, "invalid_credentials"),
        ({"email": "someone@example.com", "password": "reference-password"}, 401, "invalid_credentials"),
        ({"csrfToken": "forged", **GOOD}, 403, "csrf_token_mismatch"),
    ],
)
def test_wrong_credentials_or_csrf(
    shared_server: ReferenceServer, fields: dict[str, str], status: int, error: str
) -> None:
    with client_for(shared_server) as http:
        token = http.get("/api/auth/csrf").json()["csrfToken"]
        response = http.post(CALLBACK, data={"csrfToken": token, **fields})
    assert response.status_code == status
    assert response.json()["error"] == error
    assert "set-cookie" not in response.headers


def test_missing_form_fields_are_422(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as http:
        assert http.post(CALLBACK, data={"email": "owner@example.com"}).status_code == 422
        assert http.post(CALLBACK, json={"csrfToken": "x", **GOOD}).status_code == 422


def test_stale_schema_answers_in_the_other_shape(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(auth_schema="stale")
    with client_for(server) as http:
        csrf = http.get("/api/auth/csrf").json()
        assert list(csrf) == ["token"]
        login = http.post(CALLBACK, data={"csrfToken": csrf["token"], **GOOD, "json": "true"})
        assert login.status_code == 200
        assert login.json() == {"ok": True}
        assert "set-cookie" not in login.headers
        assert http.get("/api/policies").status_code == 401


def test_custom_credentials(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(email="e@x.test", password="p w", session_token="tok.1", api_key="key-2")
    with client_for(server) as http:
        token = http.get("/api/auth/csrf").json()["csrfToken"]
        login = http.post(CALLBACK, data={"csrfToken": token, "email": "e@x.test", "password": "p w"})
        assert login.headers["set-cookie"].startswith("next-auth.session-token=tok.1;")
    with client_for(server, headers={"Authorization": "Bearer key-2"}) as http:
        assert http.get("/api/policies").status_code == 200
    with client_for(server, headers={"Authorization": "Bearer vk_test_reference_0"}) as http:
        assert http.get("/api/policies").status_code == 401


def test_config_refuses_unusable_values() -> None:
    from velikey.testing import ServerConfig

    for bad in (
        {"session_token": "has space"},
        {"api_key": ""},
        {"password": ""},
        {"auth_schema": "legacy"},
        {"metering_lag_s": -1},
        {"client_id": "two words"},
        {"client_secret": ""},
        {"token_ttl_s": float("inf")},
        {"token_ttl_s": True},
        {"sse_interval_s": 61},
        {"sse_interval_s": float("nan")},
        {"seed": -1},
        {"faults": ("GET /x",)},
    ):
        with pytest.raises(ValueError):
            ServerConfig(**bad)  # type: ignore[arg-type]


def test_config_repr_hides_secrets() -> None:
    from velikey.testing import ServerConfig

    text = repr(
        ServerConfig(
            session_token="s3cret-token", api_key="s3cret-key", password="s3cret-pw", client_secret="s3cret-client"
        )
    )
    assert "s3cret" not in text


def test_an_httpx_client_can_log_in_with_its_cookie_jar(shared_server: ReferenceServer) -> None:
    with httpx.Client(base_url=shared_server.base_url, trust_env=False) as http:
        token = http.get("/api/auth/csrf").json()["csrfToken"]
        http.post(CALLBACK, data={"csrfToken": token, **GOOD})
        assert http.cookies["next-auth.session-token"] == "ref-session-token-0"
