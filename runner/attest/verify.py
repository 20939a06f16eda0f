"""``velikey-e2e verify``: a run directory is intact, means what it says, and was signed by the given key.

Everything ``validate`` checks (schemas, canonical bytes, result-receipt digests, meaning), that
junit.xml is the rendering of SUMMARY.json, and the attestation: its subject re-hashed against the
files on disk, its predicate recomputed from SUMMARY.json and run-manifest.json, and with a public
key the DSSE signature over it. Offline, and problems are data, one line each naming the file, like
``validate_run_dir``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from runner.attest.dsse import decoded_payload, dsse_verify, public_key
from runner.attest.statement import (
    ATTESTATION_FILE,
    ENVELOPE_FILE,
    NOT_SUBJECT,
    file_digests,
    schema_problems,
    statement,
)
from runner.canonical import CanonicalJSONError, dumps, jcs
from runner.receipts.validate import validate_run_dir
from runner.report.junit import JUNIT_FILE, junit_xml

__all__ = ["verify_run_dir"]


def _load(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"))


def _valid_document(name: str, raws: Mapping[str, bytes]) -> Any | None:
    """The document of attestation file ``name`` when validate found it well formed, else None.

    ``validate_run_dir`` already names every way it is not (JSON, schema, canonical bytes).
    """
    try:
        doc = _load(raws[name])
    except (UnicodeDecodeError, ValueError):
        return None
    try:
        canonical = dumps(doc) == raws[name]
    except CanonicalJSONError:
        canonical = False
    return doc if canonical and not schema_problems(name, doc) else None


def _subject_problems(subject: list[dict[str, Any]], raws: Mapping[str, bytes]) -> list[str]:
    listed = {entry["name"]: entry["digest"]["sha256"] for entry in subject}
    problems = []
    if len(listed) != len(subject):
        problems.append(f"{ATTESTATION_FILE}: subject lists a file twice")
    for name in sorted(set(raws) - NOT_SUBJECT):
        if name not in listed:
            problems.append(f"{name}: not in {ATTESTATION_FILE} subject")
        elif hashlib.sha256(raws[name]).hexdigest() != listed[name]:
            problems.append(f"{name}: sha256 does not match {ATTESTATION_FILE} subject (recorded {listed[name]})")
    for name in sorted(listed):
        if name in NOT_SUBJECT:
            problems.append(f"{ATTESTATION_FILE}: subject must not list {name}")
        elif name not in raws:
            problems.append(f"{name}: in {ATTESTATION_FILE} subject but missing")
    return problems


def _expected(raws: Mapping[str, bytes]) -> dict[str, Any] | None:
    """The Statement this directory's SUMMARY.json and run-manifest.json imply, if both are readable."""
    try:
        summary, manifest = (_load(raws[name]) for name in ("SUMMARY.json", "run-manifest.json"))
        return statement(file_digests(raws), summary, manifest["scenarios"])
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, ValueError):
        return None  # validate_run_dir already names what is wrong with them


def _statement_problems(doc: Mapping[str, Any], raws: Mapping[str, bytes]) -> list[str]:
    problems = _subject_problems(doc["subject"], raws)
    expected = _expected(raws)
    if expected is None:
        return problems
    for key, value in expected["predicate"].items():
        if doc["predicate"][key] != value:
            source = "run-manifest.json" if key == "configuration" else "SUMMARY.json"
            problems.append(f"{ATTESTATION_FILE}: predicate.{key} does not follow from {source}")
    if not problems and doc != expected:
        problems.append(f"{ATTESTATION_FILE}: differs from the statement of this run directory (subject order?)")
    return problems


def _junit_problems(raws: Mapping[str, bytes]) -> list[str]:
    """junit.xml, when present, must be the rendering of SUMMARY.json, as SUMMARY.md must (validate checks that one)."""
    if JUNIT_FILE not in raws:
        return []
    try:
        rendered = junit_xml(_load(raws["SUMMARY.json"]))
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, ValueError):
        return []  # validate_run_dir already names what is wrong with SUMMARY.json
    return [] if rendered == raws[JUNIT_FILE] else [f"{JUNIT_FILE}: is not the rendering of SUMMARY.json"]


def _envelope_problems(envelope: Mapping[str, Any], attestation: Any | None, key: Ed25519PublicKey | None) -> list[str]:
    payload = decoded_payload(envelope)
    if payload is None:
        return [f"{ENVELOPE_FILE}: payload is not base64"]
    problems = []
    if attestation is not None and payload != jcs(attestation):
        problems.append(f"{ENVELOPE_FILE}: payload is not the RFC 8785 form of {ATTESTATION_FILE}")
    if key is not None:
        problems += [f"{ENVELOPE_FILE}: {problem}" for problem in dsse_verify(envelope, key)]
    return problems


def _receipt_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def verify_run_dir(path: Path, public_key_pem: bytes | None = None) -> list[str]:
    """Every problem of a run directory and its attestation, one line each naming the file; empty means verified.

    With ``public_key_pem`` (Ed25519, PEM) the directory must also carry ``attestation.dsse.json``
    signed by that key. A malformed key raises ``KeyFormatError`` before anything is read.
    """
    key = public_key(public_key_pem) if public_key_pem is not None else None
    root = Path(path)
    problems = validate_run_dir(root)
    if not root.is_dir():
        return problems
    raws = _receipt_bytes(root)
    problems += _junit_problems(raws)
    attestation = None
    if ATTESTATION_FILE not in raws:
        problems.append(f"{ATTESTATION_FILE}: missing")
    else:
        attestation = _valid_document(ATTESTATION_FILE, raws)
        if attestation is not None:
            problems += _statement_problems(attestation, raws)
    if ENVELOPE_FILE in raws:
        envelope = _valid_document(ENVELOPE_FILE, raws)
        if envelope is not None:
            problems += _envelope_problems(envelope, attestation, key)
    elif key is not None:
        problems.append(f"{ENVELOPE_FILE}: missing, so the signature cannot be checked against the given key")
    return problems
