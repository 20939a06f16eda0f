"""SIGINT and SIGTERM at seeded random points of a live run leave no receipts or a complete, valid set.

Each trial starts ``python -m runner run ... --live`` against a reference server in this
process, waits for the phase it targets (a progress line, or a marker the run's cookie
command writes), waits a seeded random time inside that phase and sends the signal. Faults
stretch the phase so the signal lands inside it: a delayed 503 (retried at once) on the
step's request, a metering lag, a slow cookie command. Exactly three outcomes are allowed:

* stopped before the run started: exit 130, no run directory, nothing beside it;
* stopped mid-steps: exit 130 and a complete set that validates, reason ``interrupted``;
* signalled after the receipts were written: a complete, uninterrupted set and the normal
  exit code. One caveat: once the run's handlers are gone, SIGTERM has its default
  disposition again (asyncio restores SIG_DFL), and during interpreter teardown so does
  SIGINT, so a signal that lands there ends the process *by that signal* (the shell sees
  143 or 130) with the complete set already on disk.

Never a traceback, a truncated receipt, or a temp or staging file in or beside the run directory.
"""

from __future__ import annotations

import json
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from reliability_helpers import (
    RELEASE_GATE,
    assert_valid_run,
    crash_lines,
    has_mapped,
    live_env,
    reference_server,
    staging_leftovers,
    watched_cli,
)

from velikey.testing import Fault

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux /proc")]

INTERRUPTED = 130
TRIALS = 30
# A delayed 503 with ``Retry-After: 0`` holds a step for ``delay`` and then lets its retry through.
# Stretches are generous (the signal ends the run, so they cost nothing) and every window ends
# well before its stretch does: a busy CI machine may be late to notice a progress line.
STRETCH_S = 2.0
METERING_LAG_S = 3.0
COMMAND_SLEEP_S = 1.5
# The runner's first import of a C extension: the interpreter has started loading the runner
# (``runner/cli.py`` imports json first). Before that, Python itself is still starting up.
LOADING_RUNNER = "_json."


@dataclass(frozen=True)
class Phase:
    """Where a signal is aimed: the event to wait for, and the window after it (seconds)."""

    name: str
    after: str  # "spawn", "command", or the text of a progress line
    window: tuple[float, float]
    faults: tuple[Fault, ...] = ()
    metering_lag_s: float = 0.0
    interrupted_step: str | None = None  # the step a signal in this phase must cut short


def _stretch(route: str) -> tuple[Fault, ...]:
    return (Fault(route, times=1, status=503, retry_after="0", delay_s=STRETCH_S),)


PHASES = (
    # Interpreter loading the runner, scenario loading, preflight and (if loading is quick) the first steps.
    Phase("startup", "spawn", (0.0, 1.0), faults=_stretch("GET /api/healthz")),
    # The cookie command of preflight: before any request, before the runner's handlers.
    Phase("preflight", "command", (0.0, COMMAND_SLEEP_S - 0.6)),
    Phase("mid-steps", "release-gate/score:", (0.0, STRETCH_S - 1.0), faults=_stretch("POST /api/rollouts/plan"),
          interrupted_step="plan"),
    Phase("probe", "release-gate/rollback:", (0.0, STRETCH_S - 1.0), faults=_stretch("POST /ingest"),
          interrupted_step="probe"),
    Phase("metering", "release-gate/probe:", (0.0, METERING_LAG_S - 1.5), metering_lag_s=METERING_LAG_S,
          interrupted_step="telemetry-delta"),
    # From the last step's progress line through receipt writing, the verdict and interpreter exit.
    Phase("receipts", "release-gate/telemetry-delta:", (0.0, 0.3)),
)


@dataclass(frozen=True)
class Trial:
    number: int
    phase: Phase
    signum: signal.Signals
    delay_s: float

    @property
    def id(self) -> str:
        return f"{self.number:02d}-{self.phase.name}-{self.signum.name}"


