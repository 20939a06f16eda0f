"""The reference Axis server: the Axis contract on a real loopback socket, for tests and demos.

It serves a deterministic, seeded tenant, enforces auth (API key, session cookie, OAuth2
client credentials tokens) and idempotency, streams rollout events, echoes payload hashes
and injects faults on request, so the SDK and the runner can be tested end to end
(retries, timeouts, exactly-once effects, metering) without a real tenant. It is also the
source of ``schemas/axis-openapi.json``.

    from velikey.testing import ReferenceServer, ServerConfig, Fault

    config = ServerConfig(faults=(Fault("GET /api/usage/summary", times=1, status=503),))
    with ReferenceServer(config) as server:
        ...  # server.base_url, server.payload_url, server.state()
"""

from ._app import create_app
from ._cli import serve_command
from ._config import AuthSchema, ServerConfig
from ._faults import Action, Fault, FaultFileError, load_faults
from ._openapi import export_openapi
from ._server import ReferenceServer

__all__ = [
    "Action",
    "AuthSchema",
    "Fault",
    "FaultFileError",
    "ReferenceServer",
    "ServerConfig",
    "create_app",
    "export_openapi",
    "load_faults",
    "serve_command",
]
