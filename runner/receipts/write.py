"""Atomic writing of one file, and of a whole receipt set.

A reviewer or gate must never see half a receipt set: an interrupted run leaves either the
previous directory (or none) or a complete, valid set. Files are therefore written into a
hidden sibling staging directory, fsynced, and the directory is swapped into place with
renames on the same filesystem. The swap is two renames (old aside, new in); an
interruption between them leaves no ``out_dir`` and the old set parked as a hidden sibling,
which the next run restores (``runner.receipts.outdir``).

Replacing a directory deletes it, so ``write_receipt_set`` only replaces a directory that
is empty or holds a receipt set this tool wrote, only writes names such a set may hold, and
deletes only those names: ``--out ~`` must not delete a home directory.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from runner.receipts.outdir import (
    RESULT_MARKER,
    OutDirClaim,
    ReceiptWriteError,
    claim_out_dir,
    is_receipt_name,
    receipt_set_problem,
    remove_receipt_set,
    staging_name,
)

__all__ = ["ReceiptWriteError", "atomic_write_bytes", "write_receipt_set"]


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
    """Create ``path`` (it must not exist) and write ``data``; the caller fsyncs (``_fsync_file``)."""
    with open(path, "xb") as handle:
        handle.write(data)


def _fsync_file(path: Path) -> None:
    """Persist a file written earlier: fsync applies to the file, whichever descriptor asks."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file in the same directory, then rename."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(8)}"
    try:
        _write_new_file(tmp, data)
        _fsync_file(tmp)
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
    if not is_receipt_name(name):
        raise ValueError(f"{name!r} is not a receipt file name (a later run could not replace the set)")
    return parts


def write_receipt_set(out_dir: Path, files: Mapping[str, bytes], claim: OutDirClaim | None = None) -> None:
    """Write ``files`` (relative path → bytes) as ``out_dir``, all or nothing.

    ``claim`` is the run's lock on ``out_dir`` (``claim_out_dir``, taken in preflight);
    without one the writer takes it for the duration of the write. On any exception,
    including KeyboardInterrupt, the staging directory is removed and ``out_dir`` is as it
    was. Operating-system failures are raised as ``ReceiptWriteError`` naming the cause.
    """
    out_dir = Path(os.path.abspath(out_dir))
    plan = {name: _relative_parts(name) for name in files}
    if RESULT_MARKER not in files:
        raise ValueError(f"a receipt set needs {RESULT_MARKER}")
    if claim is None:
        with claim_out_dir(out_dir) as own:
            _write_set(out_dir, files, plan, own)
        return
    _write_set(out_dir, files, plan, claim)


def _write_set(out_dir: Path, files: Mapping[str, bytes], plan: Mapping[str, tuple[str, ...]],
               claim: OutDirClaim) -> None:
    if claim.path != out_dir or not claim.held:
        raise ValueError(f"the claim is for {claim.path}, held={claim.held}, not for {out_dir}")
    try:
        _stage_and_swap(out_dir, files, plan)
    except ReceiptWriteError:
        raise
    except OSError as exc:
        raise ReceiptWriteError(f"cannot write the receipt set {out_dir}: {exc.strerror or exc}") from exc


def _stage_and_swap(out_dir: Path, files: Mapping[str, bytes], plan: Mapping[str, tuple[str, ...]]) -> None:
    # Checked again under the lock: the directory may have changed since preflight.
    if os.path.lexists(out_dir):
        problem = "is not a directory" if out_dir.is_symlink() or not out_dir.is_dir() else receipt_set_problem(out_dir)
        if problem is not None:
            raise ReceiptWriteError(f"{out_dir} {problem}; refusing to replace it")
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)

    token = secrets.token_hex(8)
    staging, parked = staging_name(out_dir, "tmp", token), staging_name(out_dir, "old", token)
    staging.mkdir()
    try:
        directories = {staging}
        written = []
        for name in sorted(files):
            target = staging.joinpath(*plan[name])
            target.parent.mkdir(parents=True, exist_ok=True)
            directories.add(target.parent)
            _write_new_file(target, files[name])
            written.append(target)
        # Durability batched: every file is written before any is synced, so the kernel writes them
        # back together instead of one flush per file; all are synced, then each directory once,
        # and only then is the set renamed into place.
        for target in written:
            _fsync_file(target)
        for directory in sorted(directories, key=lambda p: len(p.parts), reverse=True):
            _fsync_dir(directory)
        _swap_in(staging, out_dir, parked)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(parent)
    remove_receipt_set(parked)


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
