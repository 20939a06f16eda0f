"""A huge value saved from an answer is recorded by size and digest, and still used whole (issue 8).

Found from outside: one 10 MB string saved from an answer became 20 MB of SUMMARY.json (the saved
value and the assertion's actual each in full), where an answer's body past 64 KiB is recorded by
its digest. The server here is a plain HTTP server written for the test: the reference server
never answers such a thing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from runner.canonical import jcs, sha256_tag
from runner.receipts.meaning import verdicts
from runner.receipts.validate import validate_run_dir

CLI = Path(sys.executable).with_name("velikey-e2e")
BLOB = "x" * (10 * 1024 * 1024)
SCENARIO = """\
id: huge-save
title: Save a huge value, then send it on
needs: [session]
steps:
  - id: health
    call: get_health
    save: {blob: blob}
    expect:
      - {path: blob, exists: true}
  - id: ingest
    call: telemetry.ingest
    with: {data: {blob: "${steps.health.blob}"}}
"""


@pytest.fixture
def server() -> Iterator[tuple[str, list[int]]]:
    """A base URL answering health with ``BLOB`` and recording each ingest body's size."""
    health = json.dumps({"status": "ok", "blob": BLOB}).encode()
    ingested: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self._answer(health)

        def do_POST(self) -> None:  # noqa: N802
            ingested.append(len(self.rfile.read(int(self.headers["Content-Length"]))))
            self._answer(b'{"accepted": 1}')

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", ingested
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_huge_saved_value_is_recorded_by_size_and_digest_and_used_whole(
    server: tuple[str, list[int]], tmp_path: Path
) -> None:
    base_url, ingested = server
    (tmp_path / "s.yaml").write_text(SCENARIO, encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "AXIS_BASE_URL": base_url, "AXIS_SESSION_COOKIE": "cookie-for-the-test"}
    done = subprocess.run([str(CLI), "run", "s.yaml", "--live", "--out", "out", "--run-id", "saved-caps"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert validate_run_dir(out) == []
    # The engine sent the whole value on: the ingest body holds all of it.
    assert ingested and ingested[0] > len(BLOB)
    summary = json.loads((out / "SUMMARY.json").read_text(encoding="utf-8"))
    health, ingest = summary["scenarios"][0]["steps"]
    whole = jcs(BLOB)
    note = f"[not recorded: {len(whole)} bytes of JSON, {sha256_tag(whole)}]"
    assert health["saved"] == {"blob": note}
    assert health["assertions"][0]["actual"] == note
    assert ingest["request"]["body_bytes"] == ingested[0] and "--data-raw" not in ingest["request"]["curl"]
    # Every receipt together is far smaller than the value: it is nowhere in full.
    total = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    assert total < len(BLOB) // 10


def test_validate_does_not_judge_an_assertion_by_a_value_recorded_only_by_digest() -> None:
    # `matches ^x+$` held on the whole value; the record cannot say so, nor that it did not.
    note = f"[not recorded: {len(jcs(BLOB))} bytes of JSON, {sha256_tag(jcs(BLOB))}]"
    assert verdicts("matches", note, "^x+$") is None
    assert verdicts("matches", "xxx", "^x+$") == {True}
