"""Atomic writing of one file, and of a whole receipt set.

A reviewer or gate must never see half a receipt set: an interrupted run leaves either the
previous directory (or none) or a complete, valid set. Files are therefore written into a
hidden sibling staging directory, fsynced, and the directory is swapped into place with
renames on the same filesystem. The swap is two renames (old aside, new in); an
interruption between them leaves no ``out_dir`` and the old set parked as a hidden sibling,
which still satisfies "old, none, or complete".

Replacing a directory deletes it, so ``write_receipt_set`` only replaces a directory that
is empty or holds a previous receipt set; ``--out ~`` must not delete a home directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

__all__ = ["ReceiptWriteError", "atomic_write_bytes", "write_receipt_set"]

# A directory holding any of these is a receipt set that a rerun may replace.
_RECEIPT_MARKERS = ("python-sdk-e2e-result.json", "SUMMARY.json", "run-manifest.json")


class ReceiptWriteError(OSError):
    """The receipt set cannot be written where it was asked to go."""


def _fsync_dir(path: Path) -> None:
    """Persist a directory entry change; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_new_file(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist), write ``data`` and fsync it."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file in the same directory, then rename."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(8)}"
    try:
        _write_new_file(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _relative_parts(name: str) -> tuple[str, ...]:
    """Split a receipt file name into safe path segments, refusing escapes and oddities."""
    pure = PurePosixPath(name)
    parts = pure.parts
    if (
        not name
        or pure.is_absolute()
        or "\\" in name
        or any(part in ("", ".", "..") for part in parts)
        or str(pure) != name
    ):
        raise ValueError(f"receipt file name {name!r} is not a plain relative path")
    return parts


def _check_replaceable(out_dir: Path) -> None:
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise ReceiptWriteError(f"{out_dir} exists and is not a directory; refusing to replace it")
    entries = list(out_dir.iterdir())
    if entries and not any((out_dir / marker).is_file() for marker in _RECEIPT_MARKERS):
        raise ReceiptWriteError(
            f"{out_dir} is not empty and holds no receipt set; refusing to replace it (choose another --out)"
        )


def write_receipt_set(out_dir: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` (relative path → bytes) as ``out_dir``, all or nothing.

    On any exception, including KeyboardInterrupt, the staging directory is removed and
    ``out_dir`` is as it was.
    """
    out_dir = Path(os.path.abspath(out_dir))
    if not out_dir.name:
        raise ReceiptWriteError(f"{out_dir} cannot be a receipt directory")
    plan = {name: _relative_parts(name) for name in files}
    _check_replaceable(out_dir)
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)

    token = secrets.token_hex(8)
    staging = parent / f".{out_dir.name}.tmp-{token}"
    parked = parent / f".{out_dir.name}.old-{token}"
    staging.mkdir()
    try:
        directories = {staging}
        for name in sorted(files):
            target = staging.joinpath(*plan[name])
            target.parent.mkdir(parents=True, exist_ok=True)
            directories.add(target.parent)
            _write_new_file(target, files[name])
        for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(directory)
        _swap_in(staging, out_dir, parked)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(parent)
    shutil.rmtree(parked, ignore_errors=True)


def _swap_in(staging: Path, out_dir: Path, parked: Path) -> None:
    """Rename ``staging`` to ``out_dir``, parking an existing ``out_dir`` and restoring it on failure."""
    had_old = out_dir.exists()
    if had_old:
        os.rename(out_dir, parked)
    try:
        os.rename(staging, out_dir)
    except BaseException:
        if had_old:
            os.rename(parked, out_dir)
        raise
