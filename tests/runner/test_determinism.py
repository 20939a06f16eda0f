"""The determinism matrix (README, "Receipts"): same inputs ⇒ byte-identical receipts.

Every comparison is of whole receipt sets, every file but ``timings.json``, byte for byte,
in dry-run and in live mode; each live run starts its own fresh reference server
(``--embedded``). Runs are real CLI processes (``python -m runner``, each with its own hash
seed) unless the test needs this process (freezegun, chdir). The baseline runs in another
temporary directory with ``TZ=UTC``, ``LC_ALL=C.UTF-8`` and ``--concurrency 4``. ``make test``
changes all of working directory, time zone, locale and concurrency in one run per mode; the
slow tests change one at a time, to say which. Last, the receipts name no path, host, port
or date of the machine that made them.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from golden_helpers import (
    GATE,
    REPO,
    SCENARIOS,
    assert_same_receipts,
    child_python,
    clean_env,
    read_set,
    regenerate,
    run_receipts,
    write_gate_copies,
)

import velikey.testing
from runner.pipeline import RunConfig, run

MODES = ("dry-run", "live")
KATHMANDU = "Asia/Kathmandu" if Path("/usr/share/zoneinfo/Asia/Kathmandu").exists() else "<+0545>-5:45"
MANIFEST, RESULT = "run-manifest.json", "python-sdk-e2e-result.json"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``baseline(mode)``: the reference CLI run of ``scenarios/`` (by absolute path), made once per module."""
    runs: dict[str, Path] = {}

    def get(mode: str) -> Path:
        if mode not in runs:
            cwd = tmp_path_factory.mktemp(f"baseline-{mode}")
            runs[mode] = run_receipts(SCENARIOS, cwd / "receipts", mode, cwd=cwd)
        return runs[mode]

    return get


def _in_process(mode: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The pipeline in this process, as ``make golden`` runs it (cwd = repository root, empty env)."""
    monkeypatch.chdir(REPO)
    report = run(regenerate.run_config(mode, out))
    assert report.exit_code == 0, report.summary
    return out


# --- the same inputs twice: another process, hash seed, working directory and server ----------


@pytest.mark.parametrize("mode", MODES)
def test_in_process_run_matches_the_cli_run(baseline: Callable[[str], Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    assert_same_receipts(baseline(mode), _in_process(mode, tmp_path / "run", monkeypatch),
                         expected_label="cli", actual_label="in-process")


# --- working directory, time zone, locale, concurrency: all at once, then one at a time (slow) -----


KATHMANDU_TZ = {"TZ": KATHMANDU}
LOCALES = {
    "C": {"LC_ALL": "C"},
    # Neither locale coercion nor UTF-8 mode: the preferred encoding is ASCII, so a file the
    # runner opened without an explicit encoding would fail or change here.
    "C-ascii": {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"},
}


def test_the_time_zone_and_locale_take_effect_in_the_child() -> None:
    """Guards the tests below against settings the platform would silently ignore."""
    assert child_python("import time; print(time.strftime('%z'))", **KATHMANDU_TZ) == "+0545"
    encoding = child_python("import locale; print(locale.getpreferredencoding(False))", **LOCALES["C-ascii"])
    assert encoding.lower() in ("ansi_x3.4-1968", "ascii", "us-ascii")


@pytest.mark.parametrize("mode", MODES)
def test_working_directory_time_zone_locale_and_concurrency_do_not_matter(
        baseline: Callable[[str], Path], tmp_path: Path, mode: str) -> None:
    """All four changed in one run (cheap enough for `make test`); the slow tests below vary one each."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    env = clean_env(**KATHMANDU_TZ, **LOCALES["C-ascii"])
    out = run_receipts(SCENARIOS, tmp_path / "receipts", mode, cwd=cwd, env=env, extra=["--concurrency", "8"])
    assert_same_receipts(baseline(mode), out, expected_label="baseline",
                         actual_label=f"cwd=elsewhere,TZ={KATHMANDU},C-ascii,--concurrency 8")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["another-directory", "repository-root"])
