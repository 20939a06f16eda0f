"""No secret input ever reaches receipts, evidence, stdout, stderr or log records.

The live release gate runs once per way a secret can come in (each auth source, the
rollback token by env and by flag) and once per way it can go wrong (wrong cookie or key,
wrong password, stale auth schema, broken cookie file, failing cookie command, unknown
rollback token). Every value is a canary unique to its variant, and so are the reference
server's own session token, API key and password: the minted cookie carries the session
token, so it must not show up either. The scan looks for each canary verbatim, URL-encoded
(``quote``, ``quote_plus``) and base64-encoded (standard and URL-safe, with and without padding).

Each variant runs through the CLI in a subprocess (all variants at once, so the suite stays
fast) to capture stdout and stderr, and again in-process with every logger at DEBUG.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_helpers import (
    SCENARIOS,
    Finished,
    every_file,
    find_leaks,
    live_env,
    reference_server,
    result_receipt,
    runner_command,
    secret_forms,
)

from runner.pipeline import RunConfig, run
from velikey.testing import ReferenceServer, ServerConfig

EMAIL = "owner@example.com"


def canary(label: str, *, password: bool = False) -> str:
    """A value unique to ``label``; ``+``, ``/`` and ``=`` make its URL-encoded forms differ from it."""
    tag = hashlib.sha256(label.encode()).hexdigest()[:12]
    if password:
        # Passwords may hold anything printable: spaces, form-encoding specials, non-ASCII.
        return f"pw {label} {tag} &%+/=é"
    return f"cnry-{label}-{tag}+x/y="


@dataclass
class Setup:
    """What one variant hands the runner, and every secret that must not come back out."""

    env: dict[str, str]
    secrets: dict[str, str]
    args: tuple[str, ...] = ()
    rollback_flag: str | None = None
    # scenarios/ holds a confirmed canary rollout (its rollback token is one more secret the receipts must not show).
    confirm: bool = True


@dataclass(frozen=True)
class Variant:
    name: str
    prepare: Callable[[ReferenceServer, Path], Setup]
    exit_code: int
    auth_source: str | None
    reason: str | None = None  # a reason code the result receipt must carry
    server: dict[str, Any] = field(default_factory=dict)
    sends: bool = True  # False: preflight stops the run before any request

    def server_fields(self) -> dict[str, Any]:
        return {
            "session_token": canary(f"{self.name}-server-session"),
            "api_key": canary(f"{self.name}-server-api-key"),
            "email": EMAIL,
            "password": canary(f"{self.name}-server-password", password=True),
            **self.server,
        }


def _server_secrets(server: ReferenceServer) -> dict[str, str]:
    config = server.config
    secrets = {"server session token": config.session_token, "server api key": config.api_key,
               "server password": config.password}
    if client_secret := getattr(config, "client_secret", None):
        secrets["server client secret"] = client_secret
    return secrets


AUTH_ENV = ("AXIS_SESSION_COOKIE", "AXIS_SESSION_TOKEN", "AXIS_SESSION_COOKIE_FILE", "AXIS_SESSION_COOKIE_COMMAND",
            "VELIKEY_API_KEY", "AXIS_CLIENT_ID", "AXIS_CLIENT_SECRET", "AXIS_AUTH_EMAIL", "AXIS_AUTH_PASSWORD")


def _auth_env(server: ReferenceServer, **extra: str) -> dict[str, str]:
    """The server's live inputs; its session cookie unless ``extra`` names another auth source."""
    env = live_env(server)
    if any(name in AUTH_ENV for name in extra):
        del env["AXIS_SESSION_COOKIE"]
    env.update(extra)
    return env


def _mint_rollback_token(server: ReferenceServer, key: str) -> str:
    """A real rollback token from a confirmed apply, so the rollback step succeeds and is echoed back."""
    headers = {"Authorization": f"Bearer {server.config.api_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as http:
        plan = http.post("/api/rollouts/plan", json={"policyId": server.first_active_policy_id, "canaryPercent": 10,
                                                     "stabilizationWindowS": 60, "dryRun": False})
        plan.raise_for_status()
        applied = http.post("/api/rollouts/apply", headers={"Idempotency-Key": key},
                            json={"planId": plan.json()["data"]["plan_id"], "dryRun": False})
        applied.raise_for_status()
    token: str = applied.json()["data"]["rollbackToken"]
    return token


# -- the variants -------------------------------------------------------------------------------


def _session_cookie(server: ReferenceServer, aux: Path) -> Setup:
    token = server.config.session_token
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE=token), {"AXIS_SESSION_COOKIE": token})


