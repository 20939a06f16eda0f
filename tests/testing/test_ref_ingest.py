"""The payload hash echo: exact digests of streamed bodies, metering once per key, metering lag."""

from __future__ import annotations

import hashlib
import resource
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import httpx
import pytest
from ref_helpers import BEARER, client_for

from velikey.testing import ReferenceServer

GIB = 1024**3


def _usage_gb(http: httpx.Client) -> float:
    return float(http.get("/api/usage/summary", headers=BEARER).json()["usage"]["telemetryDataGB"])


def test_echo_is_the_digest_of_the_exact_bytes_without_auth(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()  # its own: what it posts is metered, which the shared server must not be
    with client_for(server) as http:
        for body in (b"", b"x", bytes(range(256)) * 3):
            response = http.post(server.payload_url, content=body)
            assert response.status_code == 200
            assert response.json() == {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body)}


def test_streamed_multi_mib_body(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    chunk = hashlib.sha256(b"seed").digest() * 2048  # 64 KiB
    count = 96  # 6 MiB
    expected = hashlib.sha256(chunk * count).hexdigest()

    def stream() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk

    with client_for(server) as http:
        response = http.post("/ingest", content=stream())
        assert response.json() == {"sha256": expected, "bytes": len(chunk) * count}
        assert server.state()["ingested_bytes"] == len(chunk) * count
        assert _usage_gb(http) == 12.5 + len(chunk) * count / GIB


def test_replay_answers_the_first_echo_and_meters_once(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with client_for(server, headers={"Idempotency-Key": "probe-1"}) as http:
        first = http.post("/ingest", content=b"a" * 1000)
        again = http.post("/ingest", content=b"a" * 1000)
        reused = http.post("/ingest", content=b"b" * 1000)
    assert again.content == first.content
    assert reused.status_code == 409
    state = server.state()
    assert state["ingested_bytes"] == 1000
    assert state["effects"]["ingest"] == {"probe-1": {"effects": 1, "replays": 1}}


def test_payloads_without_a_key_are_metered_each_time(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with client_for(server) as http:
        http.post("/ingest", content=b"12345")
        http.post("/ingest", content=b"12345")
    assert server.state()["ingested_bytes"] == 10
    assert server.state()["effects"]["ingest"] == {}


def test_usage_grows_by_exactly_the_ingested_bytes(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    with client_for(server) as http:
        http.post("/ingest", content=b"z" * 1_048_576)
        after = http.get("/api/usage/summary", headers=BEARER).json()["usage"]["telemetryDataGB"]
    assert Decimal(repr(after)) - Decimal("12.5") == Decimal(1_048_576) / Decimal(GIB)


def test_metering_lag_delays_visibility(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server(metering_lag_s=0.3)
    with client_for(server) as http:
        sent_at = time.monotonic()
        http.post("/ingest", content=b"q" * 4096)
        before = _usage_gb(http)
        if time.monotonic() - sent_at < 0.3:  # a very slow machine may already be past the lag
            assert before == 12.5
        # The lag runs from when the server finished reading the body, which a loaded machine may
        # reach well after sent_at: poll (bounded) instead of betting on one fixed sleep.
        time.sleep(max(0.0, sent_at + 0.3 - time.monotonic()))
        give_up = time.monotonic() + 5.0
        while _usage_gb(http) == 12.5 and time.monotonic() < give_up:
            time.sleep(0.05)
        assert _usage_gb(http) == 12.5 + 4096 / GIB
    assert server.state()["ingested_bytes"] == 4096


def test_usage_base_comes_from_the_seed(start_server: Callable[..., ReferenceServer]) -> None:
    with client_for(start_server(seed=3), headers=BEARER) as http:
        usage = http.get("/api/usage/summary").json()["usage"]
    assert usage != {"telemetryDataGB": 12.5, "telemetryDays": 14, "agents": 3, "environments": 2}
    assert usage["agents"] > 0 and usage["telemetryDays"] > 0


@pytest.mark.slow
def test_a_1_gib_payload_is_hashed_while_streaming(start_server: Callable[..., ReferenceServer]) -> None:
    server = start_server()
    chunk = bytes(range(256)) * 4096  # 1 MiB
    expected = hashlib.sha256()
    for _ in range(1024):
        expected.update(chunk)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def stream() -> Iterator[bytes]:
        for _ in range(1024):
            yield chunk

    with client_for(server, timeout=120.0) as http:
        echo = http.post("/ingest", content=stream()).json()
    assert echo == {"sha256": expected.hexdigest(), "bytes": GIB}
    # Client and server share this process: neither may have held the body in memory.
    unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is bytes on macOS, KiB on Linux
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) * unit < 128 * 1024**2
