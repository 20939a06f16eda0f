"""Schema and consistency validation of receipt documents and of whole run directories.

A receipt that fails its schema is a bug, so documents are checked before they are written
(``validate_document``) and again by ``velikey-e2e validate`` (``validate_run_dir``), which
also re-checks what no single schema can: canonical bytes, every digest in the result
receipt, no stray or missing files, that the documents agree with each other, and that
what they claim follows from what they recorded (``runner.receipts.meaning``). Problems
are returned as data (one line each, naming the file) so the CLI can print all of them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from runner import exits
from runner._resources import schemas_dir
from runner.canonical import CanonicalJSONError, dump_chunks, dumps, json_path, sha256_tag
from runner.reasons import CATALOG
from runner.receipts.meaning import meaning_problems

__all__ = [
    "ATTESTATION_FILE",
    "ENVELOPE_FILE",
    "FIXED_FILES",
    "KINDS",
    "NOT_DIGESTED",
    "OTHER_FILES",
    "RESULT_FILE",
    "ReceiptSchemaError",
    "check_consistency",
    "document_problems",
    "kind_for",
    "validate_document",
    "validate_run_dir",
    "validated_chunks",
]

RESULT_FILE = "python-sdk-e2e-result.json"
TIMINGS_FILE = "timings.json"
SUMMARY_MD = "SUMMARY.md"
ATTESTATION_FILE = "attestation.json"
ENVELOPE_FILE = "attestation.dsse.json"
FIXED_FILES: Mapping[str, str] = {
    "SUMMARY.json": "summary",
    "run-manifest.json": "run-manifest",
    RESULT_FILE: "result",
    "BLOCKER.json": "blocker",
    TIMINGS_FILE: "timings",
    ATTESTATION_FILE: "attestation",
    ENVELOPE_FILE: "attestation-envelope",
}
KINDS = ("summary", "run-manifest", "result", "blocker", "evidence", "timings", "attestation", "attestation-envelope")
# The envelope's schema is a part of attestation.schema.json; every other kind has its own file.
_SCHEMA_REF = {"attestation-envelope": ("attestation", "#/$defs/dsse_envelope")}
# Files every run directory has, whatever the mode or result (verify also requires attestation.json).
_ALWAYS = ("SUMMARY.json", SUMMARY_MD, "run-manifest.json", RESULT_FILE, TIMINGS_FILE)
# Receipt files that are not JSON documents.
OTHER_FILES = (SUMMARY_MD, "junit.xml")
# Not digested by the result receipt: itself, the volatile timings, and the attestation, which covers the result.
NOT_DIGESTED = frozenset({RESULT_FILE, TIMINGS_FILE, ATTESTATION_FILE, ENVELOPE_FILE})
_MAX_MESSAGE = 300


class ReceiptSchemaError(ValueError):
    """A receipt document does not match its schema; ``problems`` lists every (path, message)."""

    def __init__(self, kind: str, problems: list[tuple[str, str]]) -> None:
        self.kind = kind
        self.problems = problems
        path, message = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{kind}: {path}: {message}{more}")
        self.path = path
        self.message = message


def kind_for(relpath: str) -> str | None:
    """The document kind of a receipt file (``evidence/a/b.json`` → ``evidence``), or None."""
    if relpath in FIXED_FILES:
        return FIXED_FILES[relpath]
    parts = relpath.split("/")
    if len(parts) == 3 and parts[0] == "evidence" and parts[2].endswith(".json") and len(parts[2]) > 5:
        return "evidence"
    return None


@functools.cache
def _schema_files() -> Mapping[str, Any]:
    """Each schema file's document, by the kind it is named for (the envelope has none of its own)."""
    kinds = [kind for kind in KINDS if kind not in _SCHEMA_REF]
    return {kind: json.loads((schemas_dir() / f"{kind}.schema.json").read_text(encoding="utf-8")) for kind in kinds}


def _schemas() -> dict[str, Any]:
    """The schema of every kind: its file's, or a ``$ref`` into another file (``_SCHEMA_REF``)."""
    files = _schema_files()
    refs = {kind: {"$ref": files[owner]["$id"] + pointer} for kind, (owner, pointer) in _SCHEMA_REF.items()}
    return {**files, **refs}


@functools.cache
def _validators() -> Mapping[str, Draft202012Validator]:
    """Load the receipt schemas once, registered by ``$id`` so cross-file ``$ref`` resolves.

    The reference validator is imported here, on first need: a run whose receipts are all valid
    never needs it (the fast path answers), and loading jsonschema is a tenth of a second.
    """
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _schema_files().values()
    )
    return {kind: Draft202012Validator(schema, registry=registry) for kind, schema in _schemas().items()}