def _session_token(server: ReferenceServer, aux: Path) -> Setup:
    token = server.config.session_token
    return Setup(_auth_env(server, AXIS_SESSION_TOKEN=token), {"AXIS_SESSION_TOKEN": token})


def _cookie_file_raw(server: ReferenceServer, aux: Path) -> Setup:
    path = aux / "cookie.txt"
    path.write_text(f"next-auth.session-token={server.config.session_token}\n", encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_FILE=str(path)), {})


def _storage_state(session: str | None, other: str) -> dict[str, Any]:
    cookies = [{"name": "theme-pref", "value": other, "domain": "127.0.0.1", "path": "/"}]
    if session is not None:
        cookies.append({"name": "next-auth.session-token", "value": session, "domain": "127.0.0.1", "path": "/",
                        "httpOnly": True, "secure": False, "sameSite": "Lax", "expires": -1})
    return {"cookies": cookies, "origins": []}


def _cookie_file_state(server: ReferenceServer, aux: Path) -> Setup:
    other = canary("storage-state-other-cookie")
    path = aux / "state.json"
    path.write_text(json.dumps(_storage_state(server.config.session_token, other), indent=2), encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_FILE=str(path)), {"another cookie in the file": other})


def _cookie_command(server: ReferenceServer, aux: Path) -> Setup:
    # The command reads the secret from a file: the command line itself holds nothing secret.
    path = aux / "keychain.txt"
    path.write_text(server.config.session_token + "\n", encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_COMMAND=f"cat {path}"), {})


def _credentials(server: ReferenceServer, aux: Path) -> Setup:
    return Setup(_auth_env(server, AXIS_AUTH_EMAIL=EMAIL, AXIS_AUTH_PASSWORD=server.config.password), {})


def _api_key(server: ReferenceServer, aux: Path) -> Setup:
    return Setup(_auth_env(server, VELIKEY_API_KEY=server.config.api_key), {})


def _rollback_env(server: ReferenceServer, aux: Path) -> Setup:
    token = _mint_rollback_token(server, "secrets-rollback-env")
    return Setup(_auth_env(server, AEGIS_ROLLBACK_TOKEN=token), {"AEGIS_ROLLBACK_TOKEN": token}, confirm=True)


def _rollback_flag(server: ReferenceServer, aux: Path) -> Setup:
    token = _mint_rollback_token(server, "secrets-rollback-flag")
    return Setup(_auth_env(server), {"--rollback-token": token}, rollback_flag=token, confirm=True)


def _wrong_cookie(server: ReferenceServer, aux: Path) -> Setup:
    wrong = canary("wrong-cookie-input")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE=wrong), {"wrong AXIS_SESSION_COOKIE": wrong})


def _wrong_api_key(server: ReferenceServer, aux: Path) -> Setup:
    wrong = canary("wrong-api-key-input")
    return Setup(_auth_env(server, VELIKEY_API_KEY=wrong), {"wrong VELIKEY_API_KEY": wrong})


def _wrong_password(server: ReferenceServer, aux: Path) -> Setup:
    wrong = canary("wrong-password-input", password=True)
    return Setup(_auth_env(server, AXIS_AUTH_EMAIL=EMAIL, AXIS_AUTH_PASSWORD=wrong), {"wrong password": wrong})


def _broken_cookie_file(server: ReferenceServer, aux: Path) -> Setup:
    # A storage state cut off mid-export: it does not parse, and its error must not quote it.
    text = json.dumps(_storage_state(server.config.session_token, canary("broken-state-other")), indent=2)
    path = aux / "state.json"
    path.write_text(text[: len(text) - 40], encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_FILE=str(path)), {"broken file's other cookie":
                                                                        canary("broken-state-other")})


def _cookie_file_without_session(server: ReferenceServer, aux: Path) -> Setup:
    other = canary("sessionless-state-other")
    path = aux / "state.json"
    path.write_text(json.dumps(_storage_state(None, other)), encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_FILE=str(path)), {"sessionless file's cookie": other})


def _failing_command(server: ReferenceServer, aux: Path) -> Setup:
    script = aux / "keychain.sh"
    token = server.config.session_token
    script.write_text(f"echo {token}\necho 'lookup failed for {token}' >&2\nexit 3\n", encoding="utf-8")
    return Setup(_auth_env(server, AXIS_SESSION_COOKIE_COMMAND=f"sh {script}"), {})


def _client_credentials(server: ReferenceServer, aux: Path) -> Setup:
    config: Any = server.config
    return Setup(_auth_env(server, AXIS_CLIENT_ID=config.client_id, AXIS_CLIENT_SECRET=config.client_secret), {})


