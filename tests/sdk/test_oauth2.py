"""OAuth2 client credentials: token fetched once and cached, refreshed near expiry and once on 401, never shown."""

from __future__ import annotations

import asyncio
import base64
import logging
from urllib.parse import parse_qs

import httpx
import pytest

from velikey import AegisClient, AegisClientSync
from velikey import exceptions as exc
from velikey.operations import AUTH_SOURCES, SECRET_ENV
from velikey.testing import ReferenceServer

CLIENT_ID = "svc-release-gate"
SECRET = "oauth-secret-7d1f+x/y="
# RFC 6749 2.3.1: each half form-encoded, then base64; the '+' and '/' of the secret must survive.
BASIC = base64.b64encode(f"{CLIENT_ID}:oauth-secret-7d1f%2Bx%2Fy%3D".encode()).decode()


class TokenServer:
    """A MockTransport tenant with a token endpoint: each token is distinct, and ``revoked`` ones answer 401."""

    def __init__(self, *, expires_in: int = 3600, token_status: int = 200) -> None:
        self.expires_in, self.token_status = expires_in, token_status
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.api_calls: list[httpx.Request] = []
        self.token_calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/api/oauth/token":
            self.token_calls.append(request)
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_client"})
            token = f"tok-{len(self.issued) + 1}-0f3a9c"
            self.issued.append(token)
            return httpx.Response(200, json={"access_token": token, "token_type": "Bearer",
                                             "expires_in": self.expires_in})
        self.api_calls.append(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx.Response(401, json={"error": "token_expired", "detail": "expired"})
        return httpx.Response(200, json={"policies": []})


class _NeverIssued(list[str]):
    """Issued tokens that the API then never recognises."""

    def __contains__(self, item: object) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def client_for(server: TokenServer, clock: Clock | None = None, **kwargs: object) -> AegisClient:
    options: dict[str, object] = {"client_id": CLIENT_ID, "client_secret": SECRET, **kwargs}
    return AegisClient(base_url="http://axis.test", transport=httpx.MockTransport(server), clock=clock,
                       env={}, **options)  # type: ignore[arg-type]


def test_the_token_is_fetched_once_with_basic_auth_and_cached() -> None:
    server = TokenServer()
    client = client_for(server)

    async def use() -> None:
        await client.policies.list()
        await client.policies.list()

    asyncio.run(use())
    (token_call,) = server.token_calls
    assert str(token_call.url) == "http://axis.test/api/oauth/token"
    assert token_call.headers["authorization"] == "Basic " + BASIC
    assert parse_qs(token_call.content.decode()) == {"grant_type": ["client_credentials"]}
    assert SECRET.encode() not in token_call.content, "the secret never travels in a body"
    assert [r.headers["authorization"] for r in server.api_calls] == ["Bearer tok-1-0f3a9c"] * 2
    assert client.auth_source == "client_credentials" and client.uses_api_key


def test_a_token_near_expiry_is_replaced_before_it_is_used() -> None:
    server, clock = TokenServer(expires_in=300), Clock()
    client = client_for(server, clock)

    async def use() -> None:
        await client.policies.list()
        clock.now = 269.0  # still fresh: 300 s minus the 30 s margin
        await client.policies.list()
        clock.now = 271.0
        await client.policies.list()

    asyncio.run(use())
    assert len(server.token_calls) == 2
    assert [r.headers["authorization"][-12:] for r in server.api_calls] == ["tok-1-0f3a9c"] * 2 + ["tok-2-0f3a9c"]


def test_a_401_refreshes_the_token_once_and_resends() -> None:
    server = TokenServer()
    client = client_for(server)

    async def use() -> None:
        await client.policies.list()
        server.revoked.add("tok-1-0f3a9c")
        await client.rollouts.apply("plan-1", dry_run=False)

    asyncio.run(use())
    assert len(server.token_calls) == 2
    refused, resent = server.api_calls[1:]
    assert resent.headers["authorization"] == "Bearer tok-2-0f3a9c"
    assert refused.headers["idempotency-key"] == resent.headers["idempotency-key"], "the resend is the same request"


def test_a_second_401_is_the_answer_not_a_loop() -> None:
    server = TokenServer()
    server.issued = _NeverIssued()
    with pytest.raises(exc.AuthenticationError) as caught:
        asyncio.run(client_for(server).policies.list())
    assert (caught.value.status_code, caught.value.code) == (401, "token_expired")
    assert len(server.token_calls) == 2 and len(server.api_calls) == 2


def test_concurrent_401s_share_one_refresh() -> None:
    server = TokenServer()
    client = client_for(server)

    async def use() -> None:
        await client.policies.list()
        server.revoked.add("tok-1-0f3a9c")
        await asyncio.gather(*(client.policies.list() for _ in range(5)))

    asyncio.run(use())
    assert len(server.token_calls) == 2


def test_a_refused_client_is_a_typed_error_that_shows_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(TokenServer(token_status=401))
    with pytest.raises(exc.AuthenticationError) as caught:
        asyncio.run(client.policies.list())
    error = caught.value
    assert (error.status_code, error.code) == (401, "invalid_client")
    shown = [str(error), repr(error), repr(error.exchange), repr(client), caplog.text]
    assert not [text for text in shown if SECRET in text or BASIC in text]


@pytest.mark.parametrize(
    "body",
    [{"token_type": "Bearer", "expires_in": 60}, {"access_token": "t-secret-1", "token_type": "mac", "expires_in": 60},
     {"access_token": "t-secret-1", "expires_in": 0}, ["t-secret-1"]],
)
def test_a_token_answer_without_a_usable_bearer_token_is_invalid(body: object) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    client = AegisClient(base_url="http://axis.test", transport=transport, client_id=CLIENT_ID, client_secret=SECRET)
    with pytest.raises(exc.InvalidResponseError) as caught:
        asyncio.run(client.policies.list())
    assert "t-secret-1" not in str(caught.value)


def test_env_client_credentials_are_an_auth_source_after_the_api_key() -> None:
    server = TokenServer()
    env = {"AXIS_CLIENT_ID": CLIENT_ID, "AXIS_CLIENT_SECRET": SECRET,
           "AXIS_TOKEN_URL": "http://idp.test/api/oauth/token", "AXIS_AUTH_EMAIL": "a@b.c", "AXIS_AUTH_PASSWORD": "pw"}
    client = AegisClient(base_url="http://axis.test", transport=httpx.MockTransport(server), env=env)
    assert asyncio.run(client.resolve_auth()) == "AXIS_CLIENT_ID+AXIS_CLIENT_SECRET"
    assert str(server.token_calls[0].url) == "http://idp.test/api/oauth/token"
    keyed = AegisClient(base_url="http://axis.test", transport=httpx.MockTransport(server),
                        env={**env, "VELIKEY_API_KEY": "key-1234"})
    assert asyncio.run(keyed.resolve_auth()) == "VELIKEY_API_KEY"
    names = list(AUTH_SOURCES)
    assert names.index("VELIKEY_API_KEY") + 1 == names.index("AXIS_CLIENT_ID+AXIS_CLIENT_SECRET") == len(names) - 2
    assert "AXIS_CLIENT_SECRET" in SECRET_ENV
    assert SECRET in client.redaction_values() and "tok-1-0f3a9c" in client.redaction_values()


@pytest.mark.parametrize(("env", "missing"), [({"AXIS_CLIENT_ID": "x"}, "AXIS_CLIENT_SECRET"),
                                              ({"AXIS_CLIENT_SECRET": SECRET}, "AXIS_CLIENT_ID")])
def test_half_a_client_pair_names_the_missing_half(env: dict[str, str], missing: str) -> None:
    client = AegisClient(base_url="http://axis.test", env=env)
    with pytest.raises(exc.AuthSourceError, match=missing) as caught:
        asyncio.run(client.resolve_auth())
    assert SECRET not in str(caught.value)


def test_half_an_explicit_pair_is_refused_at_construction() -> None:
    with pytest.raises(exc.AuthSourceError, match="client_secret"):
        AegisClient(client_id=CLIENT_ID)


def test_the_sync_client_uses_client_credentials() -> None:
    server = TokenServer()
    with AegisClientSync(base_url="http://axis.test", transport=httpx.MockTransport(server), env={},
                         client_id=CLIENT_ID, client_secret=SECRET) as client:
        assert client.policies.list() == []
        assert SECRET not in repr(client)
    assert len(server.token_calls) == 1


def _oauth_server(start_server) -> ReferenceServer:  # noqa: ANN001
    server: ReferenceServer = start_server(client_id=CLIENT_ID, client_secret=SECRET, token_ttl_s=3600)
    return server


def test_live_client_credentials(start_server) -> None:  # noqa: ANN001
    server = _oauth_server(start_server)
    with AegisClientSync(base_url=server.base_url, client_id=CLIENT_ID, client_secret=SECRET) as client:
        assert len(client.policies.list()) == 2
        assert client.billing.get_usage()["usage"] is not None
        assert client.auth_source == "client_credentials"
    assert server.state()["tokens_issued"] == 1
    with AegisClientSync(base_url=server.base_url, client_id=CLIENT_ID, client_secret="wrong-secret") as client:
        with pytest.raises(exc.AuthenticationError) as caught:
            client.policies.list()
        assert caught.value.code == "invalid_client" and "wrong-secret" not in str(caught.value)


def test_live_a_refused_token_is_refreshed_once(start_server) -> None:  # noqa: ANN001
    server = _oauth_server(start_server)
    env = {"AXIS_CLIENT_ID": CLIENT_ID, "AXIS_CLIENT_SECRET": SECRET}
    with AegisClientSync(base_url=server.base_url, env=env) as client:
        client.policies.list()
        # As if the server had expired it: the cache holds a token the server never issued.
        core = client._target._core
        core._auth = core._tokens.store({"access_token": "never-issued-token", "expires_in": 3600}, status=200)
        assert len(client.policies.list()) == 2
        assert client.auth_source == "AXIS_CLIENT_ID+AXIS_CLIENT_SECRET"
    assert server.state()["tokens_issued"] == 2


def test_the_runner_sees_client_credentials_as_a_session_source() -> None:
    from runner.inputs import INPUTS, auth_kind

    pair = {"AXIS_CLIENT_ID": CLIENT_ID, "AXIS_CLIENT_SECRET": SECRET}
    assert auth_kind(pair) == "AXIS_CLIENT_ID+AXIS_CLIENT_SECRET"
    assert auth_kind({**pair, "VELIKEY_API_KEY": "k"}) == "VELIKEY_API_KEY"
    assert auth_kind({"AXIS_CLIENT_ID": CLIENT_ID}) is None
    assert {"AXIS_CLIENT_ID", "AXIS_CLIENT_SECRET"} <= set(INPUTS["session"].env)
