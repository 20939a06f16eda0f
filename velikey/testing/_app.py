"""The reference server as one ASGI application: routes, errors, request counting and faults.

Counting and fault injection sit in ``__call__``, outside FastAPI's own middleware, so they
see every request (unknown paths included) and can act on the raw connection: only there
can a dropped answer be a closed socket rather than an error response.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from velikey import __version__

from . import _auth, _events, _routes
from ._config import ServerConfig
from ._faults import FaultPlan
from ._inject import inject
from ._responses import AsciiJSONResponse, install_error_handlers
from ._state import Tenant

__all__ = ["ReferenceApp", "create_app"]


class ReferenceApp(FastAPI):
    """FastAPI plus the state of one server run: its config, tenant and fault counters."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(
            title="Axis API (VeliKey reference server)",
            version=__version__,
            description=(
                "The Axis contract as served by `velikey.testing`: the routes the VeliKey SDK calls, "
                "plus the payload hash echo. Generated; regenerate with `python -m velikey.testing.openapi`."
            ),
            default_response_class=AsciiJSONResponse,
            docs_url=None,
            redoc_url=None,
        )
        self.server_config = config
        self.tenant = Tenant(config)
        self._faults = FaultPlan(config.faults)
        # Set when the server stops: held ("hang") and delayed requests let go of their connection.
        self.released = asyncio.Event()
        install_error_handlers(self)
        self.include_router(_routes.router)
        self.include_router(_auth.router)
        self.include_router(_events.router)

    def release_held(self) -> None:
        """Let every held or delayed request end now; call from the server's event loop."""
        self.released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == _routes.STATE_PATH:
            await super().__call__(scope, receive, send)
            return
        route = f"{scope['method']} {scope['path']}"
        self.tenant.requests[route] += 1
        fault = self._faults.pick(route)
        if fault is None:
            await super().__call__(scope, receive, send)
            return
        self.tenant.faults_injected[route] += 1
        echoes = scope["path"] == _routes.PAYLOAD_PATH
        await inject(fault, super().__call__, scope, receive, send, self.released, echoes)


def create_app(config: ServerConfig) -> FastAPI:
    """A fresh reference server application with its own seeded tenant."""
    return ReferenceApp(config)
