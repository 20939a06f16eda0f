"""Atomic writes: a receipt set lands whole or not at all."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.receipts import write as write_mod
from runner.receipts.outdir import claim_out_dir
from runner.receipts.write import ReceiptWriteError, StagedSet, atomic_write_bytes, write_receipt_set

FILES = {"SUMMARY.json": b"{}\n", "SUMMARY.md": b"# x\n", "evidence/s/a.json": b"{}\n", "evidence/s/b.json": b"[]\n",
         "python-sdk-e2e-result.json": b"{}\n"}
OLD = {"SUMMARY.json": b"old\n", "python-sdk-e2e-result.json": b"old\n"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _siblings(parent: Path) -> list[str]:
    """The entries beside a run directory, less its lock file (which stays, by design)."""
    return sorted(p.name for p in parent.iterdir() if not p.name.endswith(".lock"))


def test_writes_a_new_set(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "run"
    write_receipt_set(out, FILES)
    assert _tree(out) == FILES
    assert _siblings(out.parent) == ["run"]


def test_replaces_a_previous_set(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, {**OLD, "evidence/s/old-only.json": b"x"})
    write_receipt_set(out, FILES)
    assert _tree(out) == FILES
    assert _siblings(tmp_path) == ["run"]


def test_replaces_an_empty_directory(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    write_receipt_set(out, FILES)
    assert _tree(out) == FILES


def test_refuses_to_replace_a_directory_that_is_not_a_receipt_set(tmp_path: Path) -> None:
    out = tmp_path / "home"
    out.mkdir()
    (out / "precious.txt").write_bytes(b"keep me")
    with pytest.raises(ReceiptWriteError, match="not a receipt set"):
        write_receipt_set(out, FILES)
    assert _tree(out) == {"precious.txt": b"keep me"}
    assert _siblings(tmp_path) == ["home"]


def test_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.write_bytes(b"x")
    with pytest.raises(ReceiptWriteError):
        write_receipt_set(out, FILES)
    assert out.read_bytes() == b"x"


@pytest.mark.parametrize("name", ["/etc/passwd", "../escape", "a/../b", "", "a//b", "./a", "a\\b", "notes.txt",
                                  "evidence/a.json", "evidence/s/.hidden.json", "evidence/s/t/u.json", ".", "..",
                                  "evidence//s.json", "evidence/s/x.json/", "./evidence/s/x.json", "evidence/./x.json",
                                  "/evidence/s/x.json", "SUMMARY.json/", "evidence/s/..json", "evidence/../x.json"])
def test_refuses_unsafe_or_unknown_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        write_receipt_set(tmp_path / "run", {**FILES, name: b"x"})
    assert _siblings(tmp_path) == []


@pytest.mark.parametrize("exc_type", [OSError, KeyboardInterrupt])
def test_failure_mid_write_leaves_old_set_and_no_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc_type: type[BaseException]
) -> None:
    out = tmp_path / "run"
    old = OLD
    write_receipt_set(out, old)
    real = write_mod._write_new_file
    calls = []

    def flaky(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise exc_type("disk on fire")
        real(path, data)

    monkeypatch.setattr(write_mod, "_write_new_file", flaky)
    with pytest.raises(exc_type):
        write_receipt_set(out, FILES)
    assert len(calls) == 3
    assert _tree(out) == old
    assert _siblings(tmp_path) == ["run"]


def _record_disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The writer's writes, fsyncs and renames, in order, each with the path it touched (then done for real)."""
    events: list[tuple[str, str]] = []
    real_fsync, real_rename, real_write = os.fsync, os.rename, write_mod._write_new_file

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        events.append(("rename", str(src)))
        real_rename(src, dst)

    def write(path: Path, data: bytes) -> None:
        events.append(("write", str(path)))
        real_write(path, data)

    monkeypatch.setattr(write_mod.os, "fsync", fsync)
    monkeypatch.setattr(write_mod.os, "rename", rename)
    monkeypatch.setattr(write_mod, "_write_new_file", write)
    return events


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors through /proc")
def test_without_syncfs_every_file_and_directory_is_synced_once_after_all_are_written_and_before_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_mod, "_syncfs", lambda: None)  # not Linux, or a kernel before 5.8
    events = _record_disk_calls(monkeypatch)
    out = tmp_path / "run"
    write_receipt_set(out, FILES)
    events = events[[kind for kind, _ in events].index("write"):]  # from staging on (the claim syncs its lock)
    kinds = [kind for kind, _ in events]
    swap = kinds.index("rename")
    assert kinds[: len(FILES)] == ["write"] * len(FILES)  # all written before any is synced
    synced = [path for kind, path in events[:swap] if kind == "fsync"]
    staged = sorted(path for kind, path in events if kind == "write")
    assert sorted(synced[: len(FILES)]) == staged and len(synced) == len(set(synced))  # each file, then dirs once
    staging = Path(staged[0]).parent
    # Every directory that holds a new entry, the intermediate evidence/ included (it holds s/).
    assert sorted(synced[len(FILES):]) == sorted(str(staging / d) for d in ("", "evidence", "evidence/s"))
    assert _tree(out) == FILES


