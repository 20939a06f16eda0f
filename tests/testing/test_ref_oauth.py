"""OAuth2 client credentials: the token endpoint, bearer tokens on every route, and their expiry."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from ref_helpers import client_for

from velikey.testing import ReferenceServer, ServerConfig
from velikey.testing._tokens import TokenStore

TOKEN = "/api/oauth/token"
CLIENT = {"client_id": "ref-client-0", "client_secret": "ref-client-secret-0"}
GRANT = {"grant_type": "client_credentials"}


def _token(http: httpx.Client, **kwargs: object) -> str:
    response = http.post(TOKEN, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_form_credentials_get_a_bearer_token(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as http:
        response = http.post(TOKEN, data={**GRANT, **CLIENT})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["access_token"] not in (shared_server.config.api_key, CLIENT["client_secret"])
    assert response.headers["cache-control"] == "no-store"


def test_basic_auth_credentials_get_a_token_too(shared_server: ReferenceServer) -> None:
    with client_for(shared_server) as http:
        token = _token(http, data=GRANT, auth=(CLIENT["client_id"], CLIENT["client_secret"]))
        assert http.get("/api/policies", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_each_token_is_distinct_and_counted(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with client_for(server) as http:
        tokens = {_token(http, data={**GRANT, **CLIENT}) for _ in range(3)}
    assert len(tokens) == 3
    assert server.state()["tokens_issued"] == 3


@pytest.mark.parametrize(
    "path", ["/api/policies", "/api/usage/summary", "/api/alerts", "/api/rollouts/plan-0000000000000000/events"]
)
def test_a_token_is_accepted_on_authenticated_routes(shared_server: ReferenceServer, path: str) -> None:
    with client_for(shared_server) as http:
        token = _token(http, data={**GRANT, **CLIENT})
        response = http.get(path, headers={"Authorization": f"Bearer {token}"})
    # The events of an unknown plan are a 404: past auth, which is the point here.
    assert response.status_code == (404 if path.endswith("/events") else 200), response.text


def test_a_token_can_plan_and_apply(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with client_for(server) as http:
        headers = {"Authorization": f"Bearer {_token(http, data={**GRANT, **CLIENT})}"}
        plan = http.post("/api/rollouts/plan", json={"policyId": server.first_active_policy_id}, headers=headers)
        applied = http.post("/api/rollouts/apply", json={"planId": plan.json()["data"]["plan_id"]}, headers=headers)
    assert applied.status_code == 200 and applied.json()["data"]["applied"] is True


@pytest.mark.parametrize(
    ("request_kwargs", "status", "error"),
    [
        ({"data": {**GRANT, "client_id": "ref-client-0", "client_secret": "wrong"}}, 401, "invalid_client"),
        (
            {"data": {**GRANT, "client_id": "someone-else", "client_secret": "ref-client-secret-0"}},
            401,
            "invalid_client",
        ),
        ({"data": {**GRANT, "client_id": "ref-client-0"}}, 401, "invalid_client"),
        ({"data": GRANT}, 401, "invalid_client"),
        ({"data": GRANT, "auth": ("ref-client-0", "wrong")}, 401, "invalid_client"),
        # Basic wins over the form: a wrong Basic header is not rescued by a right form.
        ({"data": {**GRANT, **CLIENT}, "auth": ("ref-client-0", "wrong")}, 401, "invalid_client"),
        ({"data": {**GRANT, **CLIENT}, "headers": {"Authorization": "Basic !!not-base64"}}, 401, "invalid_client"),
        ({"data": {"grant_type": "password", **CLIENT}}, 400, "unsupported_grant_type"),
        ({"data": {"grant_type": "authorization_code"}}, 400, "unsupported_grant_type"),
        ({"data": CLIENT}, 422, "validation_error"),
    ],
    ids=[
        "wrong-secret",
        "wrong-id",
        "no-secret",
        "no-client",
        "wrong-basic",
        "wrong-basic-right-form",
        "garbled-basic",
        "password-grant",
        "code-grant",
        "no-grant-type",
    ],
)
def test_token_requests_that_fail(
    start_server: Callable[..., ReferenceServer], request_kwargs: dict[str, object], status: int, error: str
) -> None:
    server = start_server()
    with client_for(server) as http:
        response = http.post(TOKEN, **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.json()["error"] == error
    assert server.state()["tokens_issued"] == 0


def test_custom_client_from_the_server_options(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(client_id="ci-client", client_secret="ci-secret")
    with client_for(server) as http:
        assert http.post(TOKEN, data={**GRANT, **CLIENT}).status_code == 401
        _token(http, data={**GRANT, "client_id": "ci-client", "client_secret": "ci-secret"})


def test_an_expired_token_is_401_token_expired(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(token_ttl_s=0)  # expired on arrival: no waiting, no clock in the test
    with client_for(server) as http:
        answer = http.post(TOKEN, data={**GRANT, **CLIENT}).json()
        assert answer["expires_in"] == 0
        response = http.get("/api/policies", headers={"Authorization": f"Bearer {answer['access_token']}"})
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "token_expired" and body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_from_another_server_is_unauthorized(
    shared_server: ReferenceServer, start_server: Callable[..., ReferenceServer]
) -> None:
    other = start_server(seed=1)
    with client_for(other) as http:
        foreign = _token(http, data={**GRANT, **CLIENT})
    with client_for(shared_server) as http:
        response = http.get("/api/policies", headers={"Authorization": f"Bearer {foreign}"})
    assert (response.status_code, response.json()) == (401, {"error": "unauthorized"})


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tokens_are_valid_until_their_ttl_has_passed() -> None:
    clock = _Clock()
    store = TokenStore(ServerConfig(token_ttl_s=30.5), clock=clock)
    token = store.issue()
    assert store.expires_in == 30, "rounded down: a client never holds a token it believes alive past expiry"
    assert store.status(token) == "valid"
    clock.now += 30.4
    assert store.status(token) == "valid"
    clock.now += 0.1
    assert store.status(token) == "expired"
    assert store.status("vkat-unknown") == "unknown"


def test_tokens_are_reproducible_per_server_and_distinct_per_issue() -> None:
    first, second = TokenStore(ServerConfig()), TokenStore(ServerConfig())
    assert [first.issue(), first.issue()] == [second.issue(), second.issue()]
    assert first.issued == 2
    other_secret = TokenStore(ServerConfig(client_secret="another-secret"))
    assert other_secret.issue() != TokenStore(ServerConfig()).issue()
