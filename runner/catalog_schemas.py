"""The receipt schemas' reason-code enum, generated from the catalog.

A gate that validates receipts with any JSON Schema tool must see an unknown reason code
refused, and JSON Schema cannot consult ``runner.reasons.CATALOG``, so every receipt
schema carries the catalog's codes as its ``$defs/reason_code`` enum.
``python -m runner.reasons --write`` regenerates them together with ``reason-codes.json``,
and a test fails when a code is added without regenerating.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runner._resources import schemas_dir
from runner.reasons import CATALOG

__all__ = ["CODED_KINDS", "reason_code_def", "schema_text", "write_schema_codes"]

# The receipt kinds whose documents hold reason codes.
CODED_KINDS = ("blocker", "evidence", "result", "summary")


def reason_code_def() -> dict[str, Any]:
    """``$defs/reason_code``: exactly the catalog's codes."""
    return {
        "description": "A code of the reason-code catalog (reason-codes.json, `velikey-e2e reasons`).",
        "type": "string",
        "enum": sorted(CATALOG),
    }


def schema_text(kind: str, directory: Path | None = None) -> str:
    """The text ``<kind>.schema.json`` should hold: as it is, with the enum regenerated."""
    path = (directory or schemas_dir()) / f"{kind}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["$defs"]["reason_code"] = reason_code_def()
    # The schemas are hand-ordered (``$schema`` first), so keys keep their order here.
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write_schema_codes(directory: Path | None = None) -> list[Path]:
    """Regenerate the enum in every coded receipt schema; the files written."""
    written = []
    for kind in CODED_KINDS:
        path = (directory or schemas_dir()) / f"{kind}.schema.json"
        # A developer's regeneration of checked-in files: a plain write, like reasons.write_catalog.
        path.write_text(schema_text(kind, directory), encoding="utf-8")
        written.append(path)
    return written
