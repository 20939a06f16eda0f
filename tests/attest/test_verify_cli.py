"""`run --sign-key` and `velikey-e2e verify` from outside: the installed CLI, a real run, a throwaway key.

A signed set verifies, offline; any one edited byte in any receipt file makes `verify --key` fail
naming that file; a bad key is bad input (exit 2) before any request is sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from attest_helpers import cli, keypair
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.statement_pb2 import Statement as StatementProto
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

from runner.canonical import dumps
from velikey.testing import ReferenceServer

StartServer = Callable[..., ReferenceServer]
RELEASE_GATE = Path(__file__).resolve().parents[2] / "scenarios" / "release-gate.yaml"
PINNED = ("--run-id", "signed-run")  # tests pin the run id: same inputs, same receipts


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A live, signed run against the embedded reference server, and the public key file."""
    root = tmp_path_factory.mktemp("signed")
    private_pem, public_pem = keypair()
    (root / "key.pem").write_bytes(private_pem)
    (root / "key.pub").write_bytes(public_pem)
    done = cli("run", *PINNED, RELEASE_GATE, "--live", "--embedded", "--out", root / "run",
               "--sign-key", root / "key.pem", cwd=root)
    assert done.returncode == 0, done.stderr
    return root / "run", root / "key.pub"


def _files(run: Path) -> dict[str, bytes]:
    return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


def test_a_signed_run_verifies_offline(signed: tuple[Path, Path], tmp_path: Path) -> None:
    run, public = signed
    assert {"attestation.json", "attestation.dsse.json"} <= set(_files(run))
    done = cli("verify", run, "--key", public, cwd=tmp_path)
    assert (done.returncode, done.stdout.strip()) == (0, f"verified: {run}; signed by the given key"), done.stderr
    assert cli("validate", run, cwd=tmp_path).returncode == 0, "validate knows the attestation files"
    unsigned = cli("verify", run, cwd=tmp_path)
    assert unsigned.returncode == 0 and "signature not checked: no --key given" in unsigned.stdout


def test_the_envelope_and_statement_interoperate(signed: tuple[Path, Path]) -> None:
    """securesystemslib's DSSE verifies our envelope; in-toto-attestation's parser accepts our statement."""
    run, public = signed
    envelope = Envelope.from_dict(json.loads((run / "attestation.dsse.json").read_bytes()))
    key = serialization.load_pem_public_key(public.read_bytes())
    [keyid] = envelope.signatures
    assert list(envelope.verify([SSlibKey.from_crypto(key, keyid=keyid)], 1)) == [keyid]
    statement = json.loads(envelope.payload)
    assert dumps(statement) == (run / "attestation.json").read_bytes()
    parsed = Statement.copy_from_pb(json_format.Parse(envelope.payload, StatementProto()))
    parsed.validate()
    summary = json.loads((run / "SUMMARY.json").read_bytes())
    assert statement["predicate"]["result"] == summary["result"] == "pass"
    assert [s["name"] for s in statement["subject"]] == sorted(set(_files(run)) - {
        "timings.json", "attestation.json", "attestation.dsse.json"})


def test_any_edited_byte_in_any_file_is_named(signed: tuple[Path, Path], tmp_path: Path) -> None:
    run, public = signed
    copy = tmp_path / "run"
    copy.mkdir()
    files = _files(run)
    for name, data in files.items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    unnamed = []
    for name, data in files.items():
        if name == "timings.json":
            continue
        edited = bytearray(data)
        edited[len(data) // 2] ^= 0x01
        (copy / name).write_bytes(bytes(edited))
        done = cli("verify", copy, "--key", public, cwd=tmp_path)
        named = [line for line in done.stderr.splitlines() if line.startswith("invalid: ") and name in line]
        if done.returncode != 1 or not named or "Traceback" in done.stderr:
            unnamed.append((name, done.returncode, done.stderr))
        (copy / name).write_bytes(data)
    assert unnamed == []
    assert len(files) >= 14, "every receipt of a live run was tried"
    # timings.json is the one volatile file: by design nothing digests or signs it.
    (copy / "timings.json").write_bytes(files["timings.json"].replace(b'"duration_ms"', b'"duration_ms" ', 1))
    assert cli("verify", copy, "--key", public, cwd=tmp_path).returncode == 1, "but it must still be canonical"


def test_verify_with_another_key_or_none_to_check(signed: tuple[Path, Path], tmp_path: Path) -> None:
    run, _ = signed
    other = tmp_path / "other.pub"
    other.write_bytes(keypair()[1])
    done = cli("verify", run, "--key", other, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("invalid: attestation.dsse.json: signatures[0]: keyid ")
    unsigned = tmp_path / "unsigned"
    assert cli("run", *PINNED, RELEASE_GATE, "--dry-run", "--out", unsigned, cwd=tmp_path).returncode == 0
    done = cli("verify", unsigned, "--key", other, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ("invalid: attestation.dsse.json: missing, so the signature cannot be checked"
                           " against the given key\n")
    assert cli("verify", unsigned, cwd=tmp_path).stdout.strip() == f"verified: {unsigned}; unsigned"


def _encrypted_key() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.BestAvailableEncryption(b"pw"))


@pytest.mark.parametrize(("content", "says"), [
    (lambda: b"not a key at all", "signing key is not a PEM private key"),
    (lambda: keypair()[1], "signing key is not a PEM private key"),
    (_encrypted_key, "signing key is encrypted"),
])
def test_a_bad_signing_key_is_bad_input_before_any_request(start_server: StartServer, tmp_path: Path,
                                                           content: Callable[[], bytes], says: str) -> None:
    server = start_server()
    key = tmp_path / "key.pem"
    key.write_bytes(content())
    done = cli("run", *PINNED, RELEASE_GATE, "--live", "--out", tmp_path / "run", "--sign-key", key, cwd=tmp_path,
               env=server.live_env())
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr and "BEGIN" not in done.stderr
    assert not (tmp_path / "run").exists()
    assert server.state()["requests"] == {}, "nothing reached the tenant"


def test_a_bad_verification_key_is_bad_input(signed: tuple[Path, Path], tmp_path: Path) -> None:
    run, _ = signed
    key = tmp_path / "private.pem"
    key.write_bytes(keypair()[0])
    done = cli("verify", run, "--key", key, cwd=tmp_path)
    assert done.returncode == 2
    assert "verification key is not a PEM public key" in done.stderr and "BEGIN" not in done.stderr
    assert cli("verify", tmp_path / "nowhere", cwd=tmp_path).returncode == 2


def test_validate_checks_the_attestation_schema(signed: tuple[Path, Path], tmp_path: Path) -> None:
    run, _ = signed
    copy = tmp_path / "run"
    copy.mkdir()
    for name, data in _files(run).items():
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_bytes(data)
    doc = json.loads((copy / "attestation.json").read_bytes())
    doc["predicate"]["result"] = "manual-required"
    (copy / "attestation.json").write_bytes(dumps(doc))
    done = cli("validate", copy, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "invalid: attestation.json: $.predicate.result: 'manual-required' is not one of ['pass', 'fail']"]


def test_a_signed_run_is_reproducible(signed: tuple[Path, Path], tmp_path: Path) -> None:
    """Ed25519 signatures are deterministic: the same run, signed by the same key, is the same bytes."""
    run, _ = signed
    again = tmp_path / "again"
    done = cli("run", *PINNED, RELEASE_GATE, "--live", "--embedded", "--out", again,
               "--sign-key", run.parent / "key.pem", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, second = _files(run), _files(again)
    del first["timings.json"], second["timings.json"]
    assert first == second