def _trials() -> list[Trial]:
    trials = []
    for n in range(TRIALS):
        phase = PHASES[n % len(PHASES)]
        # Alternate trial by trial, and from round to round, so every phase meets both signals.
        signum = (signal.SIGINT, signal.SIGTERM)[(n + n // len(PHASES)) % 2]
        trials.append(Trial(n, phase, signum, random.Random(n).uniform(*phase.window)))
    return trials


def _wait_for_runner_loading(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not has_mapped(pid, LOADING_RUNNER):
        assert time.monotonic() < deadline, "the runner did not start loading"
        time.sleep(0.001)


def _wait_for_file(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.001)


@pytest.mark.parametrize("trial", _trials(), ids=lambda t: t.id)
def test_a_signal_leaves_no_receipts_or_a_complete_valid_set(trial: Trial, tmp_path: Path) -> None:
    phase = trial.phase
    workdir, aux = tmp_path / "work", tmp_path / "aux"
    workdir.mkdir()
    aux.mkdir()
    out = workdir / "run"
    with reference_server(faults=phase.faults, metering_lag_s=phase.metering_lag_s) as server:
        extra = {}
        started = aux / "command-started"
        if phase.after == "command":
            # A slow keychain lookup: it says when it starts, then takes its time to print the cookie.
            extra["AXIS_SESSION_COOKIE_COMMAND"] = (
                f"sh -c 'touch {started}; sleep {COMMAND_SLEEP_S}; echo {server.session_cookie}'"
            )
        env = live_env(server, **extra)
        if extra:
            del env["AXIS_SESSION_COOKIE"]
        with watched_cli("run", RELEASE_GATE, "--live", "--out", out, env=env, cwd=workdir) as cli:
            if phase.after == "spawn":
                _wait_for_runner_loading(cli.process.pid, timeout=30)
            elif phase.after == "command":
                _wait_for_file(started, timeout=30)
            else:
                assert cli.wait_for_line(phase.after, timeout=30), "".join(cli.lines)
            time.sleep(trial.delay_s)
            cli.process.send_signal(trial.signum)
            finished = cli.finish(timeout=30)
        returncode, stdout_text, stderr = finished.returncode, finished.stdout, finished.stderr

    shown = f"{trial.id} after {trial.delay_s:.3f} s: exit {returncode}\n--- stdout\n{stdout_text}--- stderr\n{stderr}"
    assert crash_lines(stderr) == [], shown
    assert staging_leftovers(out) == [], shown
    # Beside the set only the --out lock may stay (empty, the tool's own; removing it would race the next run).
    assert sorted(p.name for p in workdir.iterdir() if p.name != ".run.lock") in ([], ["run"]), shown

    if not out.exists():
        # Stopped before the run started: nothing written, exit 130, and it says so. A process that
        # ends by SIGINT is status 130 to a shell too: CPython exits that way, whatever sys.exit asked
        # for, when the KeyboardInterrupt passed through code run by eval/exec (string annotations).
        assert returncode in (INTERRUPTED, -signal.SIGINT), shown
        assert "interrupted before the run started" in stderr, shown
        assert phase.interrupted_step is None and phase.name != "receipts", shown
        return

    result = assert_valid_run(out)
    if "interrupted" in result["reason_codes"]:
        # Stopped mid-steps: the set is complete and says where the run was cut short.
        assert returncode == INTERRUPTED == result["exit_code"], shown
        assert result["result"] == "fail", shown
        if phase.interrupted_step is not None:
            summary_steps = _interrupted_steps(out)
            assert summary_steps == [phase.interrupted_step], shown
        assert phase.name in ("startup", "mid-steps", "probe", "metering"), shown
    else:
        # Signalled after the receipts were written: the run's own verdict stands.
        assert phase.name == "receipts", shown
        assert result["result"] == "pass" and result["exit_code"] == 0, shown
        assert returncode in (result["exit_code"], -trial.signum), shown
        if returncode == -trial.signum and trial.signum == signal.SIGINT:
            # Only interpreter teardown restores the default SIGINT disposition: the verdict was out.
            assert "result: pass" in stdout_text, shown


def _interrupted_steps(run_dir: Path) -> list[str]:
    summary = json.loads((run_dir / "SUMMARY.json").read_text(encoding="utf-8"))
    return [step["id"] for scenario in summary["scenarios"] for step in scenario["steps"]
            if step["reason_code"] == "interrupted"]
