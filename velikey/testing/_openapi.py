"""The OpenAPI document of the reference server, as it is checked in.

Kept apart from the ``openapi`` script module so importing the package does not import the
script (``python -m velikey.testing.openapi`` would warn about that).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._app import create_app
from ._config import ServerConfig

__all__ = ["SCHEMA_PATH", "export_openapi", "render_openapi"]

# Where the document lives in a source checkout; installed packages carry a copy elsewhere.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "axis-openapi.json"


def export_openapi() -> dict[str, Any]:
    """The OpenAPI document of the reference server (the same for every configuration)."""
    return create_app(ServerConfig()).openapi()


def render_openapi() -> str:
    """The document exactly as checked in: sorted keys, 2-space indent, one trailing newline."""
    return json.dumps(export_openapi(), indent=2, sort_keys=True) + "\n"
