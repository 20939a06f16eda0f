"""Generated probe payloads: the documented, versioned algorithms, the same bytes on any Python."""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from runner.engine.payload import CHUNK_BYTES, GENERATOR, generated_chunks, payload_for
from runner.scenario.model import ProbeSpec

SIZE = CHUNK_BYTES + 5  # two chunks, the last a short one


def _digest(generator: str, size: int = SIZE, seed: int = 7) -> str:
    digest = hashlib.sha256()
    for chunk in generated_chunks(size, seed, generator):
        digest.update(chunk)
    return digest.hexdigest()


def test_the_current_generator_is_aes_256_ctr_and_its_bytes_are_pinned() -> None:
    # Pinned: a change of bytes is a new generator version, never an edit of this one.
    assert GENERATOR == "aes-256-ctr/2"
    assert _digest("aes-256-ctr/2") == "6b35998c7aa1cd53cdb7f3e422dd102ca74d9881252505d362e79fd3c02daafa"


def test_the_bytes_are_the_documented_keystream() -> None:
    # Independently of the generator's code: AES-256-ECB of the big-endian counter blocks 0, 1, 2, ...
    for seed in (0, 7, -3, 2**80):
        key = hashlib.sha256(b"velikey-e2e payload aes-256-ctr/2\0" + str(seed).encode()).digest()
        ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        expected = b"".join(ecb.update(i.to_bytes(16, "big")) for i in range(4))
        assert b"".join(generated_chunks(64, seed)) == expected


def test_the_old_generator_stays_available_for_receipts_that_used_it() -> None:
    old = random.Random(7)
    expected = hashlib.sha256(old.randbytes(CHUNK_BYTES) + old.randbytes(5)).hexdigest()
    assert _digest("mt19937/1") == expected == "bf300fc6ac39f17d9247386abb6e91b965d855e9e05956e553448c875cdcea64"


@pytest.mark.parametrize("generator", ["aes-256-ctr/2", "mt19937/1"])
@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES, 3 * CHUNK_BYTES + 1])
def test_chunks_are_bounded_and_add_up_to_the_size(generator: str, size: int) -> None:
    chunks = list(generated_chunks(size, 1, generator))
    assert sum(len(c) for c in chunks) == size
    assert all(0 < len(c) <= CHUNK_BYTES for c in chunks)


def test_seeds_give_different_bytes_and_the_same_seed_the_same() -> None:
    assert _digest(GENERATOR, 4096, 1) != _digest(GENERATOR, 4096, 2)
    assert _digest(GENERATOR, 4096, 1) == _digest(GENERATOR, 4096, 1)
    # A shorter payload is a prefix of a longer one with the same seed.
    assert b"".join(generated_chunks(100, 9)) == b"".join(generated_chunks(1000, 9))[:100]


def test_an_unknown_generator_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown payload generator 'mt19937/9'"):
        next(generated_chunks(1, 1, "mt19937/9"))


def test_a_generated_probe_names_its_generator() -> None:
    payload = payload_for(ProbeSpec.model_validate({"payload": {"size": 10, "seed": 7}}), Path("."))
    assert (payload.source, payload.generator, payload.length) == ("generated", GENERATOR, 10)

    async def read() -> bytes:
        return b"".join([chunk async for chunk in payload.chunks()])

    assert asyncio.run(read()) == b"".join(generated_chunks(10, 7))
    text = payload_for(ProbeSpec.model_validate({"text": "hi"}), Path("."))
    assert text.generator is None


def test_the_summary_schema_accepts_both_versions_and_receipts_from_before_the_field() -> None:
    import json

    from runner.receipts.validate import document_problems

    golden = Path(__file__).resolve().parents[1] / "golden" / "live" / "SUMMARY.json"
    summary = json.loads(golden.read_text(encoding="utf-8"))
    probe = next(s for sc in summary["scenarios"] for s in sc["steps"] if s["probe"] is not None)["probe"]
    for value in ("aes-256-ctr/2", "mt19937/1", None):
        probe["generator"] = value
        assert document_problems("summary", summary) == []
    del probe["generator"]  # a receipt written before generators were versioned: mt19937/1
    assert document_problems("summary", summary) == []
    probe["generator"] = "random/0"
    assert document_problems("summary", summary) != []