def test_working_directory_does_not_matter(baseline: Callable[[str], Path], tmp_path: Path, mode: str,
                                           where: str) -> None:
    cwd = REPO if where == "repository-root" else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    out = run_receipts(SCENARIOS, tmp_path / "receipts", mode, cwd=cwd)
    assert_same_receipts(baseline(mode), out, expected_label="baseline", actual_label=f"cwd={where}")


def test_working_directory_above_the_project_does_not_matter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "project"
    (project / "scenarios").mkdir(parents=True)
    (project / "scenarios" / GATE.name).write_bytes(GATE.read_bytes())
    runs = {}
    for where, cwd in (("project", project), ("parent-of-project", tmp_path)):
        monkeypatch.chdir(cwd)
        config = RunConfig(paths=(project / "scenarios",), mode="dry-run", out=tmp_path / "receipts" / where, env={})
        assert run(config).exit_code == 0
        runs[where] = config.out
    assert_same_receipts(runs["project"], runs["parent-of-project"],
                         expected_label="cwd=project", actual_label="cwd=parent-of-project")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_time_zone_does_not_matter(baseline: Callable[[str], Path], tmp_path: Path, mode: str) -> None:
    out = run_receipts(SCENARIOS, tmp_path / "receipts", mode, cwd=tmp_path, env=clean_env(**KATHMANDU_TZ))
    assert_same_receipts(baseline(mode), out, expected_label="TZ=UTC", actual_label=f"TZ={KATHMANDU}")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("locale_name", sorted(LOCALES))
def test_locale_does_not_matter(baseline: Callable[[str], Path], tmp_path: Path, mode: str,
                                locale_name: str) -> None:
    out = run_receipts(SCENARIOS, tmp_path / "receipts", mode, cwd=tmp_path, env=clean_env(**LOCALES[locale_name]))
    assert_same_receipts(baseline(mode), out, expected_label="LC_ALL=C.UTF-8", actual_label=locale_name)


def _concurrency_pair(folder: Path, mode: str, tmp_path: Path) -> tuple[Path, Path]:
    """The two CLI runs side by side: separate processes with their own servers, so nothing is shared."""

    def at(n: int) -> Path:
        return run_receipts(folder, tmp_path / f"concurrency-{n}", mode, cwd=tmp_path, extra=["--concurrency", str(n)])

    with ThreadPoolExecutor(2) as pool:
        one, eight = pool.map(at, (1, 8))
    assert len(json.loads(read_set(one)["SUMMARY.json"])["scenarios"]) == 6
    return one, eight


def test_concurrency_does_not_matter_with_metering_windows(tmp_path: Path) -> None:
    """Six gates on one tenant: each window's probe moves the usage the others read.

    Copy 1 has ten extra health checks before its metering window, copy 6 none, so at
    ``--concurrency 8`` the copies certainly reach their windows out of declaration order.
    """
    folder = write_gate_copies(tmp_path / "scenarios", 6, warmups=[10, 8, 6, 4, 2, 0])
    one, eight = _concurrency_pair(folder, "live", tmp_path)
    assert_same_receipts(one, eight, expected_label="--concurrency 1", actual_label="--concurrency 8")


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_concurrency_does_not_matter_for_plain_copies(tmp_path: Path, mode: str) -> None:
    folder = write_gate_copies(tmp_path / "scenarios", 6)
    one, eight = _concurrency_pair(folder, mode, tmp_path)
    assert_same_receipts(one, eight, expected_label="--concurrency 1", actual_label="--concurrency 8")


# --- days -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_day_does_not_matter(baseline: Callable[[str], Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """In-process under freezegun (ticking, so timeouts and the server's loop still advance)."""
    runs = {}
    for day in ("2031-02-03", "1999-12-31 23:59:58"):
        with freeze_time(day, tick=True):
            runs[day] = _in_process(mode, tmp_path / day[:10], monkeypatch)
        started = json.loads((runs[day] / "timings.json").read_bytes())["started_at"]
        assert started.startswith(day[:10]), "the clock was not frozen: this test would prove nothing"
    assert_same_receipts(baseline(mode), runs["2031-02-03"], expected_label="today", actual_label="2031-02-03")
    assert_same_receipts(runs["2031-02-03"], runs["1999-12-31 23:59:58"],
                         expected_label="2031-02-03", actual_label="1999-12-31")


# --- SOURCE_DATE_EPOCH ----------------------------------------------------------------------------------


