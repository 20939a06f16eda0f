"""Turn the engine's receipt documents into the bytes of one complete receipt set.

Everything that can be wrong with a receipt is checked here, before a byte reaches the
disk: each document against its schema, then the set against itself (same run id, verdict
and exit code agree, evidence referenced both ways). A failure raises: an invalid receipt
is a bug in the producer, and writing it anyway would hand a gate a receipt it cannot
trust. The result receipt is computed last, from the digests of the exact bytes produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.canonical import sha256_tag
from runner.receipts.render import render_markdown
from runner.receipts.validate import (
    OTHER_FILES,
    RESULT_FILE,
    SUMMARY_MD,
    TIMINGS_FILE,
    ReceiptSchemaError,
    check_consistency,
    kind_for,
    validate_document,
)

__all__ = ["ReceiptSetError", "build_receipt_set", "result_document"]


class ReceiptSetError(ValueError):
    """The documents are individually valid but do not form a consistent receipt set."""


def result_document(summary: Mapping[str, Any], exit_code: int, files: Mapping[str, bytes]) -> dict[str, Any]:
    """The result receipt for ``summary``: its verdict plus the digest of every file in ``files``."""
    return {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "result": summary["result"],
        "mode": summary["mode"],
        "run_id": summary["run_id"],
        "exit_code": exit_code,
        "reason_codes": list(summary["reason_codes"]),
        "counts": dict(summary["counts"]),
        "files": {name: sha256_tag(data) for name, data in sorted(files.items())},
    }


def build_receipt_set(
    *,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    timings: dict[str, Any],
    blocker: dict[str, Any] | None,
    evidence: Mapping[str, dict[str, Any]],
    exit_code: int,
    rendered: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Validate the documents and return relative path → bytes for the whole run directory.

    ``rendered`` holds other views of the summary made above this stage (``junit.xml``): receipts
    the result receipt digests like every other file.

    ``evidence`` is keyed by relative path (``evidence/<scenario>/<step>.json``), the same
    string the summary step's ``evidence`` field holds. Raises ``ReceiptSchemaError`` for a
    document that fails its schema and ``ReceiptSetError`` for an inconsistent set.
    """
    docs: dict[str, dict[str, Any]] = {"SUMMARY.json": summary, "run-manifest.json": manifest}
    if blocker is not None:
        docs["BLOCKER.json"] = blocker
    # Each document is validated once, and the bytes that validation serialised are the file and its digest.
    files: dict[str, bytes] = {name: _validated(name, doc) for name, doc in docs.items()}
    for name in evidence:
        if kind_for(name) != "evidence":
            raise ReceiptSetError(f"evidence key {name!r} is not of the form evidence/<scenario>/<step>.json")
        files[name], docs[name] = _evidence_file(name, evidence[name])
    files = dict(sorted(files.items()))
    timings_bytes = validate_document("timings", timings)
    files[SUMMARY_MD] = render_markdown(summary).encode("utf-8")
    for name, data in (rendered or {}).items():
        if name not in OTHER_FILES or name in files:
            raise ReceiptSetError(f"{name!r} is not a rendered receipt file")
        files[name] = data
    result = result_document(summary, exit_code, files)
    result_bytes = _validated(RESULT_FILE, result)

    docs[RESULT_FILE] = result
    problems = check_consistency({**docs, TIMINGS_FILE: timings}, [*files, RESULT_FILE, TIMINGS_FILE])
    if problems:
        raise ReceiptSetError("inconsistent receipt set: " + "; ".join(problems))

    files[RESULT_FILE] = result_bytes
    files[TIMINGS_FILE] = timings_bytes
    return dict(sorted(files.items()))


def _evidence_file(name: str, doc: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """An evidence document's bytes and the names the set checks need: one document is held at a time
    (a lazy ``evidence`` mapping renders it when asked), so a long run's evidence is never in memory whole.
    """
    return _validated(name, doc), {key: doc[key] for key in ("run_id", "scenario", "step")}


def _validated(name: str, doc: Mapping[str, Any]) -> bytes:
    kind = kind_for(name)
    assert kind is not None, name
    try:
        return validate_document(kind, doc)
    except ReceiptSchemaError as exc:
        # Re-raised with the file name, which is what the producer needs to find the bug.
        raise ReceiptSchemaError(f"{name} ({exc.kind})", exc.problems) from None