def _wrong_client_secret(server: ReferenceServer, aux: Path) -> Setup:
    wrong = canary("wrong-client-secret-input")
    config: Any = server.config
    return Setup(_auth_env(server, AXIS_CLIENT_ID=config.client_id, AXIS_CLIENT_SECRET=wrong),
                 {"wrong AXIS_CLIENT_SECRET": wrong})


def _unknown_rollback_token(server: ReferenceServer, aux: Path) -> Setup:
    token = canary("unknown-rollback-token")
    return Setup(_auth_env(server, AEGIS_ROLLBACK_TOKEN=token), {"unknown AEGIS_ROLLBACK_TOKEN": token}, confirm=True)


CREDENTIALS = "AXIS_AUTH_EMAIL+AXIS_AUTH_PASSWORD"
VARIANTS = (
    Variant("session-cookie", _session_cookie, 0, "AXIS_SESSION_COOKIE"),
    Variant("session-token", _session_token, 0, "AXIS_SESSION_TOKEN"),
    Variant("cookie-file-raw", _cookie_file_raw, 0, "AXIS_SESSION_COOKIE_FILE"),
    Variant("cookie-file-storage-state", _cookie_file_state, 0, "AXIS_SESSION_COOKIE_FILE"),
    Variant("cookie-command", _cookie_command, 0, "AXIS_SESSION_COOKIE_COMMAND"),
    Variant("credentials-bootstrap", _credentials, 0, CREDENTIALS),
    Variant("api-key", _api_key, 0, "VELIKEY_API_KEY"),
    Variant("rollback-token-env", _rollback_env, 0, "AXIS_SESSION_COOKIE"),
    Variant("rollback-token-flag", _rollback_flag, 0, "AXIS_SESSION_COOKIE"),
    Variant("wrong-cookie", _wrong_cookie, 1, "AXIS_SESSION_COOKIE", "auth_invalid"),
    Variant("wrong-api-key", _wrong_api_key, 1, "VELIKEY_API_KEY", "auth_invalid"),
    Variant("wrong-password", _wrong_password, 3, CREDENTIALS, "auth_invalid"),
    Variant("stale-auth-schema", _credentials, 3, CREDENTIALS, "axis_auth_schema_mismatch",
            server={"auth_schema": "stale"}),
    Variant("broken-cookie-file", _broken_cookie_file, 3, "AXIS_SESSION_COOKIE_FILE", "auth_missing", sends=False),
    Variant("sessionless-cookie-file", _cookie_file_without_session, 3, "AXIS_SESSION_COOKIE_FILE", "auth_missing",
            sends=False),
    Variant("failing-cookie-command", _failing_command, 3, "AXIS_SESSION_COOKIE_COMMAND", "auth_missing",
            sends=False),
    Variant("unknown-rollback-token", _unknown_rollback_token, 1, "AXIS_SESSION_COOKIE", "not_found"),
)
# OAuth2 client credentials, where the reference server has the token endpoint (its client_id/client_secret).
# The tokens it issues are not known here; the SDK's own tests check that none reaches a repr, error or log.
CLIENT_CREDENTIALS = "AXIS_CLIENT_ID+AXIS_CLIENT_SECRET"
if "client_secret" in ServerConfig.__dataclass_fields__:
    _oauth_server = {"client_id": "svc-secrets-suite", "client_secret": canary("server-client-secret")}
    VARIANTS += (
        Variant("client-credentials", _client_credentials, 0, CLIENT_CREDENTIALS, server=_oauth_server),
        Variant("wrong-client-secret", _wrong_client_secret, 3, CLIENT_CREDENTIALS, "auth_invalid",
                server=_oauth_server),
    )


def _cli_args(setup: Setup, out: Path) -> list[str]:
    args = ["run", str(SCENARIOS), "--live", "--out", str(out)]
    if setup.rollback_flag is not None:
        args += ["--rollback-token", setup.rollback_flag]
    return args + (["--confirm"] if setup.confirm else [])


