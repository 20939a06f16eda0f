"""Probe payloads as chunk streams: generated from size + seed, literal text, or a confined file.

Generated payloads are produced 1 MiB at a time from a seeded generator, so a 1 GiB probe
never sits in memory and the same seed always gives the same bytes, on any Python version.
The generator is versioned and the probe's receipt names it (``GENERATOR``):

- ``aes-256-ctr/2`` (current): the AES-256-CTR keystream (big-endian 128-bit counter from 0)
  under the key ``SHA-256(b"velikey-e2e payload aes-256-ctr/2\0" + ASCII decimal seed)``; the
  bytes are the encryption of zeros. With AES-NI it outruns SHA-256, so hashing and the network
  are a probe's limit, not the generator (``random.randbytes`` ran at a quarter of SHA-256).
- ``mt19937/1`` (receipts without a ``generator``): ``random.Random(seed).randbytes(n)`` per
  1 MiB chunk. Kept in ``generated_chunks`` so the bytes an older receipt digested can be
  regenerated and checked. A ``file:`` payload
resolves inside the scenario's own folder only: a scenario from a pull request must not be
able to send ``/etc/shadow`` or ``~/.ssh`` to a payload URL, by ``..``, an absolute path
or a symlink.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.scenario.model import ProbeSpec
from runner.scenario.probe_file import ProbeFileError, confine

__all__ = ["CHUNK_BYTES", "GENERATOR", "GENERATORS", "Payload", "PayloadError", "generated_chunks", "payload_for"]

CHUNK_BYTES = 1024 * 1024
GENERATOR = "aes-256-ctr/2"
LEGACY_GENERATOR = "mt19937/1"
GENERATORS = (GENERATOR, LEGACY_GENERATOR)


class PayloadError(ValueError):
    """The probe's payload cannot be produced (e.g. a file outside the scenario's folder)."""


@dataclass(frozen=True)
class Payload:
    source: str
    length: int
    chunks: Callable[[], AsyncIterator[bytes]]
    generator: str | None = None


def generated_chunks(size: int, seed: int, generator: str = GENERATOR) -> Iterator[bytes]:
    """The ``size`` bytes of a generated payload, in chunks of at most ``CHUNK_BYTES`` (see the module doc)."""
    if generator == LEGACY_GENERATOR:
        rng = random.Random(seed)
        produce: Callable[[int], bytes] = rng.randbytes
    elif generator == GENERATOR:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        key = hashlib.sha256(b"velikey-e2e payload aes-256-ctr/2\0" + str(seed).encode("ascii")).digest()
        encryptor = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()
        zeros = memoryview(bytes(min(CHUNK_BYTES, size)))

        def produce(n: int) -> bytes:
            return encryptor.update(zeros[:n])
    else:
        raise ValueError(f"unknown payload generator {generator!r}; known: {', '.join(GENERATORS)}")
    remaining = size
    while remaining:
        n = min(CHUNK_BYTES, remaining)
        yield produce(n)
        remaining -= n


def _generated(size: int, seed: int) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in generated_chunks(size, seed):
            yield chunk

    return chunks


def _literal(data: bytes) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        yield data

    return chunks


def _confined(relative: str, folder: Path) -> tuple[Path, int]:
    # The loader ran the same check; this one catches a folder changed since (a symlink swapped in).
    try:
        path = confine(relative, folder)
        return path, path.stat().st_size
    except ProbeFileError as exc:
        raise PayloadError(str(exc)) from None
    except OSError as exc:
        raise PayloadError(f"probe file {relative!r} cannot be read: {exc.strerror or 'error'}") from None


def _file(path: Path, size: int) -> Callable[[], AsyncIterator[bytes]]:
    # At most the bytes measured: a file that grows meanwhile still matches its Content-Length.
    async def chunks() -> AsyncIterator[bytes]:
        remaining = size
        with path.open("rb") as handle:
            while remaining and (block := handle.read(min(CHUNK_BYTES, remaining))):
                remaining -= len(block)
                yield block

    return chunks


def payload_for(spec: ProbeSpec, scenario_folder: Path) -> Payload:
    """The payload a probe step sends; ``PayloadError`` when it may not or cannot be read."""
    if spec.payload is not None:
        return Payload("generated", spec.payload.size, _generated(spec.payload.size, spec.payload.seed), GENERATOR)
    if spec.text is not None:
        data = spec.text.encode("utf-8")
        return Payload("text", len(data), _literal(data))
    assert spec.file is not None
    path, size = _confined(spec.file, scenario_folder)
    return Payload("file", size, _file(path, size))