def test_failure_mid_write_without_previous_set_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError("no space left")

    monkeypatch.setattr(write_mod, "_syncfs", lambda: None)
    out = tmp_path / "run"
    with claim_out_dir(out) as claim:  # preflight's probe passes; the disk fills up during the write
        monkeypatch.setattr(write_mod.os, "fsync", broken_fsync)
        with pytest.raises(ReceiptWriteError, match=f"cannot write the receipt set {out}: no space"):
            write_receipt_set(out, FILES, claim=claim)
    assert _siblings(tmp_path) == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names descriptors through /proc")
def test_with_syncfs_the_set_is_flushed_in_one_call_after_every_write_and_before_the_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_syncfs = write_mod._syncfs()
    events = _record_disk_calls(monkeypatch)

    def syncfs(fd: int) -> int:
        events.append(("syncfs", os.readlink(f"/proc/self/fd/{fd}")))
        return real_syncfs(fd) if real_syncfs is not None else 0

    monkeypatch.setattr(write_mod, "_syncfs", lambda: syncfs)
    out = tmp_path / "run"
    write_receipt_set(out, FILES)
    events = events[[kind for kind, _ in events].index("write"):]
    kinds = [kind for kind, _ in events]
    staging = Path(next(path for kind, path in events if kind == "write")).parent
    # Every file written, then the filesystem flushed once (through the staging folder), then the swap, and
    # only then the parent's fsync that makes the swap itself durable: no file is fsynced one by one.
    assert kinds == ["write"] * len(FILES) + ["syncfs", "rename", "fsync"]
    assert events[len(FILES)] == ("syncfs", str(staging))
    assert events[-1] == ("fsync", str(tmp_path))
    assert _tree(out) == FILES


@pytest.mark.parametrize("error", [errno.EIO, errno.ENOSYS, errno.EPERM])
def test_a_failing_syncfs_falls_back_to_an_fsync_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      error: int) -> None:
    # A sandbox refusing the call, or an I/O error that may be another program's file on the filesystem:
    # the set's own files are then fsynced one by one, and those fsyncs decide (a failing one fails the set).
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    out = tmp_path / "run"
    write_receipt_set(out, OLD)
    monkeypatch.setattr(write_mod, "_syncfs", lambda: lambda fd: error)
    monkeypatch.setattr(write_mod.os, "fsync", fsync)
    write_receipt_set(out, FILES)
    assert _tree(out) == FILES and len(synced) >= len(FILES)

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    with claim_out_dir(out) as claim:  # the lock's own probe write passes; the set's fsyncs then fail
        monkeypatch.setattr(write_mod.os, "fsync", broken_fsync)
        with pytest.raises(ReceiptWriteError, match=f"cannot write the receipt set {out}: {os.strerror(errno.EIO)}"):
            write_receipt_set(out, OLD, claim=claim)
        monkeypatch.undo()
    assert _tree(out) == FILES and _siblings(tmp_path) == ["run"]


