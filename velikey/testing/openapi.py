"""The Axis OpenAPI document, generated from the reference server's routes and models.

``schemas/axis-openapi.json`` is this document, checked in so reviewers see contract changes
in diffs and schemathesis can test any Axis server against it. Regenerate it with
``python -m velikey.testing.openapi`` (a test fails while the file is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ._openapi import SCHEMA_PATH, export_openapi, render_openapi

__all__ = ["SCHEMA_PATH", "export_openapi", "main", "render_openapi"]


def main(argv: list[str]) -> int:
    """Write the document to ``argv[0]``, or to the repository's ``schemas/axis-openapi.json``."""
    target = Path(argv[0]) if argv else SCHEMA_PATH
    target.write_text(render_openapi(), encoding="utf-8", newline="\n")
    sys.stderr.write(f"wrote {target}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
