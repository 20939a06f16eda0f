"""Receipts: canonical JSON, schemas, Markdown rendering, validation and atomic writing.

The pipeline's last stages: ``build_receipt_set`` (validate + render + digest) writes the files
of a run directory into a ``StagedSet`` as it makes them, whose commit puts them in place as a
set (``write_receipt_set`` does both for files already in memory), and
``validate_run_dir`` re-checks a directory later (``velikey-e2e validate``). Preflight calls
``check_out_dir``/``claim_out_dir`` so a bad or busy ``--out`` is found before any request.
"""

from runner.canonical import CanonicalJSONError, decimal_str, dumps, jcs, sha256_tag
from runner.receipts.assemble import ReceiptSetError, build_receipt_set
from runner.receipts.outdir import OutDirClaim, OutDirError, check_out_dir, claim_out_dir
from runner.receipts.render import render_markdown
from runner.receipts.validate import RESULT_FILE, ReceiptSchemaError, validate_document, validate_run_dir
from runner.receipts.write import ReceiptWriteError, atomic_write_bytes, write_receipt_set

__all__ = [
    "RESULT_FILE",
    "CanonicalJSONError",
    "OutDirClaim",
    "OutDirError",
    "ReceiptSchemaError",
    "ReceiptSetError",
    "ReceiptWriteError",
    "atomic_write_bytes",
    "build_receipt_set",
    "check_out_dir",
    "claim_out_dir",
    "decimal_str",
    "dumps",
    "jcs",
    "render_markdown",
    "sha256_tag",
    "validate_document",
    "validate_run_dir",
    "write_receipt_set",
]