@functools.cache
def _fast_validators() -> Mapping[str, jsonschema_rs.Validator]:
    """The same schemas compiled by jsonschema-rs: a verdict at native speed for the common case, a valid document.

    Only its "valid" is trusted; anything else is asked of the reference validator, which also
    words the problems. Formats stay annotations, as they are for the reference (no format checker).
    tests/receipts/test_fast_validation.py holds the two to the same verdicts on a corpus.
    """
    return {kind: jsonschema_rs.validator_for(schema, registry=_fast_registry(), validate_formats=False)
            for kind, schema in _schemas().items()}


@functools.cache
def _fast_registry() -> jsonschema_rs.Registry:
    """Every schema file by ``$id``, so cross-file ``$ref`` resolves: one registry for every fast validator."""
    return jsonschema_rs.Registry([(schema["$id"], schema) for schema in _schema_files().values()])


@functools.cache
def _fast_step_validator() -> jsonschema_rs.Validator:
    """The summary schema's ``step`` definition on its own, for ``_fast_valid_summary``."""
    step = {"$ref": _schema_files()["summary"]["$id"] + "#/$defs/step"}
    return jsonschema_rs.validator_for(step, registry=_fast_registry(), validate_formats=False)


def _fast_valid(kind: str, obj: Any) -> bool:
    """True when jsonschema-rs accepts ``obj``; False if it refuses or cannot read it (the reference decides)."""
    try:
        if kind == "summary" and isinstance(obj, dict) and isinstance(obj.get("scenarios"), list):
            return _fast_valid_summary(obj)
        return bool(_fast_validators()[kind].is_valid(obj))
    except (ValueError, TypeError, OverflowError):
        return False


def _fast_valid_summary(summary: dict[str, Any]) -> bool:
    """The summary's verdict a step at a time: its ``steps`` and ``cleanup`` arrays constrain nothing but their
    items, so the document with them emptied, and each step against the ``step`` definition, is the whole
    verdict. jsonschema-rs then never converts a long run's summary whole (3 MiB at 10,000 steps, issue 11)."""
    shells: list[Any] = []
    steps: list[Any] = []
    for scenario in summary["scenarios"]:
        if isinstance(scenario, dict):
            scenario = dict(scenario)
            for key in ("steps", "cleanup"):
                if isinstance(scenario.get(key), list):
                    steps += scenario[key]
                    scenario[key] = []
        shells.append(scenario)
    if not _fast_validators()["summary"].is_valid({**summary, "scenarios": shells}):
        return False
    step = _fast_step_validator()
    return all(step.is_valid(each) for each in steps)


def _short(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 3] + "..."


def _most_specific(error: ValidationError) -> ValidationError:
    """Descend through anyOf/oneOf to the branch error that explains the failure best.

    Our anyOfs are "X or null": the branch that failed only on its type at the same
    instance location (``... is not of type 'null'``) did not apply, so the other branch's
    deepest error is the one that names the typo.
    """
    from jsonschema.exceptions import best_match

    while error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        applicable = [
            errs for errs in branches.values() if not all(e.validator == "type" and not e.relative_path for e in errs)
        ]
        candidates = applicable[0] if len(applicable) == 1 else list(error.context)
        deeper = best_match(candidates)
        if deeper is None:
            break
        error = deeper
    return error


def _schema_problems(kind: str, obj: Any) -> list[tuple[str, str]]:
    if _fast_valid(kind, obj):
        return []
    problems = []
    for error in _validators()[kind].iter_errors(obj):
        error = _most_specific(error)
        message = error.message
        if error.validator == "enum" and list(error.validator_value) == sorted(CATALOG):
            message = f"{error.instance!r} is not in the reason-code catalog"  # not the 30-code list
        problems.append((error.json_path, _short(message)))
    return sorted(set(problems))


def _semantic_problems(kind: str, obj: Mapping[str, Any], *, serialise: bool = True
                       ) -> tuple[list[tuple[str, str]], bytes | None]:
    """What the schema cannot say: no floats, sorted code lists, unique ids; and the canonical bytes, if any.

    The bytes are the file a writer writes: checking that a document serialises *is* serialising it.
    Without ``serialise`` the canonical form is left to the caller (``validated_chunks`` makes it in pieces).
    """
    problems: list[tuple[str, str]] = []
    data: bytes | None = None
    if serialise:
        try:
            data = dumps(obj)
        except CanonicalJSONError as exc:
            problems.append((exc.path, exc.problem))
    codes = obj.get("reason_codes")
    if isinstance(codes, list) and codes != sorted(codes):
        problems.append(("$.reason_codes", "reason codes are not sorted"))
    if kind == "summary":
        problems += _duplicates([s["id"] for s in obj["scenarios"]], ("scenarios",), "scenario id")
        for si, scenario in enumerate(obj["scenarios"]):
            ids = [step["id"] for step in [*scenario["steps"], *scenario.get("cleanup", ())]]
            problems += _duplicates(ids, ("scenarios", si, "steps"), "step id")
    return problems, data


