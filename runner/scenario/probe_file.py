"""Where a probe's ``file:`` payload may come from: a regular file inside the scenario's own folder.

A scenario from a pull request must not be able to send ``/etc/shadow`` or ``~/.ssh`` to a
payload URL, by ``..``, an absolute path or a symlink. One rule serves lint and the engine:
the loader reports a file that is missing or leaves the folder (so ``lint`` and a run exit 2
before anything is sent), and the engine checks again when the probe runs, because the
folder may have changed in between. Messages name the file as written, never an absolute path.
"""

from __future__ import annotations

import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import ScenarioError
from .model import MAX_PROBE_BYTES, ProbeStep, Scenario

__all__ = ["ProbeFileError", "confine", "probe_file_errors", "shape_problem"]


class ProbeFileError(ValueError):
    """A probe file that may not or cannot be read; the message is safe to show and record."""


def shape_problem(name: str) -> str | None:
    """What is wrong with the path as written (empty, absolute, ``..``), before any filesystem look."""
    if not name or "\x00" in name:
        return "probe file must be a non-empty path"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        return f"probe file {name!r} must be relative to the scenario file, not absolute"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return f"probe file {name!r} must not contain a '..' segment"
    return None


def confine(name: str, folder: Path) -> Path:
    """The real path of the regular file ``name`` inside ``folder``; ``ProbeFileError`` otherwise."""
    problem = shape_problem(name)
    if problem:
        raise ProbeFileError(problem)
    try:
        base = folder.resolve(strict=True)
        target = (base / name).resolve(strict=True)
        info = target.stat()
    except FileNotFoundError:
        raise ProbeFileError(f"probe file {name!r} does not exist in the scenario's folder") from None
    # RuntimeError: Python < 3.13 reports a symlink loop that way, not as OSError.
    except (OSError, RuntimeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "symlink loop"
        raise ProbeFileError(f"probe file {name!r} cannot be resolved: {why}") from None
    if not target.is_relative_to(base):
        raise ProbeFileError(f"probe file {name!r} resolves outside the scenario's folder")
    if not stat.S_ISREG(info.st_mode):
        raise ProbeFileError(f"probe file {name!r} is not a regular file")
    if info.st_size > MAX_PROBE_BYTES:
        raise ProbeFileError(f"probe file {name!r} is larger than the largest probe ({MAX_PROBE_BYTES} bytes)")
    return target


def probe_file_errors(scenario: Scenario, folder: Path) -> list[ScenarioError]:
    """One located error per probe step whose file cannot be sent from ``folder``."""
    errors = []
    for index, step in enumerate(scenario.steps):
        if isinstance(step, ProbeStep) and step.probe.file is not None:
            try:
                confine(step.probe.file, folder)
            except ProbeFileError as exc:
                where = scenario.location("steps", index, "probe", "file")
                file, line = (where.file, where.line) if where is not None else ("<scenario>", None)
                errors.append(ScenarioError(file, line, f"steps[{index}].probe.file", str(exc)))
    return errors
