"""The receipts' name for ``runner.canonical`` (canonical JSON is a foundation every stage uses).

Kept so ``runner.receipts.validate`` and existing callers keep importing it from here; new
code imports ``runner.canonical``.
"""

from runner.canonical import CanonicalJSONError, decimal_str, dumps, jcs, json_path, sha256_tag

__all__ = ["CanonicalJSONError", "decimal_str", "dumps", "jcs", "json_path", "sha256_tag"]
