"""DSSE envelopes: the spec's PAE, interoperable with securesystemslib both ways, and clear key errors."""

from __future__ import annotations

import base64
import copy

import pytest
from attest_helpers import keypair
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from runner.attest.dsse import PAYLOAD_TYPE, KeyFormatError, dsse_sign, dsse_verify, keyid, pae, public_key

PAYLOAD = b'{"_type":"https://in-toto.io/Statement/v1"}'


def _sslib_key(public_pem: bytes) -> SSlibKey:
    key = public_key(public_pem)
    return SSlibKey.from_crypto(key, keyid=keyid(key))


def test_pae_is_the_specs() -> None:
    # The worked example of the DSSE protocol document.
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("t", b"") == b"DSSEv1 1 t 0 "


def test_securesystemslib_verifies_our_envelope() -> None:
    private_pem, public_pem = keypair()
    envelope = dsse_sign(PAYLOAD, private_pem)
    assert envelope["payloadType"] == PAYLOAD_TYPE and base64.b64decode(envelope["payload"]) == PAYLOAD
    theirs = Envelope.from_dict(copy.deepcopy(envelope))
    assert list(theirs.verify([_sslib_key(public_pem)], 1)) == [envelope["signatures"][0]["keyid"]]
    theirs.payload = PAYLOAD + b" "
    with pytest.raises(VerificationError):
        theirs.verify([_sslib_key(public_pem)], 1)


def test_we_verify_securesystemslib_envelopes_and_sign_identically() -> None:
    private_pem, public_pem = keypair()
    signer = CryptoSigner(serialization.load_pem_private_key(private_pem, password=None), _sslib_key(public_pem))
    theirs = Envelope(PAYLOAD, PAYLOAD_TYPE, {})
    theirs.sign(signer)
    assert dsse_verify(theirs.to_dict(), public_key(public_pem)) == []
    assert theirs.to_dict() == dsse_sign(PAYLOAD, private_pem), "Ed25519 is deterministic: same bytes"


def test_another_key_or_a_changed_payload_does_not_verify() -> None:
    private_pem, public_pem = keypair()
    envelope = dsse_sign(PAYLOAD, private_pem)
    other = public_key(keypair()[1])
    [problem] = dsse_verify(envelope, other)
    assert problem.startswith("signatures[0]: keyid ") and "is not the given key's" in problem
    envelope["payload"] = base64.b64encode(PAYLOAD + b" ").decode()
    [problem] = dsse_verify(envelope, public_key(public_pem))
    assert problem == "signatures[0]: signature does not verify with the given key"


def _pem(key: ec.EllipticCurvePrivateKey, encryption: serialization.KeySerializationEncryption) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"not a key", "signing key is not a PEM private key"),
        (_pem(ec.generate_private_key(ec.SECP256R1()), serialization.NoEncryption()), "not an Ed25519 key"),
        (_pem(ec.generate_private_key(ec.SECP256R1()), serialization.BestAvailableEncryption(b"pw")), "encrypted"),
    ],
)
def test_bad_signing_keys_are_one_clear_line(pem: bytes, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message) as caught:
        dsse_sign(PAYLOAD, pem)
    assert "\n" not in str(caught.value) and "PRIVATE" not in str(caught.value)


def test_bad_verification_keys_are_one_clear_line() -> None:
    private_pem, _ = keypair()
    with pytest.raises(KeyFormatError, match="verification key is not a PEM public key"):
        public_key(private_pem)
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = ec_public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFormatError, match="verification key is not an Ed25519 key"):
        public_key(pem)
