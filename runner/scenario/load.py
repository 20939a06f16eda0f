"""Load scenario files strictly: every problem becomes a ``file:line: field: message`` error.

The loader reads only the scenario files it is given, runs no code, and never raises for
bad input. A ``probe.file`` must name a regular file inside the scenario's folder: that is
checked here (without reading it) and again by the engine when the probe runs.

A file has two names here, neither absolute, and this module is the one place both are made.
``display_path`` names it in errors, in order of preference:

1. relative to the current directory when the file is under it (``scenarios/gate.yaml``);
2. as given, when it was given as a relative path outside it (``../other/gate.yaml``);
3. otherwise (an absolute path outside the current directory) by the directory argument's
   name plus the file's path inside it, or for a file argument its parent directory's
   name plus its name (``scenarios/gate.yaml``).

Receipts must not depend on the working directory at all (``run /abs/scenarios`` and
``cd / && run /abs/scenarios`` give the same receipts), so ``receipt_name`` is always
``<folder argument's name>/<path inside it>``, or ``<parent>/<file>`` for a file argument.
Either way the usual ``run scenarios/`` from the repository root and ``run /abs/repo/scenarios``
from elsewhere both name ``scenarios/release-gate.yaml``; the SHA-256 of the raw bytes pins
the content whatever the name.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Final

from pydantic import ValidationError

from runner._resources import packaged_receipt_name

from .check import check_scenario
from .errors import ScenarioError, SourceLocation, format_field
from .model import Scenario
from .probe_file import probe_file_errors
from .strict_yaml import StrictYAMLError, compose_lines
from .validation import attach_sources, validation_errors

__all__ = [
    "MAX_FILE_BYTES",
    "LoadResult",
    "Planned",
    "ScenarioFile",
    "display_path",
    "load_scenarios",
    "load_source",
    "receipt_name",
]

MAX_FILE_BYTES: Final = 1024 * 1024
SUFFIXES: Final = (".yaml", ".yml")


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file: its display path, SHA-256 of its bytes, where it is, and its receipt name.

    ``location`` is the absolute filesystem path, for resolving ``probe.file`` against the
    scenario's folder; it never goes into a receipt (``name`` does).
    """

    path: str
    sha256: str
    location: Path = field(compare=False)
    name: str = field(default="", compare=False)


@dataclass(frozen=True)
class Planned:
    """A valid scenario and the file it came from: what every later stage runs and reports."""

    scenario: Scenario
    source: ScenarioFile

    @property
    def file(self) -> str:
        """The file as receipts name it."""
        return self.source.name

    @property
    def folder(self) -> Path:
        """The scenario's folder on disk, which confines its ``probe.file``."""
        return self.source.location.parent


@dataclass(frozen=True)
class LoadResult:
    """Valid scenarios in file order, every error found, and the files that were read."""

    scenarios: tuple[Scenario, ...]
    errors: tuple[ScenarioError, ...]
    files: tuple[ScenarioFile, ...]

    def planned(self) -> tuple[Planned, ...]:
        """Each valid scenario with its file, in load order."""
        files = {f.path: f for f in self.files}
        return tuple(Planned(s, files[s.source.file]) for s in self.scenarios if s.source is not None)


@dataclass(frozen=True)
class _Target:
    path: Path
    display: str


def _posix(path: Path | str) -> str:
    return PurePosixPath(*Path(path).parts).as_posix() if str(path) else "."


def _absolute(path: Path, cwd: Path) -> Path:
    return Path(os.path.normpath(cwd / path))


def display_path(path: Path, root: Path | None = None, cwd: Path | None = None) -> str:
    """The non-absolute POSIX name a file has in errors and receipts (see module docstring).

    ``path`` is as the user gave it (or as found in the directory argument ``root``);
    relative paths are taken relative to ``cwd`` (default: the current directory).
    """
    here = Path(os.path.normpath((cwd or Path.cwd()).absolute()))
    absolute = _absolute(path, here)
    try:
        return absolute.relative_to(here).as_posix()
    except ValueError:
        pass
    if not path.is_absolute():
        return Path(os.path.normpath(path)).as_posix()
    if root is not None:
        base = _absolute(root, here)
        try:
            inner = absolute.relative_to(base).as_posix()
        except ValueError:
            inner = absolute.name
        return f"{base.name}/{inner}" if base.name else inner
    parent = absolute.parent.name
    return f"{parent}/{absolute.name}" if parent else absolute.name


def receipt_name(location: Path, arguments: Sequence[Path | str], cwd: Path | None = None) -> str:
    """The name receipts give the file at absolute ``location`` (see module docstring)."""
    if (packaged := packaged_receipt_name(location)) is not None:
        return packaged
    here = Path(os.path.normpath((cwd or Path.cwd()).absolute()))
    for argument in arguments:
        root = _absolute(Path(argument), here)
        if root.is_dir() and location.is_relative_to(root):
            return f"{root.name}/{location.relative_to(root).as_posix()}"
    return f"{location.parent.name}/{location.name}"


def _is_scenario_file(path: Path) -> bool:
    return path.suffix in SUFFIXES and not path.name.startswith(".") and path.is_file()


def _expand(paths: Sequence[Path | str], cwd: Path | None) -> tuple[list[_Target], list[ScenarioError]]:
    """Files named by the arguments: a directory means its own *.yaml/*.yml files (not
    subdirectories, not dotfiles), sorted by name; repeats are read once."""
    here = Path(os.path.normpath((cwd or Path.cwd()).absolute()))
    targets: list[_Target] = []
    errors: list[ScenarioError] = []
    seen: set[Path] = set()

    def add(given: Path, root: Path | None) -> None:
        absolute = _absolute(given, here)
        if absolute not in seen:
            seen.add(absolute)
            targets.append(_Target(absolute, display_path(given, root, here)))

    for argument in paths:
        given = Path(argument)
        absolute = _absolute(given, here)
        try:
            if absolute.is_dir():
                names = sorted(child.name for child in absolute.iterdir() if _is_scenario_file(child))
                if not names:
                    errors.append(
                        ScenarioError(_posix(given), None, "path", "no *.yaml or *.yml files in this directory")
                    )
                for name in names:
                    add(given / name, given)
            elif absolute.exists():
                add(given, None)
            else:
                errors.append(ScenarioError(_posix(given), None, "path", "no such file or directory"))
        except OSError as exc:
            errors.append(ScenarioError(_posix(given), None, "path", exc.strerror or str(exc)))
    return targets, errors


def _read(target: _Target) -> bytes | ScenarioError:
    try:
        with target.path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return ScenarioError(target.display, None, "file", f"cannot read: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return ScenarioError(target.display, None, "file", f"larger than {MAX_FILE_BYTES} bytes")
    return raw


def load_source(raw: bytes, file: str) -> tuple[Scenario | None, tuple[ScenarioError, ...]]:
    """Parse and check one scenario file's bytes; ``file`` is its display path."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, (ScenarioError(file, line, "encoding", f"not UTF-8 (byte 0x{raw[exc.start]:02x})"),)
    try:
        data, lines = compose_lines(text)
    except StrictYAMLError as exc:
        where = format_field(exc.path) if exc.path else "yaml"
        return None, (ScenarioError(file, exc.line, where, exc.message),)
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {_yaml_kind(data)}"
        message = f"the file is {what}; a scenario is a mapping with id, title, needs and steps"
        return None, (ScenarioError(file, lines.get((), 1) if data is not None else None, "document", message),)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        return None, _sorted(validation_errors(exc, file, lines))
    attach_sources(scenario, file, lines)
    errors = check_scenario(scenario)
    return (None, _sorted(errors)) if errors else (scenario, ())


def _yaml_kind(data: Any) -> str:
    if isinstance(data, list):
        return "list"
    if isinstance(data, str):
        return "string"
    return "number" if isinstance(data, int | float) and not isinstance(data, bool) else "scalar"


def _sorted(errors: Iterable[ScenarioError]) -> tuple[ScenarioError, ...]:
    unique = dict.fromkeys(errors)
    return tuple(sorted(unique, key=lambda e: (e.line or 0, e.field, e.message)))


def load_scenarios(paths: Sequence[Path | str], cwd: Path | None = None) -> LoadResult:
    """Load every scenario file under ``paths``; errors never raise, they are returned.

    Scenarios come in argument order, directory contents sorted by file name; a scenario
    id used by an earlier file is an error at the later file's ``id``.
    """
    targets, errors = _expand(paths, cwd)
    scenarios: list[Scenario] = []
    files: list[ScenarioFile] = []
    owners: dict[str, SourceLocation] = {}
    for target in targets:
        raw = _read(target)
        if isinstance(raw, ScenarioError):
            errors.append(raw)
            continue
        name = receipt_name(target.path, paths, cwd)
        files.append(ScenarioFile(target.display, hashlib.sha256(raw).hexdigest(), target.path, name))
        scenario, found = load_source(raw, target.display)
        errors.extend(found)
        if scenario is None:
            continue
        unreadable = probe_file_errors(scenario, target.path.parent)
        if unreadable:
            errors.extend(unreadable)
            continue
        first = owners.get(scenario.id)
        if first is not None:
            here = scenario.location("id")
            errors.append(
                ScenarioError(
                    target.display,
                    here.line if here else None,
                    "id",
                    f"duplicate scenario id {scenario.id!r} (first defined at {first})",
                )
            )
            continue
        owners[scenario.id] = scenario.location("id") or SourceLocation(target.display)
        scenarios.append(scenario)
    return LoadResult(tuple(scenarios), tuple(errors), tuple(files))

