"""Helpers for the golden and determinism tests: receipt sets as bytes, readable diffs, CLI runs.

A receipt set here is ``{relative POSIX name: bytes}`` of every file but ``timings.json``
(see ``tests/golden/regenerate.py``, loaded from its file so that no ``sys.path`` entry
for the repository root is needed under any pytest invocation).
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
GATE = SCENARIOS / "release-gate.yaml"
MAX_DIFF_LINES = 120
# The inputs the runner reads from the environment (README, "Against a real Axis tenant"), the CI's run identity
# (a run nonce): a clean child env has none.
RUNNER_ENV_PREFIXES = ("AXIS_", "AEGIS_", "SDK_E2E_", "VELIKEY_", "GITHUB_", "CI_", "SOURCE_DATE_EPOCH", "TZ", "LC_",
                       "LANG", "PYTHONUTF8", "PYTHONCOERCECLOCALE", "PYTHONIOENCODING",
                       # trust and routing, which the manifest records (runner.transport)
                       "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY",
                       "https_proxy", "http_proxy", "all_proxy", "no_proxy")


def _load_regenerate() -> ModuleType:
    name = "velikey_golden_regenerate"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "golden" / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


regenerate = _load_regenerate()
read_set = regenerate.read_set
VOLATILE: str = regenerate.VOLATILE


def describe_difference(expected: Mapping[str, bytes], actual: Mapping[str, bytes], *,
                        expected_label: str, actual_label: str) -> str | None:
    """``None`` when both sets are byte-identical; otherwise which names differ and a unified
    diff of the first differing file (by name)."""
    lines: list[str] = []
    only_expected = sorted(set(expected) - set(actual))
    only_actual = sorted(set(actual) - set(expected))
    if only_expected or only_actual:
        lines.append(f"the sets of file names differ: only in {expected_label}: {only_expected}; "
                     f"only in {actual_label}: {only_actual}")
    differing = [name for name in sorted(set(expected) & set(actual)) if expected[name] != actual[name]]
    if differing:
        first = differing[0]
        lines.append(f"{len(differing)} file(s) differ: {differing}; first: {first}")
        diff = list(difflib.unified_diff(
            expected[first].decode("utf-8", "replace").splitlines(keepends=True),
            actual[first].decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"{expected_label}/{first}",
            tofile=f"{actual_label}/{first}",
        ))
        if not diff:  # same text after decoding: the bytes differ in encoding or line endings
            diff = [f"(same text, different bytes: {expected[first][:80]!r} vs {actual[first][:80]!r})\n"]
        if len(diff) > MAX_DIFF_LINES:
            diff = diff[:MAX_DIFF_LINES] + [f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)\n"]
        lines.append("".join(line if line.endswith("\n") else line + "\n" for line in diff).rstrip("\n"))
    return "\n".join(lines) if lines else None


def assert_same_receipts(expected: Path | Mapping[str, bytes], actual: Path | Mapping[str, bytes], *,
                         expected_label: str = "first", actual_label: str = "second", hint: str = "") -> None:
    """Byte-for-byte equality of two receipt sets (``timings.json`` excluded), with a readable failure."""
    want = read_set(expected) if isinstance(expected, Path) else expected
    got = read_set(actual) if isinstance(actual, Path) else actual
    assert want, f"{expected_label}: no receipt files"
    problem = describe_difference(want, got, expected_label=expected_label, actual_label=actual_label)
    if problem is not None:
        raise AssertionError(problem + (f"\n{hint}" if hint else ""))


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without anything the runner (or the locale/time machinery) reads,
    pinned to ``TZ=UTC`` and ``LC_ALL=C.UTF-8`` unless overridden."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(RUNNER_ENV_PREFIXES)}
    env.update({"TZ": "UTC", "LC_ALL": "C.UTF-8"})
    env.update(overrides)
    return env


def run_cli(args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
            timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``python -m runner ARGS`` in a child process (fresh interpreter, fresh hash seed)."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        cwd=cwd, env=dict(env) if env is not None else clean_env(), capture_output=True,
        encoding="utf-8", errors="replace", timeout=timeout, check=False,
    )


def child_python(code: str, **env: str) -> str:
    """The stripped stdout of ``python -c CODE`` in ``clean_env(**env)``: to check what a child sees."""
    done = subprocess.run([sys.executable, "-c", code], env=clean_env(**env), capture_output=True,
                          encoding="utf-8", errors="replace", timeout=30, check=True)
    return done.stdout.strip()


def run_receipts(scenarios: Path, out: Path, mode: str, *, cwd: Path, env: Mapping[str, str] | None = None,
                 extra: Sequence[str] = (), expect_exit: int = 0) -> Path:
    """Run the CLI over ``scenarios`` (``--live`` implies ``--embedded``) into ``out``; checks the exit code."""
    flags = ["--live", "--embedded"] if mode == "live" else ["--dry-run"]
    done = run_cli(["run", str(scenarios), *flags, "--out", str(out), *extra], cwd=cwd, env=env)
    assert done.returncode == expect_exit, (
        f"exit {done.returncode} (wanted {expect_exit})\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return out


def gate_document() -> dict[str, Any]:
    data = yaml.safe_load(GATE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data.get("id") == "release-gate"
    return data


def write_gate_copies(folder: Path, count: int, *, warmups: Sequence[int] | None = None,
                      without: Sequence[str] = ()) -> Path:
    """``count`` copies of the release gate as ``folder/gate-<i>.yaml`` with ids ``gate-<i>``.

    ``warmups[i]`` extra ``get_health`` steps go first in copy ``i`` (they shift when the copy
    reaches its later steps); ``without`` drops the steps with those ids.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(1, count + 1):
        data = gate_document()
        data["id"] = f"gate-{i}"
        steps = [step for step in data["steps"] if step["id"] not in without]
        extra = warmups[i - 1] if warmups else 0
        data["steps"] = [{"id": f"warmup-{k}", "call": "get_health"} for k in range(extra)] + steps
        (folder / f"gate-{i}.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder
