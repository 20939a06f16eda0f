"""The attestation of a run directory: an in-toto Statement v1 with the test-result predicate.

Its subject is every receipt file but ``timings.json`` (volatile) and the attestation files
themselves, the result receipt included, so one signature over the Statement covers the whole set.
The predicate restates the verdict per step (``<scenario>/<step>``) and names the scenario files
that produced it, with their digests, as ``configuration``. The predicate's ``result`` is the
spec's ``pass`` or ``fail``, and ``pass`` means every test passed, so only a ``pass`` run says
``pass``: a manual-required run or a dry-run's ``planned`` is ``fail`` to a policy that reads the
predicate (the exact verdict is in the result receipt, which the subject covers). Blocked steps
(manual action needed) are ``warnedTests``. It is a pure function of the receipts' digests and the
summary: no clock, no host, so it is byte-identical for identical runs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from runner.canonical import dumps, jcs
from runner.receipts.validate import ATTESTATION_FILE, ENVELOPE_FILE, FIXED_FILES, document_problems

__all__ = [
    "ATTESTATION_FILE",
    "ENVELOPE_FILE",
    "NOT_SUBJECT",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "attestation_files",
    "file_digests",
    "schema_problems",
    "statement",
]

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://in-toto.io/attestation/test-result/v0.1"
NOT_SUBJECT = frozenset({"timings.json", ATTESTATION_FILE, ENVELOPE_FILE})
_TESTS = {"passed": "passedTests", "blocked": "warnedTests", "failed": "failedTests"}


def _descriptor(name: str, sha256_hex: str) -> dict[str, Any]:
    return {"name": name, "digest": {"sha256": sha256_hex}}


def _steps(scenario: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    yield from scenario["steps"]
    yield from scenario.get("cleanup", ())


def statement(
    digests: Mapping[str, str], summary: Mapping[str, Any], scenario_files: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """The Statement for a run directory whose files have ``digests`` (relative path → SHA-256 hex; the
    attestation files and timings.json are ignored), as the writer reported them or ``file_digests`` made them.

    ``scenario_files`` are run-manifest.json's ``scenarios`` entries (``file``, ``sha256:<hex>``).
    Skipped and planned steps are in no test list: they neither passed nor failed.
    """
    tests: dict[str, list[str]] = {key: [] for key in _TESTS.values()}
    for scenario in summary["scenarios"]:
        for step in _steps(scenario):
            if step["outcome"] in _TESTS:
                tests[_TESTS[step["outcome"]]].append(f"{scenario['id']}/{step['id']}")
    configuration = {entry["file"]: entry["sha256"].removeprefix("sha256:") for entry in scenario_files}
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            _descriptor(name, digests[name])
            for name in sorted(set(digests) - NOT_SUBJECT)
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "result": "pass" if summary["result"] == "pass" else "fail",
            "configuration": [_descriptor(name, digest) for name, digest in sorted(configuration.items())],
            **tests,
        },
    }


def schema_problems(name: str, document: Any) -> list[str]:
    """``<json path>: <message>`` for each way ``document`` breaks the schema of ``name`` (an attestation file)."""
    return [f"{path}: {message}" for path, message in document_problems(FIXED_FILES[name], document)]


def file_digests(files: Mapping[str, bytes]) -> dict[str, str]:
    """Relative path → SHA-256 (hex) of files read whole (``verify``, tests): what ``statement`` takes."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def attestation_files(
    digests: Mapping[str, str],
    summary: Mapping[str, Any],
    scenario_files: Sequence[Mapping[str, str]],
    private_key_pem: bytes | None = None,
) -> dict[str, bytes]:
    """The bytes of ``attestation.json`` and, given a key, ``attestation.dsse.json``, schema-checked.

    The files are canonical receipt JSON; what is signed is the RFC 8785 form of the Statement.
    """
    document = statement(digests, summary, scenario_files)
    out = {ATTESTATION_FILE: document}
    if private_key_pem is not None:
        # Only a signed run pays for loading cryptography (tens of milliseconds at start-up).
        from runner.attest.dsse import dsse_sign

        out[ENVELOPE_FILE] = dsse_sign(jcs(document), private_key_pem)
    for name, doc in out.items():
        problems = schema_problems(name, doc)
        if problems:
            raise ValueError(f"{name}: {problems[0]}")  # a bug in this module, never bad input
    return {name: dumps(doc) for name, doc in out.items()}
