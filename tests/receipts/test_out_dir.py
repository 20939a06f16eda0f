"""``--out``: what preflight refuses, the lock between runs, and what a killed run leaves behind."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner.receipts import outdir
from runner.receipts.outdir import OutDirError, check_out_dir, claim_out_dir, remove_receipt_set
from runner.receipts.write import ReceiptWriteError, write_receipt_set

SET = {"SUMMARY.json": b"{}\n", "python-sdk-e2e-result.json": b"{}\n", "evidence/s/a.json": b"{}\n"}
NEW = {"SUMMARY.json": b"new\n", "python-sdk-e2e-result.json": b"new\n"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _beside(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


@pytest.mark.parametrize("make", ["new", "nested-new", "empty", "previous-set"])
def test_usable_out_dirs(tmp_path: Path, make: str) -> None:
    out = tmp_path / "a" / "b" / "run" if make == "nested-new" else tmp_path / "run"
    if make == "empty":
        out.mkdir()
    elif make == "previous-set":
        write_receipt_set(out, SET)
    before = _beside(tmp_path)
    assert check_out_dir(out) is None
    assert _beside(tmp_path) == before  # the probe left nothing and created no parent


def test_the_root_is_refused() -> None:
    problem = check_out_dir(Path("/"))
    assert problem is not None and problem.startswith("--out / ") and "root" in problem


def test_a_symlink_is_refused_even_to_a_receipt_set(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_receipt_set(real, SET)
    (tmp_path / "link").symlink_to(real)
    problem = check_out_dir(tmp_path / "link")
    assert problem == f"--out {tmp_path / 'link'} is a symbolic link; give the real directory"


def test_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run").write_text("x")
    assert check_out_dir(tmp_path / "run") == f"--out {tmp_path / 'run'} is a file, not a directory"


def test_a_file_as_parent_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    problem = check_out_dir(tmp_path / "file" / "deeper" / "run")
    assert problem is not None and f"{tmp_path / 'file'} is not a directory" in problem


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_parent_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        problem = check_out_dir(parent / "run")
    finally:
        parent.chmod(0o755)
    assert problem is not None and "cannot be written" in problem and str(parent) in problem


@pytest.mark.parametrize("failing", ["mkdir", "fsync"])
def test_an_unwritable_or_full_place_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """Read-only filesystems and full disks, simulated: root bypasses permission bits."""
    code = errno.EROFS if failing == "mkdir" else errno.ENOSPC

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(outdir.Path, "mkdir", refuse) if failing == "mkdir" else monkeypatch.setattr(
        outdir.os, "fsync", refuse)
    problem = check_out_dir(tmp_path / "run")
    reason = os.strerror(code)
    assert problem == f"--out {tmp_path / 'run'} cannot be written: {tmp_path} refuses a new folder ({reason})"
    monkeypatch.undo()
    assert _beside(tmp_path) == []  # even a failed probe is cleaned up


@pytest.mark.parametrize(
    "content",
    [
        {"precious.txt": "keep me"},
        {"SUMMARY.json": "{}", "python-sdk-e2e-result.json": "{}", "photos/cat.jpg": "meow"},  # the data-loss case
        {"SUMMARY.md": "# my notes"},  # only known names, but no result receipt: not ours
        {"python-sdk-e2e-result.json": "{}", "evidence/s/a.json": "{}", "evidence/s/notes.txt": "x"},
        {"python-sdk-e2e-result.json": "{}", "evidence/a.json": "{}"},
        {"python-sdk-e2e-result.json": "{}", ".git/config": "x"},
    ],
)
def test_a_folder_that_is_not_a_receipt_set_is_refused_and_kept(tmp_path: Path, content: dict[str, str]) -> None:
    out = tmp_path / "home"
    for name, text in content.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    before = _tree(out)
    problem = check_out_dir(out)
    assert problem is not None and "the tool never deletes files it did not write" in problem
    with pytest.raises(OutDirError, match="not a receipt set|has no python-sdk-e2e-result.json"):
        write_receipt_set(out, NEW)
    assert _tree(out) == before


@pytest.mark.parametrize("where", ["SUMMARY.json", "evidence", "evidence/s/a.json"])
def test_a_receipt_set_holding_a_symlink_is_refused(tmp_path: Path, where: str) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, SET)
    target = out / where
    elsewhere = tmp_path / "elsewhere"
    target.rename(elsewhere)
    target.symlink_to(elsewhere)
    problem = check_out_dir(out)
    assert problem is not None and "a symlink" in problem
    with pytest.raises(OutDirError):
        write_receipt_set(out, NEW)
    assert elsewhere.exists()


def test_a_second_run_on_the_same_out_is_refused_while_the_first_holds_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with claim_out_dir(out):
        with pytest.raises(OutDirError, match=f"--out {out} is in use by another run"):
            claim_out_dir(out)
        with pytest.raises(OutDirError, match="in use by another run"):
            write_receipt_set(out, NEW)
        assert not out.exists()
    write_receipt_set(out, NEW)
    assert _tree(out) == NEW


def test_the_lock_holds_against_another_process(tmp_path: Path) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from runner.receipts.outdir import claim_out_dir
            claim = claim_out_dir(Path({str(out)!r}))
            print("held", flush=True)
            sys.stdin.readline()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(OutDirError, match="in use by another run"):
            claim_out_dir(out)
    finally:
        holder.communicate("\n", timeout=30)
    claim_out_dir(out).release()


def test_a_claim_writes_with_the_preflight_lock(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with claim_out_dir(out) as claim:
        write_receipt_set(out, SET, claim=claim)
        write_receipt_set(out, NEW, claim=claim)
    assert _tree(out) == NEW
    assert _beside(tmp_path) == [".run.lock", "run"]


def test_leftover_staging_folders_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, SET)
    for token in ("aaaa", "bbbb"):
        (tmp_path / f".run.tmp-{token}" / "evidence" / "s").mkdir(parents=True)
        (tmp_path / f".run.tmp-{token}" / "evidence" / "s" / "a.json").write_text("{}")
        (tmp_path / f".run.tmp-{token}" / "SUMMARY.json").write_text("{}")
    (tmp_path / ".other.tmp-cccc").mkdir()  # another --out's leftovers are not this run's business
    claim_out_dir(out).release()
    assert _beside(tmp_path) == [".other.tmp-cccc", ".run.lock", "run"]
    assert _tree(out) == SET


def test_a_parked_set_is_restored_when_the_out_dir_is_missing(tmp_path: Path) -> None:
    parked = tmp_path / ".run.old-aaaa"
    write_receipt_set(parked, SET)
    for lock in tmp_path.glob(".*.lock"):
        lock.unlink()
    claim_out_dir(tmp_path / "run").release()
    assert _tree(tmp_path / "run") == SET
    assert _beside(tmp_path) == [".run.lock", "run"]


def test_a_parked_set_is_removed_when_the_out_dir_exists(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, NEW)
    write_receipt_set(tmp_path / ".run.old-aaaa", SET)
    claim_out_dir(out).release()
    assert _tree(out) == NEW
    assert sorted(p for p in _beside(tmp_path) if not p.endswith(".lock")) == ["run"]


def test_leftovers_holding_foreign_files_keep_them(tmp_path: Path) -> None:
    out = tmp_path / "run"
    write_receipt_set(out, NEW)
    staging = tmp_path / ".run.tmp-aaaa"
    staging.mkdir()
    (staging / "SUMMARY.json").write_text("{}")
    (staging / "yours.txt").write_text("not ours")
    claim_out_dir(out).release()
    assert _tree(staging) == {"yours.txt": b"not ours"}


def test_a_kill_between_the_two_renames_is_put_right_by_the_next_run(tmp_path: Path) -> None:
    """A real process dies right after parking the old set: no out dir, the old set hidden."""
    out = tmp_path / "run"
    write_receipt_set(out, SET)
    script = textwrap.dedent(f"""
        import os
        from pathlib import Path
        from runner.receipts import write
        real = os.rename
        def rename(src, dst):
            real(src, dst)
            if ".old-" in str(dst):
                os._exit(9)
        write.os.rename = rename
        write.write_receipt_set(Path({str(out)!r}), {NEW!r})
    """)
    killed = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert killed.returncode == 9
    assert not out.exists()
    assert any(name.startswith(".run.old-") for name in _beside(tmp_path))
    assert check_out_dir(out) is None  # a missing out dir is fine; the claim restores the old set
    with claim_out_dir(out) as claim:
        assert _tree(out) == SET
        write_receipt_set(out, NEW, claim=claim)
    assert _tree(out) == NEW
    assert _beside(tmp_path) == [".run.lock", "run"]


def test_remove_receipt_set_deletes_only_receipt_names(tmp_path: Path) -> None:
    victim = tmp_path / "set"
    write_receipt_set(victim, SET)
    (victim / "evidence" / "s" / "b.txt").write_text("foreign")
    assert remove_receipt_set(victim) is False
    assert _tree(victim) == {"evidence/s/b.txt": b"foreign"}
    (victim / "evidence" / "s" / "b.txt").unlink()
    assert remove_receipt_set(victim) is True
    assert not victim.exists()


def test_a_write_failure_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    with claim_out_dir(out) as claim:
        def full(path: Path, data: bytes) -> None:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr("runner.receipts.write._write_new_file", full)
        with pytest.raises(ReceiptWriteError) as caught:
            write_receipt_set(out, NEW, claim=claim)
    assert str(caught.value) == f"cannot write the receipt set {out}: {os.strerror(errno.ENOSPC)}"
    assert "\n" not in str(caught.value)
