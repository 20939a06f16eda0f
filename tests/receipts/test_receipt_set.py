"""build_receipt_set → write_receipt_set → validate_run_dir, and what validation catches."""

from __future__ import annotations

import copy
import hashlib
import json
import weakref
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from runner.receipts import (
    ReceiptSchemaError,
    ReceiptSetError,
    build_receipt_set,
    dumps,
    sha256_tag,
    validate_run_dir,
    write_receipt_set,
)
from runner.receipts.write import MemorySet

RESULT = "python-sdk-e2e-result.json"


def _build(docs: dict[str, Any], exit_code: int = 0) -> dict[str, bytes]:
    built = MemorySet()
    digests = build_receipt_set(**docs, exit_code=exit_code, write=built.write)
    assert digests == {name: hashlib.sha256(data).hexdigest() for name, data in sorted(built.files.items())}
    return dict(sorted(built.files.items()))


def _written(tmp_path: Path, docs: dict[str, Any], exit_code: int = 0) -> Path:
    out = tmp_path / "run"
    write_receipt_set(out, _build(docs, exit_code))
    return out


def test_live_set_round_trip(tmp_path: Path, docs: dict[str, Any]) -> None:
    files = _build(docs)
    assert sorted(files) == [
        "SUMMARY.json",
        "SUMMARY.md",
        "evidence/release-gate/health.json",
        RESULT,
        "run-manifest.json",
        "timings.json",
    ]
    result = json.loads(files[RESULT])
    assert result["files"] == {
        name: sha256_tag(data) for name, data in files.items() if name not in (RESULT, "timings.json")
    }
    assert (result["result"], result["exit_code"], result["run_id"]) == ("pass", 0, docs["summary"]["run_id"])
    out = tmp_path / "run"
    write_receipt_set(out, files)
    assert validate_run_dir(out) == []


def test_blocked_set_round_trip(tmp_path: Path, blocked: dict[str, Any]) -> None:
    out = _written(tmp_path, blocked, exit_code=3)
    assert (out / "BLOCKER.json").is_file()
    assert validate_run_dir(out) == []


def test_bytes_are_deterministic(docs: dict[str, Any]) -> None:
    first = _build(docs)
    docs["timings"]["duration_ms"] = 99999
    second = _build(docs)
    assert {k: v for k, v in first.items() if k != "timings.json"} == {
        k: v for k, v in second.items() if k != "timings.json"
    }
    assert all(data == dumps(json.loads(data)) for name, data in first.items() if name.endswith(".json"))


def test_schema_failure_raises_before_any_bytes(docs: dict[str, Any]) -> None:
    docs["summary"]["scenarios"][0]["steps"][0]["outcome"] = "ok"
    with pytest.raises(ReceiptSchemaError, match=r"SUMMARY\.json \(summary\): \$\.scenarios\[0\]\.steps\[0\]\.outcome"):
        _build(docs)


def test_float_is_refused_with_its_path(docs: dict[str, Any]) -> None:
    docs["evidence"]["evidence/release-gate/health.json"]["exchanges"][0]["body"]["gb"] = 0.25
    with pytest.raises(ReceiptSchemaError, match=r"exchanges\[0\]\.body\.gb"):
        _build(docs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["manifest"].update(run_id="run-ffffffffffffffff"), "run_id"),
        (lambda d: d["summary"]["scenarios"][0]["steps"][0].update(evidence=None), "not referenced"),
        (lambda d: d.update(evidence={}), "missing"),
        (lambda d: d["summary"].update(result="fail"), "exit_code 0 does not match"),
        # Evidence is checked as it is written, and not kept for the set check: both still refuse.
        (lambda d: d["evidence"]["evidence/release-gate/health.json"].update(run_id="run-ffffffffffffffff"),
         "health.json: run_id run-ffffffffffffffff differs from SUMMARY.json's"),
        (lambda d: d["evidence"]["evidence/release-gate/health.json"].update(step="probe"),
         "health.json: holds scenario 'release-gate' step 'probe', not this path's"),
    ],
)
def test_inconsistent_set_raises(docs: dict[str, Any], change: Any, message: str) -> None:
    change(docs)
    with pytest.raises(ReceiptSetError, match=message):
        _build(docs)


def test_blocker_requires_manual_required(docs: dict[str, Any], blocked: dict[str, Any]) -> None:
    docs["blocker"] = blocked["blocker"]
    with pytest.raises(ReceiptSetError, match="BLOCKER.json: present"):
        _build(docs)
    blocked["blocker"] = None
    with pytest.raises(ReceiptSetError, match="BLOCKER.json: missing"):
        _build(blocked, exit_code=3)


def test_interrupted_exit_code(docs: dict[str, Any]) -> None:
    with pytest.raises(ReceiptSetError, match="interrupted"):
        _build(docs, exit_code=130)
    docs["summary"].update(result="fail", reason_codes=["interrupted", "ok"])
    assert json.loads(_build(docs, exit_code=130)[RESULT])["exit_code"] == 130


