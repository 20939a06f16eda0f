"""Where the runner's data files live, installed or not.

The wheel ships ``schemas/`` inside the package as ``runner/_schemas`` (hatch
``force-include``), so an installed runner validates receipts without the repository. From
a checkout or an editable install that directory does not exist and the repository's
top-level ``schemas/`` is the same content, so it is the fallback. Templates are ordinary
package data next to the code that renders them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["schemas_dir", "templates_dir"]

_PACKAGE = Path(__file__).resolve().parent


def schemas_dir() -> Path:
    """The directory holding the JSON Schemas and ``reason-codes.json``."""
    for candidate in (_PACKAGE / "_schemas", _PACKAGE.parent / "schemas"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"no schemas directory: looked in {_PACKAGE / '_schemas'} and {_PACKAGE.parent / 'schemas'}"
    )


def templates_dir() -> Path:
    """The directory holding the jinja2 templates of the Markdown receipts."""
    return _PACKAGE / "receipts" / "templates"
