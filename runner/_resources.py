"""Where the runner's data files live, installed or not.

The wheel ships ``schemas/`` and ``scenarios/`` inside the package as ``runner/_schemas``
and ``runner/_scenarios`` (hatch ``force-include``), so an installed runner validates
receipts and runs the release gate without the repository. From a checkout or an editable
install those directories do not exist and the repository's top-level ones are the same
content, so they are the fallback. Templates are ordinary package data next to the code
that renders them. Receipts name a packaged scenario as the checkout would
(``scenarios/release-gate.yaml``), so an installed ``demo`` matches ``receipts/example/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["packaged_receipt_name", "scenarios_dir", "schemas_dir", "templates_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _data_dir(packaged: str, checkout: str) -> Path:
    for candidate in (_PACKAGE / packaged, _PACKAGE.parent / checkout):
        if candidate.is_dir():
            return candidate
    looked = f"{_PACKAGE / packaged} and {_PACKAGE.parent / checkout}"
    raise FileNotFoundError(f"no {checkout} directory: looked in {looked}")


def schemas_dir() -> Path:
    """The directory holding the JSON Schemas and ``reason-codes.json``."""
    return _data_dir("_schemas", "schemas")


def scenarios_dir() -> Path:
    """The directory holding the default scenarios: packaged ``runner/_scenarios``, else the checkout's."""
    return _data_dir("_scenarios", "scenarios")


def packaged_receipt_name(location: Path) -> str | None:
    """``scenarios/<path>`` for a file inside the packaged scenarios, else None (name it as usual).

    The packaged folder's own name (``_scenarios``) is an installation detail; receipts must
    not depend on whether the runner came from a wheel or a checkout.
    """
    packaged = _PACKAGE / "_scenarios"
    try:
        inside = Path(location).resolve().relative_to(packaged)
    except ValueError:
        return None
    return f"scenarios/{inside.as_posix()}"


def templates_dir() -> Path:
    """The directory holding the jinja2 templates of the Markdown receipts."""
    return _PACKAGE / "receipts" / "templates"
