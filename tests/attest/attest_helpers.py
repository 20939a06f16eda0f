"""Throwaway Ed25519 keys and attested copies of receipts/example/ for the attestation tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from runner.attest.statement import attestation_files, file_digests

EXAMPLE = Path(__file__).resolve().parents[2] / "receipts" / "example"
CLI = Path(sys.executable).with_name("velikey-e2e")
_PREFIXES = ("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_", "SOURCE_DATE_EPOCH", "GITHUB_", "CI", "GITLAB_")


def cli(*args: str | Path, cwd: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``velikey-e2e ARGS`` in a child process, in a clean environment plus ``env``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_PREFIXES)}
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env={**base, **(env or {})}, capture_output=True,
                          encoding="utf-8", errors="replace", timeout=120, check=False)


def keypair() -> tuple[bytes, bytes]:
    """A fresh (private PEM, public PEM): tests never use a key that exists anywhere else."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def read_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def attest(root: Path, private_pem: bytes | None = None) -> None:
    """Write the attestation files of the run directory ``root`` as the runner will."""
    files = read_files(root)
    summary = json.loads(files["SUMMARY.json"])
    manifest = json.loads(files["run-manifest.json"])
    for name, data in attestation_files(file_digests(files), summary, manifest["scenarios"], private_pem).items():
        (root / name).write_bytes(data)


def attested_example(tmp_path: Path, private_pem: bytes | None = None) -> Path:
    """A copy of receipts/example/ with its attestation (signed when a key is given)."""
    root = tmp_path / "run"
    shutil.copytree(EXAMPLE, root)
    attest(root, private_pem)
    return root
