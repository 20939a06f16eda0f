"""Rewrite the golden receipt sets on purpose (``make golden``, i.e. ``python -m tests.golden.regenerate``).

Two sets, each a full run of the repository's ``scenarios/`` minus ``timings.json`` (the one
volatile file, which the golden test cannot compare):

- ``tests/golden/dry-run/``: ``run scenarios --dry-run`` with an empty environment;
- ``tests/golden/live/``: ``run scenarios --live --embedded``, against a freshly started
  reference server; also copied, with its ``timings.json``, to ``receipts/example/`` for reviewers.

The runs happen in-process with the repository root as working directory, so the scenario
file is named ``scenarios/release-gate.yaml`` wherever this script is started from. Review
the diff afterwards: every changed byte is a change in what the runner promises.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from runner.pipeline import RunConfig, run

__all__ = ["EXAMPLE", "GOLDEN", "REPO", "SETS", "VOLATILE", "produce", "read_set", "regenerate", "run_config"]

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
EXAMPLE = REPO / "receipts" / "example"
SETS = ("dry-run", "live")
# Top-level only: a step named `timings` has evidence at evidence/<scenario>/timings.json, which is compared.
VOLATILE = "timings.json"


def run_config(name: str, out: Path) -> RunConfig:
    """The exact run behind golden set ``name``: nothing from this machine's environment goes in."""
    if name not in SETS:
        raise ValueError(f"unknown golden set {name!r}; expected one of {SETS}")
    live = name == "live"
    return RunConfig(
        paths=(REPO / "scenarios",),
        mode=name,
        out=out,
        embedded=live,
        env={},
    )


def read_set(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run directory but ``timings.json``: POSIX name relative to it → bytes."""
    return {
        path.relative_to(run_dir).as_posix(): path.read_bytes()
        for path in sorted(run_dir.rglob("*"))
        if path.is_file() and path.relative_to(run_dir).as_posix() != VOLATILE
    }


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    # contextlib.chdir is 3.11+; the project supports 3.10.
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def produce(name: str) -> tuple[dict[str, bytes], bytes]:
    """Run golden set ``name`` into a temporary directory: (compared files, ``timings.json`` bytes)."""
    with tempfile.TemporaryDirectory(prefix="velikey-golden-") as tmp, _working_directory(REPO):
        out = Path(tmp) / name
        report = run(run_config(name, out))
        if report.exit_code != 0:
            # A golden set of a failing run would make the failure the expectation.
            raise RuntimeError(
                f"the {name} run ended with exit {report.exit_code} ({report.summary['result']}, "
                f"reasons {report.summary['reason_codes']}); refusing to write it as golden"
            )
        return read_set(out), (out / VOLATILE).read_bytes()


def _replace_dir(target: Path, files: Mapping[str, bytes]) -> None:
    """Make ``target`` hold exactly ``files`` (stale files from an earlier set are removed)."""
    if target.exists():
        shutil.rmtree(target)
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def regenerate(golden: Path = GOLDEN, example: Path = EXAMPLE) -> dict[str, tuple[dict[str, bytes], bytes]]:
    """Write both golden sets under ``golden`` and the example under ``example``.

    Returns each set with the ``timings.json`` of its run.

    The example keeps its ``timings.json`` (so ``velikey-e2e validate receipts/example`` passes)
    and is left untouched when nothing else in it changed, so a regeneration that changes no
    promise changes no file.
    """
    sets: dict[str, tuple[dict[str, bytes], bytes]] = {}
    for name in SETS:
        files, timings = produce(name)
        _replace_dir(golden / name, files)
        sets[name] = files, timings
        if name == "live" and not (example.is_dir() and read_set(example) == files and (example / VOLATILE).is_file()):
            _replace_dir(example, {**files, VOLATILE: timings})
    return sets


def main() -> int:
    sets = regenerate()
    for name, (files, _) in sets.items():
        print(f"{(GOLDEN / name).relative_to(REPO).as_posix()}/: {len(files)} files")
    print(f"{EXAMPLE.relative_to(REPO).as_posix()}/: the live set plus its {VOLATILE}")
    print("review the diff (git diff --stat tests/golden receipts/example) before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
