"""The ``--out`` directory: what may be replaced, who may write it, and what a killed run left behind.

The tool never deletes a file it did not write, so a directory is replaceable only if it is
new, empty, or a receipt set this tool wrote: every entry a known receipt name (regular
files, never symlinks) and the result receipt present. Everything is checked in preflight,
before a request is sent, so a bad ``--out`` is exit 2 instead of a traceback after the
tenant was touched.

Two runs on one ``--out`` are serialised by an ``flock`` on ``.DIR.lock`` beside it, held from
preflight to the end of the write. A second run fails at once rather than waiting: it has
sent nothing yet, and a gate whose two jobs share one output directory is misconfigured,
which a bounded wait would only hide. Under the lock, leftovers of a killed run are put
right: staging folders (``.DIR.tmp-*``) are removed, and a parked old set (``.DIR.old-*``,
from a kill between the writer's two renames) is restored if ``DIR`` is missing, else removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

__all__ = [
    "KNOWN_FILES",
    "RESULT_MARKER",
    "OutDirClaim",
    "OutDirError",
    "ReceiptWriteError",
    "check_out_dir",
    "claim_out_dir",
    "receipt_set_problem",
    "remove_receipt_set",
    "staging_name",
]

# Top-level receipt files, including those later releases write (junit, attestation).
KNOWN_FILES = frozenset(
    {
        "SUMMARY.json",
        "SUMMARY.md",
        "run-manifest.json",
        "python-sdk-e2e-result.json",
        "BLOCKER.json",
        "timings.json",
        "junit.xml",
        "attestation.json",
        "attestation.dsse.json",
    }
)
EVIDENCE = "evidence"
# Every set this tool writes has it; a folder without it is not ours, whatever else it holds.
RESULT_MARKER = "python-sdk-e2e-result.json"
_PROBE_BYTES = b"\0" * 4096


class ReceiptWriteError(OSError):
    """The receipt set cannot be written where it was asked to go; the message names the cause."""


class OutDirError(ReceiptWriteError):
    """``--out`` cannot be used; the message is one line naming what and where."""


def staging_name(out_dir: Path, kind: str, token: str | None = None) -> Path:
    """The hidden sibling ``.NAME.<kind>-TOKEN`` the writer stages (``tmp``) or parks (``old``) a set in."""
    return out_dir.parent / f".{out_dir.name}.{kind}-{token or secrets.token_hex(8)}"


def is_receipt_name(name: str) -> bool:
    """Whether ``name`` (relative, ``/``-separated) is a file a receipt set may hold."""
    parts = name.split("/")
    if len(parts) == 1:
        return name in KNOWN_FILES
    return (
        len(parts) == 3
        and all(parts)
        and parts[0] == EVIDENCE
        and parts[2].endswith(".json")
        and len(parts[2]) > len(".json")
        and not any(part.startswith(".") for part in parts)
    )


def _entries(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative name, lstat) of everything under ``root``, never following a symlink."""
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        info = entry.stat(follow_symlinks=False)
        yield entry.name, info
        if stat.S_ISDIR(info.st_mode):
            for name, sub in _entries(Path(entry.path)):
                yield f"{entry.name}/{name}", sub


def receipt_set_problem(directory: Path) -> str | None:
    """Why the existing ``directory`` is not a receipt set this tool may replace; None if it is or is empty."""
    try:
        entries = list(_entries(directory))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if not entries:
        return None
    for name, info in entries:
        is_dir = stat.S_ISDIR(info.st_mode)
        depth = name.count("/")
        if is_dir and (name == EVIDENCE or (depth == 1 and name.startswith(EVIDENCE + "/"))):
            if not name.rsplit("/", 1)[-1].startswith("."):
                continue
        if not is_dir and stat.S_ISREG(info.st_mode) and is_receipt_name(name):
            continue
        what = "a symlink" if stat.S_ISLNK(info.st_mode) else "not a receipt file"
        return f"holds {name!r} ({what}), so it is not a receipt set this tool wrote"
    if not any(name == RESULT_MARKER for name, _ in entries):
        return f"has no {RESULT_MARKER}, so it is not a receipt set this tool wrote"
    return None


def remove_receipt_set(directory: Path) -> bool:
    """Delete the receipt files and folders of ``directory``, then it; True if nothing else was left.

    Only names a receipt set may hold are unlinked, so a file someone added meanwhile
    survives (and with it the folder): the tool never deletes a file it did not write.
    """
    try:
        entries = list(_entries(directory))
    except OSError:
        return False
    for name, info in sorted(entries, key=lambda item: item[0].count("/"), reverse=True):
        path = directory / name
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(info.st_mode):
                path.rmdir()
            elif stat.S_ISREG(info.st_mode) and is_receipt_name(name):
                path.unlink()
    try:
        directory.rmdir()
    except OSError:
        return False
    return True


