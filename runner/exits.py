"""The exit codes of ``velikey-e2e``: a contract CI gates key on, written down once."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["FAIL", "FOR_RESULT", "INTERRUPTED", "INVALID", "MANUAL_REQUIRED", "NOT_WRITTEN", "PASS", "SUMMARY"]

PASS = 0
FAIL = 1
INVALID = 2
MANUAL_REQUIRED = 3
# The receipts could not be written after requests were sent; the message names the cause and what was sent.
NOT_WRITTEN = 4
# 128 + SIGINT, what a shell reports for a Ctrl-C'd command; SIGTERM ends a run the same way.
INTERRUPTED = 130

# A run's verdict (``SUMMARY.json`` ``result``) → its exit code; an interrupted run exits INTERRUPTED instead.
# A dry-run's ``planned`` exits 0 like ``pass`` but is never called one: a gate that forgot --live is not green.
FOR_RESULT: Mapping[str, int] = MappingProxyType(
    {"pass": PASS, "planned": PASS, "fail": FAIL, "manual-required": MANUAL_REQUIRED}
)

SUMMARY = (
    f"{PASS} pass, {FAIL} fail, {INVALID} invalid input, {MANUAL_REQUIRED} manual-required (BLOCKER.json), "
    f"{NOT_WRITTEN} receipts not written, {INTERRUPTED} interrupted"
)
