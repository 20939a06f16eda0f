"""Probe payloads as chunk streams: generated from size + seed, literal text, or a confined file.

Generated payloads are produced 1 MiB at a time from a seeded generator, so a 1 GiB probe
never sits in memory and the same seed always gives the same bytes. A ``file:`` payload
resolves inside the scenario's own folder only: a scenario from a pull request must not be
able to send ``/etc/shadow`` or ``~/.ssh`` to a payload URL, by ``..``, an absolute path
or a symlink.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from runner.scenario.model import ProbeSpec
from runner.scenario.probe_file import ProbeFileError, confine

__all__ = ["CHUNK_BYTES", "Payload", "PayloadError", "payload_for"]

CHUNK_BYTES = 1024 * 1024


class PayloadError(ValueError):
    """The probe's payload cannot be produced (e.g. a file outside the scenario's folder)."""


@dataclass(frozen=True)
class Payload:
    source: str
    length: int
    chunks: Callable[[], AsyncIterator[bytes]]


def _generated(size: int, seed: int) -> Callable[[], AsyncIterator[bytes]]:
    async def chunks() -> AsyncIterator[bytes]:
        rng = random.Random(seed)
        remaining = size
        while remaining:
            n = min(CHUNK_BYTES, remaining)
            yield rng.randbytes(n)
            remaining -= n

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
        return Payload("generated", spec.payload.size, _generated(spec.payload.size, spec.payload.seed))
    if spec.text is not None:
        data = spec.text.encode("utf-8")
        return Payload("text", len(data), _literal(data))
    assert spec.file is not None
    path, size = _confined(spec.file, scenario_folder)
    return Payload("file", size, _file(path, size))