@dataclass(frozen=True)
class CliRun:
    finished: Finished
    files: dict[str, bytes]
    secrets: dict[str, str]
    out: Path


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, CliRun]]:
    """Every variant through the CLI, all at once, each against its own server."""
    with ExitStack() as stack:
        started = []
        for variant in VARIANTS:
            server = stack.enter_context(reference_server(**variant.server_fields()))
            base = tmp_path_factory.mktemp(f"secrets-{variant.name}")
            (base / "aux").mkdir()
            (base / "work").mkdir()
            setup = variant.prepare(server, base / "aux")
            process = subprocess.Popen(runner_command(*_cli_args(setup, base / "work" / "run")), env=setup.env,
                                       cwd=base / "work", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
            started.append((variant, server, base, setup, process))

        def finish(entry: tuple[Variant, ReferenceServer, Path, Setup, subprocess.Popen[bytes]]) -> CliRun:
            variant, server, base, setup, process = entry
            stdout, stderr = process.communicate(timeout=90)
            finished = Finished(process.returncode, stdout.decode("utf-8", "replace"),
                                stderr.decode("utf-8", "replace"))
            return CliRun(finished, every_file(base / "work"), {**setup.secrets, **_server_secrets(server)},
                          base / "work" / "run")

        with ThreadPoolExecutor(len(started)) as pool:
            runs = dict(zip((v.name for v in VARIANTS), pool.map(finish, started), strict=True))
    yield runs


# Seventeen CLI processes take well over 20 s on a small CI machine; the in-process half below stays fast.
@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_no_secret_in_cli_output_or_run_files(variant: Variant, cli_runs: dict[str, CliRun]) -> None:
    got = cli_runs[variant.name]
    shown = f"exit {got.finished.returncode}\n--- stdout\n{got.finished.stdout}--- stderr\n{got.finished.stderr}"
    assert got.finished.returncode == variant.exit_code, shown
    assert "Traceback" not in got.finished.stderr, shown
    result = result_receipt(got.out)
    if variant.reason is not None:
        assert variant.reason in result["reason_codes"], shown
    manifest = json.loads(got.files["run/run-manifest.json"])
    assert manifest["auth_source"] == variant.auth_source
    if variant.name.startswith("rollback-token"):
        assert _step(got.out, "rollback")["outcome"] == "passed", shown

    haystacks: dict[str, bytes | str] = {"stdout": got.finished.stdout, "stderr": got.finished.stderr}
    haystacks.update(got.files)
    assert find_leaks(haystacks, got.secrets) == []


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_no_secret_in_log_records_or_receipts_in_process(variant: Variant, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "aux").mkdir()
    out = tmp_path / "run"
    with reference_server(**variant.server_fields()) as server:
        setup = variant.prepare(server, tmp_path / "aux")
        secrets = {**setup.secrets, **_server_secrets(server)}
        with every_logger_at_debug(caplog):
            report = run(RunConfig(paths=(SCENARIOS,), mode="live", env=setup.env, out=out, confirm=setup.confirm,
                                   flags={"rollback_token": setup.rollback_flag}))
    assert report.exit_code == variant.exit_code
    if variant.sends:
        # The HTTP stack's DEBUG trace (headers included) was captured: the scan covers the wire.
        assert any(r.name.startswith("httpcore") and r.levelno == logging.DEBUG for r in caplog.records)
    haystacks: dict[str, bytes | str] = {"log text": caplog.text, "report": repr(report)}
    for n, record in enumerate(caplog.records):
        haystacks[f"log record {n} ({record.name})"] = f"{record.getMessage()} {record.args!r} {record.exc_text}"
    haystacks.update(every_file(tmp_path / "run"))
    assert find_leaks(haystacks, secrets) == []


@contextmanager
def every_logger_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """DEBUG on the root and every logger that exists; loggers that do not propagate get the capture handler."""
    caplog.set_level(logging.DEBUG)
    isolated = []
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            caplog.set_level(logging.DEBUG, logger=name)
            if not logger.propagate:
                logger.addHandler(caplog.handler)
                isolated.append(logger)
    try:
        yield
    finally:
        for logger in isolated:
            logger.removeHandler(caplog.handler)


def _step(run_dir: Path, step_id: str) -> dict[str, Any]:
    summary = json.loads((run_dir / "SUMMARY.json").read_text(encoding="utf-8"))
    steps: list[dict[str, Any]] = [s for sc in summary["scenarios"] for s in sc["steps"] if s["id"] == step_id]
    assert len(steps) == 1
    return steps[0]


def test_the_scan_finds_every_form_of_a_secret() -> None:
    """The leak finder itself: a scan that cannot see an encoded secret would pass vacuously."""
    secret = canary("self-check")
    for form, value in secret_forms(secret).items():
        assert find_leaks({"file": f"prefix {value} suffix".encode()}, {"canary": secret}) == [
            f"file: canary ({other})" for other, same in secret_forms(secret).items() if same in value
        ], form
    assert find_leaks({"file": b"[REDACTED]"}, {"canary": secret}) == []