def test_source_date_epoch_is_the_manifest_date(baseline: Callable[[str], Path], tmp_path: Path) -> None:
    env = clean_env(SOURCE_DATE_EPOCH="1700000000", TZ=KATHMANDU)
    out = run_receipts(SCENARIOS, tmp_path / "receipts", "dry-run", cwd=tmp_path, env=env)
    dated, plain = read_set(out), read_set(baseline("dry-run"))
    dated_manifest, plain_manifest = json.loads(dated[MANIFEST]), json.loads(plain[MANIFEST])
    assert plain_manifest["source_date"] is None
    assert dated_manifest["source_date"] == "2023-11-14T22:13:20Z"  # UTC, whatever TZ says
    assert {**dated_manifest, "source_date": None} == plain_manifest
    # Only the manifest (and its digest in the result receipt and the attestation) carries the date.
    assert {n for n in plain if dated.get(n) != plain[n]} == {MANIFEST, RESULT, "attestation.json"}


# --- nothing of the machine in the receipts ---------------------------------------------------------


class _RecordingServer(velikey.testing.ReferenceServer):
    started: list[str] = []

    def start(self) -> _RecordingServer:
        super().start()
        _RecordingServer.started.append(self.base_url)
        return self


def _token(text: str) -> re.Pattern[bytes]:
    """``text`` as a whole token: not inside a longer word, number or hex digest."""
    return re.compile(rb"(?<![0-9A-Za-z])" + re.escape(text.encode()) + rb"(?![0-9A-Za-z])")


def _dates(moment: datetime) -> list[str]:
    return [moment.strftime("%Y-%m-%d"), moment.strftime("%Y%m%d"), moment.strftime("%d/%m/%Y"),
            moment.strftime("%m/%d/%Y")]


def test_receipts_name_no_path_host_port_or_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(velikey.testing, "ReferenceServer", _RecordingServer)
    monkeypatch.setattr(_RecordingServer, "started", [])
    files = read_set(_in_process("live", tmp_path / "live", monkeypatch))
    assert len(_RecordingServer.started) == 1, "the run did not start the (recording) reference server"
    port = _RecordingServer.started[0].rsplit(":", 1)[1]

    # The reference server's billing period is a fixed date in its answers, not the clock.
    usage = json.loads(files["evidence/release-gate/usage-before.json"])["exchanges"][0]["body"]
    served_dates = set(usage["period"].values())
    today = {d for moment in (datetime.now(timezone.utc), datetime.now()) for d in _dates(moment)} - served_dates

    needles: dict[str, re.Pattern[bytes]] = {
        "the output directory": re.compile(re.escape(str(tmp_path).encode())),
        "the output directory (resolved)": re.compile(re.escape(str(tmp_path.resolve()).encode())),
        "the repository path": re.compile(re.escape(str(REPO).encode())),
        **({"the home directory": re.compile(re.escape(str(Path.home()).encode()) + rb"(?![0-9A-Za-z])")}
           if len(Path.home().parts) > 1 else {}),
        "a loopback address": re.compile(rb"127\.0\.0\.1|localhost|\[::1\]", re.IGNORECASE),
        "the server's port": _token(port),
        "the hostname": _token(socket.gethostname()),
        "a timestamp": re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"),
        **{f"today's date ({d})": _token(d) for d in sorted(today)},
    }
    found: list[str] = []
    for name, data in sorted(files.items()):
        for what, pattern in needles.items():
            match = pattern.search(data)
            if match:
                context = data[max(0, match.start() - 60):match.end() + 60].decode("utf-8", "replace")
                found.append(f"{name}: {what}: ...{context}...")
    assert not found, "\n".join(found)
    assert files, "no receipts to scan"


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_receipts_hold_no_clock_or_process_fields() -> None:
    """The golden live set by field name: durations, times, hosts and pids live in timings.json only."""
    files = read_set(regenerate.GOLDEN / "live")
    keys = {k for name, data in files.items() if name.endswith(".json") for k in _keys(json.loads(data))}
    suspicious = {k for k in keys if re.search(r"(^|_)(at|time|timestamp|date|duration|ms|host|hostname|pid|cwd)$", k)}
    assert suspicious <= {"source_date"}, suspicious
