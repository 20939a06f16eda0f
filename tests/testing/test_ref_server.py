"""The in-process runner: free ports, fresh state per start, prompt stops, no leftover threads."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from ref_helpers import client_for

from velikey.testing import Fault, ReferenceServer, ServerConfig, create_app


def test_start_and_stop_many_times_leaves_no_thread() -> None:
    before = threading.active_count()
    for _ in range(12):
        with ReferenceServer() as server:
            assert server.base_url.startswith("http://127.0.0.1:")
            assert server.payload_url == server.base_url + "/ingest"
            with client_for(server) as http:
                assert http.get("/api/healthz").status_code == 200
        assert threading.active_count() == before


def test_servers_run_side_by_side_with_their_own_state() -> None:
    with ReferenceServer() as first, ReferenceServer() as second:
        assert first.base_url != second.base_url
        with client_for(first) as http:
            http.get("/api/healthz")
        assert first.state()["requests"] == {"GET /api/healthz": 1}
        assert second.state()["requests"] == {}


def test_each_start_serves_a_fresh_tenant() -> None:
    server = ReferenceServer()
    for _ in range(2):
        with server:
            with client_for(server) as http:
                http.post("/ingest", content=b"abc")
            assert server.state()["ingested_bytes"] == 3


def test_stop_returns_promptly_while_a_request_hangs() -> None:
    before = threading.active_count()
    server = ReferenceServer(ServerConfig(faults=(Fault("GET /api/healthz", action="hang"),))).start()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            with client_for(server, timeout=30.0) as http:
                http.get("/api/healthz")
        except httpx.HTTPError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 5
    while server.state()["faults_injected"] != {"GET /api/healthz": 1} and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.5
    caller.join(5)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.TransportError)
    assert threading.active_count() == before


def test_stop_during_a_delay_is_prompt_too() -> None:
    server = ReferenceServer(ServerConfig(faults=(Fault("GET /api/healthz", delay_s=30),))).start()
    caller = threading.Thread(target=lambda: _swallow(server))
    caller.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    caller.join(5)
    assert time.monotonic() - started < 1.5 and not caller.is_alive()


def _swallow(server: ReferenceServer) -> None:
    try:
        with client_for(server, timeout=30.0) as http:
            http.get("/api/healthz")
    except httpx.HTTPError:
        pass


def test_stop_is_idempotent_and_base_url_needs_a_running_server() -> None:
    server = ReferenceServer()
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    server.start()
    with pytest.raises(RuntimeError, match="already running"):
        server.start()
    server.stop()
    server.stop()
    with pytest.raises(RuntimeError, match="not running"):
        server.state()


def test_a_taken_port_is_an_os_error() -> None:
    with ReferenceServer() as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            ReferenceServer(port=port).start()


def test_repr_hides_credentials_and_config_is_kept() -> None:
    config = ServerConfig(api_key="very-secret-key", client_secret="very-secret-client", seed=4)
    server = ReferenceServer(config)
    assert server.config is config
    assert "very-secret" not in repr(server) and "not running" in repr(server)


def test_keyword_options_override_the_config() -> None:
    config = ServerConfig(seed=4, token_ttl_s=10)
    server = ReferenceServer(config, client_id="cid", client_secret="csecret", sse_interval_s=0)
    assert (server.config.client_id, server.config.client_secret, server.config.sse_interval_s) == ("cid", "csecret", 0)
    assert (server.config.seed, server.config.token_ttl_s) == (4, 10)
    assert ReferenceServer(token_ttl_s=0).config.token_ttl_s == 0
    with pytest.raises(ValueError, match="sse_interval_s"):
        ReferenceServer(sse_interval_s=-1)
    with ReferenceServer() as running:
        assert running.token_url == running.base_url + "/api/oauth/token"


def test_create_app_returns_a_fastapi_app() -> None:
    from fastapi import FastAPI

    assert isinstance(create_app(ServerConfig()), FastAPI)
