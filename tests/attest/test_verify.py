"""verify_run_dir: intact, meaningful and signed, offline; any altered byte is named by file."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from attest_helpers import EXAMPLE, attest, attested_example, keypair, read_files

from runner.attest.dsse import KeyFormatError
from runner.attest.verify import verify_run_dir
from runner.canonical import dumps, sha256_tag
from runner.receipts.validate import validate_run_dir
from runner.report.junit import junit_xml

GOLDEN_DRY_RUN = Path(__file__).resolve().parents[1] / "golden" / "dry-run"


def test_an_attested_run_verifies(tmp_path: Path) -> None:
    private_pem, public_pem = keypair()
    root = attested_example(tmp_path, private_pem)
    assert verify_run_dir(root) == []
    assert verify_run_dir(root, public_pem) == []


def test_unsigned_run_verifies_without_a_key_but_not_with_one(tmp_path: Path) -> None:
    root = attested_example(tmp_path)
    assert verify_run_dir(root) == []
    assert verify_run_dir(root, keypair()[1]) == [
        "attestation.dsse.json: missing, so the signature cannot be checked against the given key"
    ]


def test_another_key_is_refused(tmp_path: Path) -> None:
    root = attested_example(tmp_path, keypair()[0])
    [problem] = verify_run_dir(root, keypair()[1])
    assert problem.startswith("attestation.dsse.json: signatures[0]: keyid ")


def test_a_run_without_attestation_is_incomplete(tmp_path: Path) -> None:
    root = attested_example(tmp_path)
    (root / "attestation.json").unlink()
    assert verify_run_dir(root) == ["attestation.json: missing"]


def test_a_bad_key_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="verification key is not a PEM public key"):
        verify_run_dir(attested_example(tmp_path), b"-----BEGIN NONSENSE-----")


def _positions(size: int, name: str) -> list[int]:
    rng = random.Random(name)  # deterministic sample: the same bytes are flipped on every run
    return sorted({0, size // 2, size - 1, *rng.sample(range(size), min(size, 5))})


def test_any_flipped_byte_is_named(tmp_path: Path) -> None:
    private_pem, public_pem = keypair()
    root = attested_example(tmp_path, private_pem)
    # timings.json is the one volatile file: by design nothing digests or signs it.
    files = {name: data for name, data in read_files(root).items() if name != "timings.json"}
    assert set(files) == {name for name in read_files(EXAMPLE) if name != "timings.json"} | {"attestation.dsse.json"}
    unnamed = []
    for name, data in files.items():
        for position in _positions(len(data), name):
            altered = bytearray(data)
            altered[position] ^= 0x01
            (root / name).write_bytes(bytes(altered))
            problems = verify_run_dir(root, public_pem)
            if not any(name in problem for problem in problems):
                unnamed.append((name, position, problems))
        (root / name).write_bytes(data)
    assert unnamed == []
    assert verify_run_dir(root, public_pem) == []


def test_a_swapped_run_passes_validate_but_not_verify(tmp_path: Path) -> None:
    """Another intact run with a recomputed attestation fools integrity checks, never the signature."""
    private_pem, public_pem = keypair()
    envelope = (attested_example(tmp_path, private_pem) / "attestation.dsse.json").read_bytes()
    forged = tmp_path / "forged"
    shutil.copytree(GOLDEN_DRY_RUN, forged)
    summary = json.loads((forged / "SUMMARY.json").read_bytes())
    timings = json.loads((EXAMPLE / "timings.json").read_bytes())  # the golden set leaves out the volatile file
    timings["run_id"] = summary["run_id"]
    timings["steps"] = [{"scenario": sc["id"], "step": st["id"], "duration_ms": 0}
                        for sc in summary["scenarios"] for st in [*sc["steps"], *sc["cleanup"]]]
    (forged / "timings.json").write_bytes(dumps(timings))
    attest(forged)  # a forger can write attestation.json, but not sign it
    (forged / "attestation.dsse.json").write_bytes(envelope)
    assert [p for p in validate_run_dir(forged) if not p.startswith("attestation")] == []
    forgery = ["attestation.dsse.json: payload is not the RFC 8785 form of attestation.json"]
    assert verify_run_dir(forged) == forgery
    assert verify_run_dir(forged, public_pem) == forgery


def test_a_predicate_that_does_not_follow_is_named(tmp_path: Path) -> None:
    root = attested_example(tmp_path)
    path = root / "attestation.json"
    doc = json.loads(path.read_bytes())
    doc["predicate"]["result"] = "fail"
    doc["predicate"]["configuration"] = []
    path.write_bytes(dumps(doc))
    assert verify_run_dir(root) == [
        "attestation.json: predicate.result does not follow from SUMMARY.json",
        "attestation.json: predicate.configuration does not follow from run-manifest.json",
    ]


def test_missing_and_unlisted_files_are_named(tmp_path: Path) -> None:
    root = attested_example(tmp_path)
    (root / "evidence" / "release-gate" / "probe.json").unlink()
    problems = verify_run_dir(root)
    assert "evidence/release-gate/probe.json: in attestation.json subject but missing" in problems
    assert any(p.startswith("evidence/release-gate/probe.json: listed in python-sdk-e2e-result.json") for p in problems)


def test_a_junit_file_rewritten_with_its_digests_is_caught(tmp_path: Path) -> None:
    """validate sees only digests for junit.xml; verify re-renders it from SUMMARY.json."""
    root = tmp_path / "run"
    shutil.copytree(EXAMPLE, root)
    summary = json.loads((root / "SUMMARY.json").read_bytes())
    forged = junit_xml(summary).replace(b'failures="0"', b'failures="0" ', 1).replace(b"<skipped", b"<skipped ", 1)
    (root / "junit.xml").write_bytes(forged)
    result = json.loads((root / "python-sdk-e2e-result.json").read_bytes())
    result["files"]["junit.xml"] = sha256_tag(forged)
    (root / "python-sdk-e2e-result.json").write_bytes(dumps(result))
    attest(root)
    assert validate_run_dir(root) == []
    assert verify_run_dir(root) == ["junit.xml: is not the rendering of SUMMARY.json"]
    (root / "junit.xml").write_bytes(junit_xml(summary))
    result["files"]["junit.xml"] = sha256_tag(junit_xml(summary))
    (root / "python-sdk-e2e-result.json").write_bytes(dumps(result))
    attest(root)
    assert verify_run_dir(root) == []
