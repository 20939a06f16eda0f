"""Run the reference server in-process, on a real loopback socket, in a background thread.

Tests and ``--embedded`` runs need a real server (real sockets, real timeouts, real closed
connections), started in milliseconds and stopped without leftovers, dozens of times per
process. The socket is bound here, before the thread starts, so the port is known (port 0
picks a free one) and connections queue until uvicorn accepts them.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any

import uvicorn

from ._app import ReferenceApp
from ._auth import SESSION_COOKIE, TOKEN_PATH
from ._config import ServerConfig
from ._routes import PAYLOAD_PATH, STATE_PATH
from ._state import seeded_policies

__all__ = ["ReferenceServer"]

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0
# Held requests are released before shutdown; this only bounds a handler that ignores that.
_GRACEFUL_SHUTDOWN_S = 2


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every answer waits ~40 ms on Nagle + delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


class ReferenceServer:
    """A reference Axis server on ``host:port`` (port 0: a free one), as a context manager.

    >>> with ReferenceServer() as server:  # doctest: +SKIP
    ...     server.state()["requests"]
    {}

    Each ``start()`` serves a fresh tenant. ``stop()`` releases held requests, closes every
    connection and joins the thread, so it returns promptly and leaves no thread behind. The
    OAuth2 client and the event stream pacing can be given as keywords, over ``config``:
    ``ReferenceServer(token_ttl_s=0)`` serves tokens that are expired on arrival.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_ttl_s: float | None = None,
        sse_interval_s: float | None = None,
    ) -> None:
        given: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "token_ttl_s": token_ttl_s,
            "sse_interval_s": sse_interval_s,
        }
        overrides = {name: value for name, value in given.items() if value is not None}
        base = config if config is not None else ServerConfig()
        self._config = replace(base, **overrides) if overrides else base
        self._host = host
        self._port = port
        self._base_url: str | None = None
        self._run: _Run | None = None

    @property
    def config(self) -> ServerConfig:
        return self._config

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        if self._base_url is None:
            raise RuntimeError("the reference server is not running; call start() or use it as a context manager")
        return self._base_url

    @property
    def payload_url(self) -> str:
        """The hash echo endpoint, for ``SDK_E2E_PAYLOAD_URL``."""
        return self.base_url + PAYLOAD_PATH

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint (client credentials grant), for ``AXIS_TOKEN_URL``."""
        return self.base_url + TOKEN_PATH

    @property
    def session_cookie(self) -> str:
        """The ``Cookie`` header value that authenticates against this server."""
        return f"{SESSION_COOKIE}={self._config.session_token}"

    @property
    def first_active_policy_id(self) -> str:
        """The seeded tenant's first active policy, the one an embedded run plans rollouts for."""
        return next(p.id for p in seeded_policies(self._config.seed) if p.isActive)

    def live_env(self) -> dict[str, str]:
        """Every live input a run needs against this server, as the environment variables a user exports."""
        return {
            "AXIS_BASE_URL": self.base_url,
            "AXIS_SESSION_COOKIE": self.session_cookie,
            "AEGIS_POLICY_ID": self.first_active_policy_id,
            "SDK_E2E_PAYLOAD_URL": self.payload_url,
        }

    def state(self) -> dict[str, Any]:
        """What the server has seen so far (``GET /__ref/state``)."""
        # http.client rather than httpx: no proxy settings from the environment, no TLS context
        # to build, so tests can read the state after every step cheaply.
        address = self.base_url.removeprefix("http://")
        connection = http.client.HTTPConnection(address, timeout=5.0)
        try:
            connection.request("GET", STATE_PATH)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"GET {STATE_PATH} answered {response.status}")
        state: dict[str, Any] = json.loads(body)
        return state

    def start(self) -> ReferenceServer:
        """Bind, start serving in a daemon thread and return once the server accepts requests."""
        if self._run is not None:
            raise RuntimeError("the reference server is already running")
        sock = _listen(self._host, self._port)
        run = _Run(ReferenceApp(self._config), sock)
        try:
            run.start()
        except BaseException:
            run.stop()
            raise
        self._run = run
        host, port = sock.getsockname()[:2]
        self._base_url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop serving; safe to call twice, and while requests hang."""
        run, self._run, self._base_url = self._run, None, None
        if run is not None:
            run.stop()

    def serve_until_stopped(self) -> None:
        """Block until the server stops (KeyboardInterrupt still reaches the caller).

        Sleeps rather than ``Thread.join``: a KeyboardInterrupt that lands inside ``join`` can
        leave the thread's state lock inconsistent on CPython 3.11, and the process then hangs.
        """
        while self._run is not None and self._run.is_alive():
            time.sleep(0.2)

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._base_url or "not running"
        return f"ReferenceServer({where}, {self._config!r})"


class _Run:
    """One start-to-stop life of a server: the uvicorn server, its thread and its loop."""

    def __init__(self, app: ReferenceApp, sock: socket.socket) -> None:
        self._app = app
        self._socket = sock
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                http="h11",  # the fault injector reaches h11's transport to drop connections
                ws="none",
                lifespan="off",
                log_config=None,  # leave the process's logging alone
                access_log=False,
                proxy_headers=False,  # loopback test server: no proxy to trust, and `send` stays uvicorn's
                server_header=False,  # no clock or version in answers, so they are byte-stable
                date_header=False,
                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
            )
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="velikey-reference-server", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start(); a thread has nobody else to tell
            self._error = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._server.serve(sockets=[self._socket])

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the reference server failed to start") from self._error
            if time.monotonic() > deadline:
                raise RuntimeError(f"the reference server did not start within {_START_TIMEOUT_S} s")
            time.sleep(0.002)

    def stop(self) -> None:
        loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._app.release_held)
            except RuntimeError:  # the loop has already ended
                pass
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT_S)
        self._socket.close()

    def is_alive(self) -> bool:
        return self._thread.is_alive()
