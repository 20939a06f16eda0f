"""A URL input that cannot be sent to is exit 2 with one line, before any request (issue 8, preflight)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.preflight import url_problem
from velikey.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
BAD = {
    "http://[::1": "not a URL",
    "http://127.0.0.1:99999/ingest": "port 99999 is out of range",
    "https://user:pw@tenant.example/ingest": "credentials in the URL are refused",
    "ftp://tenant.example/ingest": "needs http:// or https://",
    "http://tenant.example/x\r\nX-Injected: 1": "white space or control characters",
}


@pytest.mark.parametrize("url", sorted(BAD))
def test_each_bad_url_names_the_input_and_the_problem(url: str) -> None:
    problem = url_problem("payload_url", url)
    assert problem is not None and problem.startswith("payload_url (--payload-url / SDK_E2E_PAYLOAD_URL): ")
    assert BAD[url] in problem


@pytest.mark.parametrize("url", ["https://axis.velikey.com", "http://127.0.0.1:8787/ingest", "http://[::1]:80/x", None])
def test_usable_or_absent_urls_pass(url: str | None) -> None:
    assert url_problem("payload_url", url) is None


@pytest.mark.parametrize("url", ["http://[::1", "https://user:pw@127.0.0.1/ingest"])
def test_a_live_run_with_a_bad_payload_url_sends_nothing(
    url: str, start_server: Callable[..., ReferenceServer], tmp_path: Path
) -> None:
    server = start_server()
    env = {"PATH": "/usr/bin:/bin", **server.live_env(), "SDK_E2E_PAYLOAD_URL": url}
    done = subprocess.run([sys.executable, "-m", "runner", "run", str(ROOT / "scenarios"), "--live", "--confirm",
                           "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "payload_url" in done.stderr and "Traceback" not in done.stderr
    assert "user:pw" not in done.stderr
    assert sum(server.state()["requests"].values()) == 0
    assert not (tmp_path / "out").exists()
