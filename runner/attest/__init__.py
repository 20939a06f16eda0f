"""Signed results: the in-toto test-result Statement over a run directory, its DSSE envelope, and verify.

``validate`` proves a run directory is intact; an Ed25519-signed attestation proves who wrote it.
"""
