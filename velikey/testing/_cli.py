"""``velikey-e2e serve``: the reference server as a command.

It prints where it listens and the credentials to use (they are the test server's own,
and printing them is the point), then serves until Ctrl-C. Bad options and bad fault files
are usage errors (exit 2) with one message naming the problem, never a traceback.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import cast

import click

from ._config import MAX_CRITICAL_ALERTS, MAX_SSE_INTERVAL_S, AuthSchema, ServerConfig
from ._faults import FaultFileError, load_faults
from ._server import ReferenceServer

__all__ = ["serve_command"]

_DEFAULTS = ServerConfig()


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Keep it on loopback: this server hands out test credentials to anyone who asks.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free port (the URL is printed at start).",
)
@click.option(
    "--session-token",
    default=_DEFAULTS.session_token,
    show_default=True,
    help="Value of the next-auth.session-token cookie the server accepts and the credentials bootstrap mints.",
)
@click.option(
    "--api-key",
    default=_DEFAULTS.api_key,
    show_default=True,
    help="API key accepted as 'Authorization: Bearer <key>' (VELIKEY_API_KEY for the runner).",
)
@click.option(
    "--email",
    default=_DEFAULTS.email,
    show_default=True,
    help="Email the credentials bootstrap accepts (AXIS_AUTH_EMAIL).",
)
@click.option(
    "--password",
    default=_DEFAULTS.password,
    show_default=True,
    help="Password the credentials bootstrap accepts (AXIS_AUTH_PASSWORD).",
)
@click.option(
    "--auth-schema",
    type=click.Choice(["current", "stale"]),
    default="current",
    show_default=True,
    help="'stale' answers /api/auth/csrf and the credentials callback in an older shape, without a session "
    "cookie, to test that clients detect axis_auth_schema_mismatch.",
)
@click.option(
    "--metering-lag-s",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds before ingested payload bytes show up in /api/usage/summary, as in a real metering "
    "pipeline; exercises a metering step's settle_s.",
)
@click.option(
    "--critical-alerts",
    type=click.IntRange(0, MAX_CRITICAL_ALERTS),
    default=0,
    show_default=True,
    help="Open critical alerts to add to the tenant; each lowers the client-derived health score by 15 "
    "(at most 45), to exercise a health_below_threshold gate.",
)
@click.option(
    "--client-id",
    default=_DEFAULTS.client_id,
    show_default=True,
    help="OAuth2 client id the token endpoint (POST /api/oauth/token, client credentials) accepts (AXIS_CLIENT_ID).",
)
@click.option(
    "--client-secret",
    default=_DEFAULTS.client_secret,
    show_default=True,
    help="OAuth2 client secret the token endpoint accepts (AXIS_CLIENT_SECRET).",
)
@click.option(
    "--token-ttl-s",
    type=click.FloatRange(min=0),
    default=_DEFAULTS.token_ttl_s,
    show_default=True,
    help="Seconds an issued access token stays valid; then it is refused with 401 token_expired. "
    "0 issues tokens that are already expired, to exercise a client's refresh.",
)
@click.option(
    "--sse-interval-s",
    type=click.FloatRange(0, MAX_SSE_INTERVAL_S),
    default=_DEFAULTS.sse_interval_s,
    show_default=True,
    help="Seconds between two events of GET /api/rollouts/{planId}/events, to exercise a client's "
    "read timeout and Last-Event-ID reconnect.",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML list of fault rules to inject (match, after, times, status, retry_after, delay_s, action); "
    "the README's 'The reference server' section shows one.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Picks the seeded tenant (ids, usage numbers); the same seed always serves the same tenant.",
)
def serve_command(
    host: str,
    port: int,
    session_token: str,
    api_key: str,
    email: str,
    password: str,
    auth_schema: str,
    metering_lag_s: float,
    critical_alerts: int,
    client_id: str,
    client_secret: str,
    token_ttl_s: float,
    sse_interval_s: float,
    faults_file: Path | None,
    seed: int,
) -> None:
    """Serve the Axis contract from a fresh, seeded tenant on loopback until Ctrl-C.

    Prints the base URL, the payload (hash echo) URL and the credentials to use, the OAuth2
    client and its token URL last. GET /__ref/state reports what the server has seen:
    requests per route, effects per idempotency key and unkeyed ones, ingested bytes,
    injected faults and tokens issued.
    """
    try:
        faults = load_faults(faults_file) if faults_file is not None else ()
    except FaultFileError as exc:
        raise click.BadParameter(str(exc), param_hint="'--faults'") from None
    try:
        config = ServerConfig(
            session_token=session_token,
            api_key=api_key,
            email=email,
            password=password,
            auth_schema=cast(AuthSchema, auth_schema),
            metering_lag_s=metering_lag_s,
            critical_alerts=critical_alerts,
            client_id=client_id,
            client_secret=client_secret,
            token_ttl_s=token_ttl_s,
            sse_interval_s=sse_interval_s,
            faults=faults,
            seed=seed,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    _ctrl_c_stops()  # before anything is printed: whoever reads the URL may stop us at once
    server = ReferenceServer(config, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", param_hint="'--host'/'--port'"
        ) from None
    try:
        for name, value in (
            ("base_url", server.base_url),
            ("payload_url", server.payload_url),
            ("session_cookie", server.session_cookie),
            ("api_key", config.api_key),
            ("email", config.email),
            ("password", config.password),
            ("policy_id", server.first_active_policy_id),
            ("auth_schema", config.auth_schema),
            ("faults", str(len(config.faults))),
            ("token_url", server.token_url),
            ("client_id", config.client_id),
            ("client_secret", config.client_secret),
        ):
            click.echo(f"{name}: {value}")
        click.echo("serving; press Ctrl-C to stop", err=True)
        server.serve_until_stopped()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.stop()


def _ctrl_c_stops() -> None:
    """Make sure Ctrl-C reaches the serve loop, whatever the parent process left ignored or blocked.

    A child inherits ignored signals and the signal mask across exec; a test server that cannot
    be stopped with SIGINT/SIGTERM would outlive its test.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.default_int_handler)