def test_failed_swap_restores_the_old_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    old = OLD
    write_receipt_set(out, old)
    real_rename = os.rename

    def rename(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        if Path(src).name.startswith(".run.tmp-"):
            raise OSError("rename failed")
        real_rename(src, dst)

    monkeypatch.setattr(write_mod.os, "rename", rename)
    with pytest.raises(OSError, match="rename failed"):
        write_receipt_set(out, FILES)
    assert _tree(out) == old
    assert _siblings(tmp_path) == ["run"]


def test_a_staged_set_is_invisible_until_its_commit(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, OLD)
    with claim_out_dir(out) as claim, StagedSet(out, claim) as staged:
        digests = {name: staged.write(name, [data[:1], data[1:]]) for name, data in FILES.items()}
        assert _tree(out) == OLD  # every file is on disk in the staging directory, none at out
        assert staged.digests == digests == {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}
        staged.commit()
    assert _tree(out) == FILES
    assert _siblings(tmp_path) == ["run"]


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, ReceiptWriteError])
def test_an_interrupt_after_staging_leaves_the_previous_set(tmp_path: Path, exc_type: type[BaseException]) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, OLD)
    with claim_out_dir(out) as claim, pytest.raises(exc_type), StagedSet(out, claim) as staged:
        for name, data in FILES.items():
            staged.write(name, [data])
        raise exc_type("stopped before the commit")
    assert _tree(out) == OLD
    assert _siblings(tmp_path) == ["run"]


def test_a_process_killed_after_staging_leaves_the_previous_set(tmp_path: Path) -> None:
    """A real process dies with the whole set staged but not committed: the old set stands, and the next
    claim removes the staging directory."""
    out = tmp_path / "run"
    write_receipt_set(out, OLD)
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from runner.receipts.outdir import claim_out_dir
        from runner.receipts.write import StagedSet
        out = Path({str(out)!r})
        with claim_out_dir(out) as claim, StagedSet(out, claim) as staged:
            for name, data in {FILES!r}.items():
                staged.write(name, [data])
            os._exit(9)
    """)
    killed = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert killed.returncode == 9
    assert _tree(out) == OLD
    assert any(name.startswith(".run.tmp-") for name in _siblings(tmp_path))
    with claim_out_dir(out):
        assert _siblings(tmp_path) == ["run"]
    assert _tree(out) == OLD


def test_a_staged_set_needs_the_result_receipt_and_refuses_a_name_twice(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with claim_out_dir(out) as claim, StagedSet(out, claim) as staged:
        staged.write("SUMMARY.json", [b"{}\n"])
        with pytest.raises(ValueError, match="already"):
            staged.write("SUMMARY.json", [b"{}\n"])
        with pytest.raises(ValueError, match="python-sdk-e2e-result.json"):
            staged.commit()
    assert _siblings(tmp_path) == []


def test_atomic_write_bytes(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert _siblings(target.parent) == ["file.json"]


def test_atomic_write_bytes_failure_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("replace failed")

    monkeypatch.setattr(write_mod.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert _siblings(tmp_path) == ["file.json"]


@pytest.mark.parametrize("sizes", [[], [0], [5], [3] * 40_000, [70_000], [10, 70_000, 10], [65_535, 1, 65_536, 2]])
def test_a_staged_file_holds_its_chunks_exactly_even_through_short_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sizes: list[int]) -> None:
    """Small chunks are gathered, large ones written as they come; a write that takes less is resumed."""
    chunks = [bytes([n % 251]) * size for n, size in enumerate(sizes)]
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7_001])))
    with claim_out_dir(tmp_path / "run") as claim, StagedSet(tmp_path / "run", claim) as staged:
        digest = staged.write("SUMMARY.md", iter(chunks))
        staged.write("python-sdk-e2e-result.json", [b"{}\n"])
        with pytest.raises(ValueError, match="already in the staged set"):
            staged.write("SUMMARY.md", [b"again"])
        staged.commit()
    assert (tmp_path / "run" / "SUMMARY.md").read_bytes() == b"".join(chunks)
    assert digest == hashlib.sha256(b"".join(chunks)).hexdigest()
    with pytest.raises(FileExistsError):  # the file must be new: a leftover is never appended to or truncated
        write_mod._write_new_file(tmp_path / "run" / "SUMMARY.md", [b"x"])
    assert (tmp_path / "run" / "SUMMARY.md").read_bytes() == b"".join(chunks)
