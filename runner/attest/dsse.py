"""DSSE envelopes signed with Ed25519: sign, and verify offline against a public key.

The signature covers DSSE's pre-authentication encoding (PAE) of the payload type and the payload,
never the JSON of the envelope, so re-encoding the envelope cannot change what was signed. PAE is
five lines of the spec, written here rather than pulling a signing framework into the runtime;
``tests/attest`` proves securesystemslib's DSSE agrees. Ed25519 signatures are deterministic, so
a signed run directory is as reproducible as an unsigned one. Key errors never echo key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "PAYLOAD_TYPE", "KeyFormatError", "decoded_payload", "dsse_sign", "dsse_verify", "keyid", "pae", "private_key",
    "public_key",
]

PAYLOAD_TYPE = "application/vnd.in-toto+json"


class KeyFormatError(ValueError):
    """A key file is not an unencrypted Ed25519 PEM key of the expected kind (bad input: exit 2)."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 <len> <type> <len> <payload>``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


def keyid(public_key: Ed25519PublicKey) -> str:
    """The hex SHA-256 of the key's DER SubjectPublicKeyInfo: stable, and names the key without a registry."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def private_key(pem: bytes) -> Ed25519PrivateKey:
    """An unencrypted Ed25519 private key from PEM, or ``KeyFormatError`` (the CLI checks ``--sign-key`` with it)."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError as exc:  # cryptography's word for "this key is encrypted"
        raise KeyFormatError("signing key is encrypted; give an unencrypted Ed25519 PEM private key") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("signing key is not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError("signing key is not an Ed25519 key")
    return key


def public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or ``KeyFormatError``."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("verification key is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFormatError("verification key is not an Ed25519 key")
    return key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def dsse_sign(statement_bytes: bytes, private_key_pem: bytes) -> dict[str, Any]:
    """The DSSE envelope of ``statement_bytes`` (the JCS bytes of the Statement), one Ed25519 signature."""
    key = private_key(private_key_pem)
    signature = key.sign(pae(PAYLOAD_TYPE, statement_bytes))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": _b64(statement_bytes),
        "signatures": [{"keyid": keyid(key.public_key()), "sig": _b64(signature)}],
    }


def decoded_payload(envelope: Mapping[str, Any]) -> bytes | None:
    """The payload bytes of a schema-valid envelope, or None if it is not base64."""
    try:
        return base64.b64decode(envelope["payload"], validate=True)
    except (binascii.Error, ValueError):
        return None


def dsse_verify(envelope: Mapping[str, Any], key: Ed25519PublicKey) -> list[str]:
    """Problems with a schema-valid envelope's signatures under ``key``; empty when one signature by it verifies.

    A signature that claims another key id is reported rather than tried: the envelope must say
    truthfully who signed it, so that an altered key id is caught like any other altered byte.
    """
    payload = decoded_payload(envelope)
    if payload is None:
        return ["payload is not base64"]
    expected = keyid(key)
    problems = []
    for index, signature in enumerate(envelope["signatures"]):
        if signature["keyid"] != expected:
            problems.append(f"signatures[{index}]: keyid {signature['keyid']} is not the given key's {expected}")
            continue
        try:
            key.verify(base64.b64decode(signature["sig"], validate=True), pae(envelope["payloadType"], payload))
        except (binascii.Error, ValueError, InvalidSignature):
            problems.append(f"signatures[{index}]: signature does not verify with the given key")
            continue
        return []
    return problems or ["no signature by the given key"]
