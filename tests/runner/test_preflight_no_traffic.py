"""Preflight, from outside: a bad --out, secret, transport setting or CA bundle is exit 2, one line, nothing sent.

Each test runs the installed CLI against a real reference server and counts the requests the
server saw (issue 8, items 1 and 7). Before the fix these reached health, plan and apply first.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import certifi
import pytest

from velikey.testing import ReferenceServer

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "velikey-e2e")
SCENARIOS = str(ROOT / "scenarios")
StartServer = Callable[..., ReferenceServer]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _velikey(*args: str, env: dict[str, str], cwd: Path | None = None,
             preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([CLI, "run", *args], env={**base, **env}, cwd=cwd, capture_output=True, text=True,
                          timeout=120, preexec_fn=preexec)


def _sent(server: ReferenceServer) -> int:
    return sum(server.state()["requests"].values())


def _one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr, done.stderr


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A disk that takes ``limit`` bytes per file, then refuses (EFBIG) instead of killing the writer."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _foreign(tmp_path: Path) -> Path:
    out = tmp_path / "home"
    (out / "projects").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    (out / "SUMMARY.json").write_text("{}")  # a receipt's name does not make a folder a receipt set
    return out


def _symlink(tmp_path: Path) -> Path:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    return tmp_path / "link"


def _file_parent(tmp_path: Path) -> Path:
    (tmp_path / "plain").write_text("a file")
    return tmp_path / "plain" / "out"


def _read_only(tmp_path: Path) -> Path:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    return parent / "out"


BAD_OUT: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-a-receipt-set": (_foreign, "not a receipt set"),
    "symlink": (_symlink, "symbolic link"),
    "file-as-parent": (_file_parent, "is not a directory"),
    "root": (lambda _: Path("/"), "filesystem root"),
    "read-only": (_read_only, "cannot be written"),
}


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
@pytest.mark.parametrize("case", sorted(BAD_OUT))
def test_a_bad_out_is_exit_2_naming_it_before_any_request(
    case: str, mode: str, start_server: StartServer, tmp_path: Path
) -> None:
    if case == "read-only" and IS_ROOT:
        pytest.skip("root writes into read-only folders; the full-disk case covers a refused probe write")
    make, problem = BAD_OUT[case]
    out = make(tmp_path)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    server = start_server()
    done = _velikey(SCENARIOS, mode, "--confirm", "--out", str(out), env=server.live_env())
    _one_clear_line(done, f"--out {out}", problem)
    assert _sent(server) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
def test_a_full_disk_is_found_by_the_probe_write_before_any_request(
    mode: str, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    out = tmp_path / "out"
    done = _velikey(SCENARIOS, mode, "--out", str(out), env=server.live_env(), preexec=_file_size_limit(1024))
    _one_clear_line(done, f"--out {out}", "cannot be written")
    assert _sent(server) == 0
    assert list(tmp_path.iterdir()) == []  # the probe's staging folder is gone too


def test_the_default_out_dir_is_checked_too(start_server: StartServer, tmp_path: Path) -> None:
    (tmp_path / "receipts").write_text("a file where the receipts folder goes")
    server = start_server()
    done = _velikey(SCENARIOS, "--live", env=server.live_env(), cwd=tmp_path)
    _one_clear_line(done, "--out receipts/live-run-", "is not a directory")
    assert _sent(server) == 0


SECRETS = {
    "AXIS_SESSION_COOKIE": "next-auth.session-token=abc\r\nX-Injected: 1",
    "AXIS_SESSION_TOKEN": "tökén-1234",
    "VELIKEY_API_KEY": "vk-\x01-secret",
    "AXIS_CLIENT_SECRET": "sécret-9876",
    "AEGIS_ROLLBACK_TOKEN": "rollback\nsecond-line",
}


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
@pytest.mark.parametrize("name", sorted(SECRETS))
def test_a_secret_a_header_cannot_carry_is_named_never_quoted(
    name: str, mode: str, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    env = {**server.live_env(), name: SECRETS[name]}
    if name == "AXIS_CLIENT_SECRET":
        env["AXIS_CLIENT_ID"] = "client-1"
    done = _velikey(SCENARIOS, mode, "--out", str(tmp_path / "out"), env=env)
    _one_clear_line(done, f"{name}:", "request header cannot carry")
    assert SECRETS[name].split()[0][:8] not in done.stderr + done.stdout
    assert _sent(server) == 0
    assert not (tmp_path / "out").exists()


def test_a_rollback_token_flag_is_checked_the_same_way(start_server: StartServer, tmp_path: Path) -> None:
    server = start_server()
    done = _velikey(SCENARIOS, "--live", "--rollback-token", "tok-abc\r\nX: 1", "--out", str(tmp_path / "out"),
                    env=server.live_env())
    _one_clear_line(done, "--rollback-token:")
    assert "tok-abc" not in done.stderr
    assert _sent(server) == 0


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
@pytest.mark.parametrize(("variable", "url"), [
    ("SDK_E2E_PAYLOAD_URL", "http://ingest.example/ingest"),
    ("AXIS_TOKEN_URL", "http://login.example/token"),
])
def test_http_to_a_host_that_is_not_loopback_is_refused(
    variable: str, url: str, mode: str, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    done = _velikey(SCENARIOS, mode, "--out", str(tmp_path / "out"), env={**server.live_env(), variable: url})
    _one_clear_line(done, "not loopback", "--allow-insecure-http")
    assert _sent(server) == 0


def _manifest(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "run-manifest.json").read_text())
    return data


def _receipts_text(out: Path) -> str:
    return "".join(p.read_text() for p in out.rglob("*") if p.is_file())


def test_allow_insecure_http_lets_it_through_and_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _velikey(SCENARIOS, "--dry-run", "--base-url", "http://axis.example", "--allow-insecure-http",
                    "--out", str(out), env={})
    assert done.returncode == 0, done.stderr
    transport = _manifest(out)["transport"]
    assert transport["allow_insecure_http"] is True and transport["verify_tls"] is True


def test_skipping_tls_verification_warns_and_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = _velikey(SCENARIOS, "--dry-run", "--insecure-skip-tls-verify", "--out", str(out), env={})
    assert done.returncode == 0, done.stderr
    assert "warning: TLS verification is off" in done.stderr
    assert _manifest(out)["transport"]["verify_tls"] is False and _manifest(out)["options"]["verify_tls"] is False


def test_the_default_transport_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _velikey(SCENARIOS, "--dry-run", "--out", str(out), env={}).returncode == 0
    assert _manifest(out)["transport"] == {
        "verify_tls": True, "allow_insecure_http": False,
        "ca_bundle": {"source": "default", "sha256": None}, "proxy": {"source": None, "origin": None},
    }


@pytest.mark.parametrize("how", ["flag", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_a_ca_bundle_is_recorded_by_source_and_digest_never_its_path(
    how: str, start_server: StartServer, tmp_path: Path
) -> None:
    bundle = tmp_path / "corp-ca-bundle.pem"
    shutil.copyfile(certifi.where(), bundle)
    server = start_server()
    out = tmp_path / "out"
    flag = ["--ca-bundle", str(bundle)] if how == "flag" else []
    env = {**server.live_env(), **({} if how == "flag" else {how: str(bundle)})}
    done = _velikey(SCENARIOS, "--live", *flag, "--out", str(out), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    digest = "sha256:" + hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert _manifest(out)["transport"]["ca_bundle"] == {"source": how, "sha256": digest}
    assert "corp-ca-bundle" not in _receipts_text(out)


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot be read"),
    (b"not a certificate\n", "not a PEM CA bundle"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM CA bundle"),
])
def test_a_ca_bundle_that_cannot_be_used_is_exit_2_before_any_request(
    content: bytes | None, problem: str, start_server: StartServer, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    if content is not None:
        bundle.write_bytes(content)
    server = start_server()
    done = _velikey(SCENARIOS, "--live", "--ca-bundle", str(bundle), "--out", str(tmp_path / "out"),
                    env=server.live_env())
    _one_clear_line(done, "--ca-bundle", problem)
    assert _sent(server) == 0


def test_a_proxy_is_recorded_by_origin_never_its_credentials(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {"HTTPS_PROXY": "http://proxyuser:proxy-pw-4242@proxy.corp.example:3128"}
    assert _velikey(SCENARIOS, "--dry-run", "--out", str(out), env=env).returncode == 0
    assert _manifest(out)["transport"]["proxy"] == {"source": "HTTPS_PROXY",
                                                   "origin": "http://proxy.corp.example:3128"}
    assert "proxy-pw-4242" not in _receipts_text(out) and "proxyuser" not in _receipts_text(out)


def test_no_proxy_exempting_the_tenant_records_no_proxy(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {"ALL_PROXY": "socks5://proxy.corp.example", "NO_PROXY": "localhost,.velikey.com"}
    assert _velikey(SCENARIOS, "--dry-run", "--out", str(out), env=env).returncode == 0
    assert _manifest(out)["transport"]["proxy"] == {"source": None, "origin": None}


def test_a_proxy_setting_that_does_not_parse_is_exit_2_naming_the_variable(start_server: StartServer,
                                                                           tmp_path: Path) -> None:
    server = start_server()
    env = {**server.live_env(), "HTTP_PROXY": "ftp://user:pw-777@proxy.example"}
    done = _velikey(SCENARIOS, "--live", "--out", str(tmp_path / "out"), env=env)
    _one_clear_line(done, "HTTP_PROXY: not a proxy URL")
    assert "pw-777" not in done.stderr
    assert _sent(server) == 0


@pytest.mark.parametrize("mode", ["--live", "--dry-run"])
@pytest.mark.parametrize("variable", ["AXIS_BASE_URL", "SDK_E2E_PAYLOAD_URL"])
def test_url_userinfo_is_refused_in_both_modes_and_never_written(
    variable: str, mode: str, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    url = server.base_url.replace("http://", "http://admin:hunter2-pw@") + "/ingest"
    done = _velikey(SCENARIOS, mode, "--out", str(tmp_path / "out"), env={**server.live_env(), variable: url})
    _one_clear_line(done, "credentials in the URL are refused")
    assert "hunter2-pw" not in done.stderr + done.stdout
    assert _sent(server) == 0
    assert not (tmp_path / "out").exists()
