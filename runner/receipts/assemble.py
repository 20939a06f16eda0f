"""Turn the engine's receipt documents into the files of one complete receipt set.

Everything that can be wrong with a receipt is checked here: each document against its schema
before its first byte is written, then the set against itself (same run id, verdict and exit
code agree, evidence referenced both ways) before the result receipt is. A failure raises: an
invalid receipt is a bug in the producer, and the staged set it was going to is discarded, so
a gate never sees a receipt it cannot trust. Files are written as they are made (a long run's
set is never in memory whole); the result receipt is computed last, from the digests of the
exact bytes written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from runner.receipts.render import markdown_chunks
from runner.receipts.validate import (
    OTHER_FILES,
    RESULT_FILE,
    SUMMARY_MD,
    TIMINGS_FILE,
    ReceiptSchemaError,
    check_consistency,
    evidence_problems,
    kind_for,
    validate_document,
    validated_chunks,
)

__all__ = ["ReceiptSetError", "WriteFile", "build_receipt_set", "result_document"]

# Writes one receipt file (relative name, its bytes in pieces) and returns its SHA-256 (hex): ``StagedSet.write``.
WriteFile = Callable[[str, Iterable[bytes]], str]


class ReceiptSetError(ValueError):
    """The documents are individually valid but do not form a consistent receipt set."""


def result_document(summary: Mapping[str, Any], exit_code: int, digests: Mapping[str, str]) -> dict[str, Any]:
    """The result receipt for ``summary``: its verdict plus the digest of every file in ``digests`` (name → hex)."""
    return {
        "schema_version": 1,
        "tool": "velikey-e2e",
        "result": summary["result"],
        "mode": summary["mode"],
        "run_id": summary["run_id"],
        "exit_code": exit_code,
        "reason_codes": list(summary["reason_codes"]),
        "counts": dict(summary["counts"]),
        "files": {name: f"sha256:{digest}" for name, digest in sorted(digests.items())},
    }


def build_receipt_set(
    *,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    timings: dict[str, Any],
    blocker: dict[str, Any] | None,
    evidence: Mapping[str, dict[str, Any]],
    exit_code: int,
    write: WriteFile,
    rendered: Mapping[str, bytes] | None = None,
) -> dict[str, str]:
    """Validate the documents and write each file of the run directory through ``write`` as it is made.

    Returns relative path → SHA-256 (hex) of every file written, as ``write`` reported it: the
    result receipt is computed from those digests, so no file is held or read back to hash it.
    ``write`` is a ``StagedSet``'s (nothing is visible until its commit, so a set that fails a
    check below is never seen) or a ``MemorySet``'s. ``rendered`` holds other views of the summary
    made above this stage (``junit.xml``): receipts the result receipt digests like every other file.

    ``evidence`` is keyed by relative path (``evidence/<scenario>/<step>.json``), the same
    string the summary step's ``evidence`` field holds. Raises ``ReceiptSchemaError`` for a
    document that fails its schema and ``ReceiptSetError`` for an inconsistent set.
    """
    for name in evidence:
        if kind_for(name) != "evidence":
            raise ReceiptSetError(f"evidence key {name!r} is not of the form evidence/<scenario>/<step>.json")
    for name in rendered or {}:
        if name not in OTHER_FILES or name == SUMMARY_MD:
            raise ReceiptSetError(f"{name!r} is not a rendered receipt file")
    # Evidence first: a lazy ``evidence`` lets go of each step's raw exchanges as its document is made, so
    # the whole-run documents below are validated and written without them held (issue 11). Nothing is
    # visible until the staged set's commit, so the order of the writes changes no file and no guarantee.
    # Each is checked against the summary as it is written, and none is kept: ten thousand would be 2 MiB.
    digests: dict[str, str] = {}
    problems: list[str] = []
    for name in evidence:
        doc = evidence[name]
        digests[name] = write(name, (_validated(name, doc),))
        problems += evidence_problems(name, doc, summary["run_id"])
        del doc
    docs: dict[str, dict[str, Any]] = {"SUMMARY.json": summary, "run-manifest.json": manifest}
    if blocker is not None:
        docs["BLOCKER.json"] = blocker
    # Every whole-run document is validated before any of them is written. Each is validated once, and
    # the bytes that validation serialised are the file; SUMMARY.json, the largest, is written in pieces.
    pending = {name: _validated(name, doc) for name, doc in docs.items() if name != "SUMMARY.json"}
    timings_bytes = validate_document("timings", timings)
    digests["SUMMARY.json"] = write("SUMMARY.json", _validated_chunks("SUMMARY.json", summary))
    for name, data in pending.items():
        digests[name] = write(name, (data,))
    del pending
    digests[SUMMARY_MD] = write(SUMMARY_MD, markdown_chunks(summary))
    for name, data in (rendered or {}).items():
        digests[name] = write(name, (data,))
    result = result_document(summary, exit_code, digests)
    result_bytes = _validated(RESULT_FILE, result)

    docs[RESULT_FILE] = result
    problems += check_consistency({**docs, TIMINGS_FILE: timings}, [*digests, RESULT_FILE, TIMINGS_FILE])
    if problems:
        raise ReceiptSetError("inconsistent receipt set: " + "; ".join(problems))

    digests[RESULT_FILE] = write(RESULT_FILE, (result_bytes,))
    digests[TIMINGS_FILE] = write(TIMINGS_FILE, (timings_bytes,))
    return dict(sorted(digests.items()))


def _validated(name: str, doc: Mapping[str, Any]) -> bytes:
    return b"".join(_validated_chunks(name, doc, whole=True))


def _validated_chunks(name: str, doc: Mapping[str, Any], *, whole: bool = False) -> Iterable[bytes]:
    """The file of ``doc`` once it is valid: its bytes (``whole``), else pieces that join to them."""
    kind = kind_for(name)
    assert kind is not None, name
    try:
        return (validate_document(kind, doc),) if whole else validated_chunks(kind, doc)
    except ReceiptSchemaError as exc:
        # Re-raised with the file name, which is what the producer needs to find the bug.
        raise ReceiptSchemaError(f"{name} ({exc.kind})", exc.problems) from None