def _duplicates(ids: list[str], where: tuple[str | int, ...], what: str) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for index, value in enumerate(ids):
        if value in seen:
            problems.append((json_path((*where, index, "id")), f"duplicate {what} {value!r}"))
        seen.add(value)
    return problems


def _known(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown receipt kind {kind!r}; expected one of {', '.join(KINDS)}")


def _checked(kind: str, obj: Any) -> tuple[list[tuple[str, str]], bytes | None]:
    _known(kind)
    problems = _schema_problems(kind, obj)
    if problems:
        return problems, None
    return _semantic_problems(kind, obj)


def document_problems(kind: str, obj: Any) -> list[tuple[str, str]]:
    """Every (JSON path, message) that makes ``obj`` an invalid ``kind`` document; empty if valid."""
    return _checked(kind, obj)[0]


def validate_document(kind: str, obj: Any) -> bytes:
    """The canonical bytes of ``obj``; raises ``ReceiptSchemaError`` unless it is a valid ``kind`` receipt.

    Validated and serialised in one pass, so a writer writes (and digests) the very bytes that were checked.
    """
    problems, data = _checked(kind, obj)
    if problems or data is None:
        raise ReceiptSchemaError(kind, problems or [("$", "not serialisable")])
    return data


def validated_chunks(kind: str, obj: Any) -> Iterator[bytes]:
    """``validate_document`` for a large document: validated whole here, its bytes then made in pieces.

    The pieces join to exactly ``validate_document``'s bytes; the whole byte string is never held.
    """
    _known(kind)
    problems = _schema_problems(kind, obj)
    chunks: Iterator[bytes] = iter(())
    if not problems:
        try:
            chunks = dump_chunks(obj)  # the canonical check, made whole before the first piece
        except CanonicalJSONError as exc:
            problems.append((exc.path, exc.problem))
        problems += _semantic_problems(kind, obj, serialise=False)[0]
    if problems:
        raise ReceiptSchemaError(kind, problems)
    return chunks


def check_consistency(docs: Mapping[str, Any], present: Iterable[str]) -> list[str]:
    """Cross-document problems of a schema-valid set keyed by relative path; ``present`` = all files."""
    files = set(present)
    problems: list[str] = []
    summary = docs.get("SUMMARY.json")
    result = docs.get(RESULT_FILE)
    run_ids = {name: doc["run_id"] for name, doc in sorted(docs.items()) if "run_id" in doc}  # not attestation
    anchor = "SUMMARY.json" if summary is not None else next(iter(run_ids), None)
    if anchor is not None:
        for name, run_id in run_ids.items():
            if run_id != run_ids[anchor]:
                problems.append(f"{name}: run_id {run_id} differs from {anchor}'s {run_ids[anchor]}")
    manifest = docs.get("run-manifest.json")
    if summary is not None and manifest is not None and manifest["mode"] != summary["mode"]:
        problems.append(f"run-manifest.json: mode {manifest['mode']} differs from SUMMARY.json's {summary['mode']}")
    if result is not None:
        problems += _result_problems(result, summary, files)
    if summary is not None:
        problems += _evidence_problems(summary, docs, files)
    return problems


def _result_problems(result: Mapping[str, Any], summary: Mapping[str, Any] | None, files: set[str]) -> list[str]:
    problems = []
    if summary is not None:
        for field in ("result", "mode", "counts", "reason_codes"):
            if result[field] != summary[field]:
                problems.append(f"{RESULT_FILE}: {field} differs from SUMMARY.json")
    exit_code, verdict = result["exit_code"], result["result"]
    if exit_code == exits.INTERRUPTED:
        if "interrupted" not in result["reason_codes"]:
            problems.append(f"{RESULT_FILE}: exit_code {exit_code} without reason code 'interrupted'")
    elif exit_code != exits.FOR_RESULT[verdict]:
        problems.append(f"{RESULT_FILE}: exit_code {exit_code} does not match result {verdict!r}")
    has_blocker = "BLOCKER.json" in files
    if verdict == "manual-required" and not has_blocker:
        problems.append("BLOCKER.json: missing, but the result is manual-required")
    if verdict != "manual-required" and has_blocker:
        problems.append(f"BLOCKER.json: present, but the result is {verdict!r}, not manual-required")
    return problems


def _evidence_problems(summary: Mapping[str, Any], docs: Mapping[str, Any], files: set[str]) -> list[str]:
    problems = []
    referenced = set()
    for scenario in summary["scenarios"]:
        for step in [*scenario["steps"], *scenario.get("cleanup", ())]:
            ref = step["evidence"]
            if ref is None:
                continue
            referenced.add(ref)
            if ref not in files:
                problems.append(f"{ref}: referenced by SUMMARY.json step {scenario['id']}/{step['id']} but missing")
            elif ref != f"evidence/{scenario['id']}/{step['id']}.json":
                problems.append(f"{ref}: is not the evidence path of step {scenario['id']}/{step['id']}")
    for name in sorted(files):
        if kind_for(name) != "evidence":
            continue
        if name not in referenced:
            problems.append(f"{name}: evidence not referenced by any SUMMARY.json step")
        doc = docs.get(name)
        if doc is not None and (problem := _evidence_path_problem(name, doc)):
            problems.append(problem)
    return problems


def _evidence_path_problem(name: str, doc: Mapping[str, Any]) -> str | None:
    if name != f"evidence/{doc['scenario']}/{doc['step']}.json":
        return f"{name}: holds scenario {doc['scenario']!r} step {doc['step']!r}, not this path's"
    return None


def evidence_problems(name: str, doc: Mapping[str, Any], run_id: str) -> list[str]:
    """What ``check_consistency`` finds of one schema-valid evidence document against its summary's ``run_id``:
    for a writer that checks each document as it writes it and keeps none (issue 11)."""
    problems = []
    if doc["run_id"] != run_id:
        problems.append(f"{name}: run_id {doc['run_id']} differs from SUMMARY.json's {run_id}")
    if problem := _evidence_path_problem(name, doc):
        problems.append(problem)
    return problems


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _load(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)


def _check_file(name: str, kind: str, raw: bytes, problems: list[str]) -> Any | None:
    """Parse and check one JSON receipt; the document if it is valid, else None (problems added)."""
    try:
        doc = _load(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        problems.append(f"{name}: not valid JSON: {_short(str(exc))}")
        return None
    errors = document_problems(kind, doc)
    problems.extend(f"{name}: {path}: {message}" for path, message in errors)
    if errors:
        return None
    if dumps(doc) != raw:
        problems.append(f"{name}: not canonical JSON (sorted keys, 2-space indent, one trailing newline)")
    return doc


def validate_run_dir(path: Path) -> list[str]:
    """Every problem of a run directory, one line each naming the file; empty means valid."""
    root = Path(path)
    if not root.is_dir():
        return [f"{root}: not a directory"]
    problems: list[str] = []
    present = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())
    docs: dict[str, Any] = {}
    raws: dict[str, bytes] = {}
    for name in present:
        file = root / name
        if file.is_symlink():
            problems.append(f"{name}: is a symlink; receipts are regular files")
            continue
        kind = kind_for(name)
        if kind is None and name not in OTHER_FILES:
            problems.append(f"{name}: stray file, not a receipt (left over from an interrupted write?)")
            continue
        raws[name] = file.read_bytes()
        if kind is not None:
            doc = _check_file(name, kind, raws[name], problems)
            if doc is not None:
                docs[name] = doc
    if SUMMARY_MD in raws:
        try:
            raws[SUMMARY_MD].decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"{SUMMARY_MD}: not UTF-8")
    problems += [f"{name}: missing" for name in _ALWAYS if name not in present]
    result = docs.get(RESULT_FILE)
    if result is not None:
        problems += _digest_problems(result["files"], raws)
    problems += check_consistency(docs, raws)
    problems += meaning_problems(docs, raws)
    return problems


def _digest_problems(listed: Mapping[str, str], raws: Mapping[str, bytes]) -> list[str]:
    problems = []
    for name in sorted(set(raws) - NOT_DIGESTED):
        if name not in listed:
            problems.append(f"{name}: not listed in {RESULT_FILE} files")
    for name, digest in sorted(listed.items()):
        if name in NOT_DIGESTED:
            problems.append(f"{RESULT_FILE}: files must not list {name}")
        elif name not in raws:
            problems.append(f"{name}: listed in {RESULT_FILE} but missing")
        elif sha256_tag(raws[name]) != digest:
            problems.append(f"{name}: sha256 does not match {RESULT_FILE} (recorded {digest})")
    return problems