def _where_problem(out_dir: Path) -> str | None:
    """Problems of the path itself: the root, a symlink, a file, a file where a parent should be."""
    if out_dir == Path(out_dir.anchor) or not out_dir.name:
        return "is the filesystem root; give a directory for this run's receipts"
    if out_dir.is_symlink():
        return "is a symbolic link; give the real directory"
    if out_dir.exists() and not out_dir.is_dir():
        return "is a file, not a directory"
    ancestor = out_dir.parent
    while not os.path.lexists(ancestor) and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is not a directory"
    if out_dir.is_dir() and os.stat(out_dir).st_dev != os.stat(out_dir.parent).st_dev:
        return "is a mount point; the set is swapped in by renaming, so give a directory inside it"
    return None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _write_problem(out_dir: Path) -> str | None:
    """Probe-write a staging folder where the writer will stage one, and remove it again."""
    place = _nearest_existing(out_dir.parent)
    probe = place / staging_name(out_dir, "tmp").name
    try:
        probe.mkdir()
        try:
            with open(probe / "SUMMARY.json", "xb") as handle:
                handle.write(_PROBE_BYTES)
                handle.flush()
                os.fsync(handle.fileno())
        finally:
            with contextlib.suppress(OSError):
                (probe / "SUMMARY.json").unlink()
            probe.rmdir()
    except OSError as exc:
        return f"cannot be written: {place} refuses a new folder ({exc.strerror or exc})"
    if out_dir.is_dir():
        for directory in [out_dir, *(p for p in out_dir.rglob("*") if p.is_dir() and not p.is_symlink())]:
            if not os.access(directory, os.W_OK | os.X_OK):
                return f"cannot be replaced: {directory} is read-only"
    return None


def _problem(out_dir: Path, *, content: bool = True) -> str | None:
    problem = _where_problem(out_dir) or _write_problem(out_dir)
    if problem is None and content and out_dir.is_dir():
        found = receipt_set_problem(out_dir)
        if found is not None:
            problem = f"{found}; the tool never deletes files it did not write: choose a new or empty directory"
    return problem


def check_out_dir(path: Path) -> str | None:
    """The one-line problem with ``--out path`` (naming what and where), or None if a run may write it."""
    out_dir = Path(os.path.abspath(path))
    problem = _problem(out_dir)
    return None if problem is None else f"--out {path} {problem}"


class OutDirClaim:
    """The ``--out`` lock of one run; release it (or leave the ``with`` block) after the write."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Drop the lock; the lock file stays (unlinking it would race with the next locker)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> OutDirClaim:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _lock(out_dir: Path, shown: Path) -> int:
    lock = out_dir.parent / f".{out_dir.name}.lock"
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutDirError(f"--out {shown} cannot be locked: {lock}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise OutDirError(
            f"--out {shown} is in use by another run (lock {lock}); wait for it or choose another --out"
        ) from None
    except OSError as exc:
        os.close(fd)
        raise OutDirError(f"--out {shown} cannot be locked: {lock}: {exc.strerror or exc}") from None
    return fd


def _recover(out_dir: Path) -> None:
    """Remove a killed run's staging folders; restore its parked old set if ``out_dir`` is gone."""
    prefix = f".{out_dir.name}."
    leftovers: dict[str, list[Path]] = {"tmp": [], "old": []}
    for entry in os.scandir(out_dir.parent):
        if entry.name.startswith(prefix) and entry.is_dir(follow_symlinks=False):
            kind = entry.name[len(prefix):].split("-", 1)[0]
            if kind in leftovers and entry.name[len(prefix) + len(kind):].startswith("-"):
                leftovers[kind].append(Path(entry.path))
    for staging in leftovers["tmp"]:
        remove_receipt_set(staging)
    parked = sorted(leftovers["old"], key=lambda p: p.stat().st_mtime_ns, reverse=True)
    if parked and not os.path.lexists(out_dir) and receipt_set_problem(parked[0]) is None:
        os.rename(parked.pop(0), out_dir)
    for old in parked:
        remove_receipt_set(old)


def claim_out_dir(path: Path) -> OutDirClaim:
    """Check ``--out path``, lock it, put a killed run's leftovers right, and check its content.

    Raises ``OutDirError`` (one line) for any problem, with the lock released. The caller
    holds the claim until the receipt set is written: ``write_receipt_set(..., claim=claim)``.
    """
    out_dir = Path(os.path.abspath(path))
    problem = _problem(out_dir, content=False)
    if problem is not None:
        raise OutDirError(f"--out {path} {problem}")
    claim = OutDirClaim(out_dir, _lock(out_dir, path))
    try:
        _recover(out_dir)
        problem = _problem(out_dir)
    except OSError as exc:
        problem = f"cannot be prepared: {exc.strerror or exc}"
    if problem is not None:
        claim.release()
        raise OutDirError(f"--out {path} {problem}")
    return claim