def test_bad_evidence_key(docs: dict[str, Any]) -> None:
    docs["evidence"] = {"health.json": docs["evidence"]["evidence/release-gate/health.json"]}
    with pytest.raises(ReceiptSetError, match="evidence key"):
        _build(docs)


# ------------------------------------------------------------------ validate_run_dir catches


def test_flipped_byte_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    path = out / "SUMMARY.json"
    raw = bytearray(path.read_bytes())
    index = raw.index(b"curl -X")
    raw[index] ^= 0x20  # "c" -> "C" in a field nothing else repeats: valid, canonical; only the digest can tell
    path.write_bytes(bytes(raw))
    problems = validate_run_dir(out)
    assert problems == [
        "SUMMARY.json: sha256 does not match python-sdk-e2e-result.json (recorded "
        + sha256_tag(_build(docs)["SUMMARY.json"])
        + ")"
    ]


def test_missing_file_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    (out / "SUMMARY.md").unlink()
    (out / "evidence/release-gate/health.json").unlink()
    problems = validate_run_dir(out)
    assert "SUMMARY.md: missing" in problems
    assert f"SUMMARY.md: listed in {RESULT} but missing" in problems
    assert any(p.startswith("evidence/release-gate/health.json: referenced by SUMMARY.json") for p in problems)


def test_stray_temp_file_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    (out / ".SUMMARY.json.tmp-1a2b").write_bytes(b"{")
    assert validate_run_dir(out) == [
        ".SUMMARY.json.tmp-1a2b: stray file, not a receipt (left over from an interrupted write?)"
    ]


def test_unlisted_file_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    (out / "junit.xml").write_bytes(b"<testsuites/>")
    assert validate_run_dir(out) == [f"junit.xml: not listed in {RESULT} files"]


def test_non_canonical_json_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    path = out / "run-manifest.json"
    path.write_text(json.dumps(json.loads(path.read_bytes())), encoding="utf-8")
    problems = validate_run_dir(out)
    assert "run-manifest.json: not canonical JSON (sorted keys, 2-space indent, one trailing newline)" in problems


def test_schema_problem_in_file_is_named(tmp_path: Path, docs: dict[str, Any]) -> None:
    out = _written(tmp_path, docs)
    path = out / "timings.json"
    doc = json.loads(path.read_bytes())
    doc["duration_ms"] = 1.5
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert validate_run_dir(out) == ["timings.json: $.duration_ms: 1.5 is not of type 'integer'"]


@pytest.mark.parametrize("raw", [b"{", b'{"a": 1, "a": 2}\n', b"\xff"])
def test_unparseable_json_is_named(tmp_path: Path, docs: dict[str, Any], raw: bytes) -> None:
    out = _written(tmp_path, docs)
    (out / "BLOCKER.json").write_bytes(raw)
    problems = validate_run_dir(out)
    assert any(p.startswith("BLOCKER.json: not valid JSON") for p in problems), problems


def test_not_a_directory(tmp_path: Path) -> None:
    assert validate_run_dir(tmp_path / "nope") == [f"{tmp_path / 'nope'}: not a directory"]


def test_empty_directory_lists_every_required_file(tmp_path: Path) -> None:
    problems = validate_run_dir(tmp_path)
    for name in ("SUMMARY.json", "SUMMARY.md", "run-manifest.json", RESULT, "timings.json"):
        assert f"{name}: missing" in problems


class _Doc(dict[str, Any]):
    """A document that can be watched with a weak reference."""


def test_evidence_documents_are_built_one_at_a_time(docs: dict[str, Any]) -> None:
    # A long live run's evidence must not be held whole (issue 11 item 5): when the set asks for the next
    # evidence document, the one before has been serialised and let go.
    scenario = docs["summary"]["scenarios"][0]
    (path, doc), = docs["evidence"].items()
    for n in range(1, 4):
        step = copy.deepcopy(scenario["steps"][0]) | {"id": f"health{n}"}
        step["evidence"] = f"evidence/release-gate/health{n}.json"
        scenario["steps"].append(step)
        docs["evidence"][step["evidence"]] = copy.deepcopy(doc) | {"step": f"health{n}"}
    docs["summary"]["counts"]["passed"] += 3
    given = docs["evidence"]
    held: list[weakref.ref[_Doc]] = []

    class Lazy(Mapping[str, dict[str, Any]]):
        def __getitem__(self, name: str) -> dict[str, Any]:
            assert all(ref() is None for ref in held), "an earlier evidence document is still held"
            made = _Doc(copy.deepcopy(given[name]))
            held.append(weakref.ref(made))
            return made

        def __iter__(self) -> Iterator[str]:
            return iter(given)

        def __len__(self) -> int:
            return len(given)

    lazy = _build(docs | {"evidence": Lazy()})
    assert len(held) == 4 and lazy == _build(docs)
